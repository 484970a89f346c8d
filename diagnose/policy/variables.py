"""Policy variables (C6): ``${aws:username}``, ``${aws:PrincipalTag/team, 'default'}``, ``${*}``.

Variables are recognised only in documents with ``Version`` ``2012-10-17``, and only in
``Resource``/``NotResource`` and String/ARN condition values; elsewhere ``${...}`` is literal text.

A template resolves to one of:
- a pattern source in which ``*`` and ``?`` are wildcards and ``\\`` escapes the next character
  (text from a resolved variable or from ``${*}``/``${?}``/``${$}`` is escaped: it is literal);
- ``ABSENT``: a variable without default whose key is absent (the value matches nothing);
- an ``Unknown`` naming the key whose presence is not known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from diagnose.policy.context import lookup
from diagnose.policy.model import RequestContext

VARIABLES_VERSION: Final = "2012-10-17"

_VAR_RE = re.compile(r"\$\{([^}]*)\}")
_BODY_RE = re.compile(r"^\s*([^\s,']+)\s*(?:,\s*'([^']*)'\s*)?$")
_LITERALS = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True, slots=True)
class Var:
    key: str  # lower-case
    written: str
    default: str | None


# A template is a tuple of parts: raw text (wildcards meaningful), a literal (escaped) text, or a Var.
Part = tuple[str, str] | Var
Template = tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class Unknown:
    key: str  # as written in the policy


class _Absent:
    __slots__ = ()

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()


def escape(text: str) -> str:
    """Make every character of ``text`` literal in a pattern source."""
    return re.sub(r"([\\*?])", r"\\\1", text)


def unescape(source: str) -> str:
    """The plain text of a pattern source (for equality operators)."""
    return re.sub(r"\\(.)", r"\1", source, flags=re.DOTALL) if "\\" in source else source


def parse_template(text: str, version: str | None) -> Template | None:
    """The parts of ``text`` if it holds policy variables or literal escapes, else ``None``."""
    if version != VARIABLES_VERSION or "${" not in text:
        return None
    parts: list[Part] = []
    pos = 0
    found = False
    for m in _VAR_RE.finditer(text):
        body = m.group(1)
        if body.strip() in _LITERALS:
            item: Part = ("lit", _LITERALS[body.strip()])
        else:
            bm = _BODY_RE.match(body)
            if bm is None:
                continue
            item = Var(key=bm.group(1).lower(), written=bm.group(1), default=bm.group(2))
        found = True
        if m.start() > pos:
            parts.append(("raw", text[pos : m.start()]))
        parts.append(item)
        pos = m.end()
    if not found:
        return None
    if pos < len(text):
        parts.append(("raw", text[pos:]))
    return tuple(parts)


def resolve(template: Template, context: RequestContext) -> str | _Absent | Unknown:
    """Resolve a template against the context into a pattern source (see module docstring)."""
    out: list[str] = []
    for part in template:
        if isinstance(part, Var):
            values = lookup(context, part.key)
            if values is None:
                return Unknown(part.written)
            if len(values) == 1:
                out.append(escape(values[0]))
            elif not values and part.default is not None:
                out.append(escape(part.default))
            else:  # absent, or multi-valued (only single-valued keys can be variables)
                return ABSENT
        elif part[0] == "lit":
            out.append(escape(part[1]))
        else:
            raw = part[1]
            out.append(raw.replace("\\", "\\\\") if "\\" in raw else raw)
    return "".join(out)


def raw_source(text: str) -> str:
    """The pattern source of text without variables (its backslashes are literal)."""
    return text.replace("\\", "\\\\") if "\\" in text else text
