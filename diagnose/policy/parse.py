"""Parsing and validating policy documents: accept what AWS accepts, reject what it rejects.

Every rejection is a ``PolicyError`` naming the JSON path of the offending element, e.g.
``Statement[2].Condition.StringEquals``. The parsed policy is compiled for evaluation lazily, on first use
(see ``diagnose.policy.compiled``).

A document is parsed once: ``parse_policy`` keeps the parsed statements (and their compiled form) of the
documents it accepted in a bounded LRU cache keyed by the document's content and kind, and a later
``parse_policy`` of the same content, under any origin, returns a new ``Policy`` with that origin around
the same immutable statements. Rejected documents are not cached: they raise on every parse.

JSON text is decoded strictly (``decode_json``, also used for snapshots and session policies): a repeated
key, NaN or Infinity, a number of more than ``MAX_DIGITS`` digits or nesting deeper than ``MAX_DEPTH`` is
an error naming its JSON path, never a silent last-key-wins or a ``RecursionError``.
"""

from __future__ import annotations

import json
import marshal
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, NoReturn

from diagnose.policy.compiled import CompiledPolicy, compiled_policy, share_compiled
from diagnose.policy.conditions import OperatorSpec, parse_operator, value_error
from diagnose.policy.match import principal_form_error
from diagnose.policy.model import Condition, Effect, Policy, PolicyError, PolicyKind, PrincipalSet, Statement

VERSIONS = ("2012-10-17", "2008-10-17")
_TOP_KEYS = ("Version", "Id", "Statement")
_STATEMENT_KEYS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_PRINCIPAL_KEYS = ("AWS", "Service", "Federated", "CanonicalUser")
_NEEDS_RESOURCE = (PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION)
_NEEDS_PRINCIPAL = (PolicyKind.RESOURCE, PolicyKind.KEY, PolicyKind.RCP)


def type_name(value: object) -> str:
    """How an error names the JSON type found (``null``, ``a list``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


SHOW_CHARS = 100  # an error message quotes at most this much of a bad value


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clip(text: str, limit: int = SHOW_CHARS) -> str:
    """``text`` on one line (control characters escaped), cut to ``limit`` characters with "…" when
    longer: for error messages."""
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _q(value: object) -> str:
    """``repr(value)``, cut to ``SHOW_CHARS`` (for error messages)."""
    return clip(repr(value))


def _show(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 1000:
        return "a number too long to show"
    try:
        return clip(json.dumps(value, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        return clip(object.__repr__(value))


# --------------------------------------------------------------------------- strict JSON text

MAX_DEPTH = 64  # AWS policies nest a few levels; a snapshot about ten
MAX_DIGITS = 1000  # digits in one JSON number (Python's own limit for an int is 4300)


class JsonInputError(ValueError):
    """JSON input rejected before any use: ``path`` (``""`` for the top) and what is wrong there."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path or '$'}: {message}")


class _Duplicated(dict):  # type: ignore[type-arg]
    """An object decoded from text that repeats a key; ``key`` is the first repeated one."""

    key: str = ""


@dataclass(frozen=True)
class _LongNumber:
    digits: int


def _pairs_hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in pairs:
        if key in out:
            dup = _Duplicated(pairs)
            dup.key = key
            return dup
        out[key] = value
    return out


def _number(text: str) -> object:
    digits = sum(c.isdigit() for c in text)
    return _LongNumber(digits) if digits > MAX_DIGITS else None


def _parse_int(text: str) -> object:
    return _number(text) or int(text)


def _parse_float(text: str) -> object:
    return _number(text) or float(text)


def _parse_constant(name: str) -> float:
    return float(name)  # NaN, Infinity, -Infinity: rejected, with their path, by check_json


def _step(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    shown = clip(key, 40)
    return f"{path}.{shown}" if path else shown


def check_json(value: object, max_depth: int = MAX_DEPTH) -> None:
    """Reject what no AWS document holds: nesting deeper than ``max_depth``, NaN or infinite numbers,
    numbers of more than ``MAX_DIGITS`` digits, and (in what ``decode_json`` made) a repeated key.
    ``JsonInputError`` names the JSON path; never any other exception, however deep ``value`` is."""
    stack: list[tuple[object, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise JsonInputError(path, f"nested more than {max_depth} levels deep")
            if isinstance(item, _Duplicated):
                raise JsonInputError(_step(path, item.key), f"duplicate key {_q(item.key)} in one object")
            children = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in children:
                stack.append((child, _step(path, key), depth + 1))
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                raise JsonInputError(path, "NaN and infinite numbers are not valid JSON")
        elif isinstance(item, _LongNumber):
            raise JsonInputError(path, f"a number of {item.digits} digits (at most {MAX_DIGITS})")
        elif isinstance(item, int) and not isinstance(item, bool) and item.bit_length() > MAX_DIGITS * 3.33:
            raise JsonInputError(path, f"a number of more than {MAX_DIGITS} digits")


def _deep_path(text: str, max_depth: int) -> str:
    """The JSON path of the first container in ``text`` nested more than ``max_depth`` deep ("" if none)."""
    frames: list[list[object]] = []  # [is_object, key or index]
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"\s*:|"(?:[^"\\]|\\.)*"|[\[\]{},]', text):
        tok = m.group()
        if tok in ("{", "["):
            if len(frames) >= max_depth:
                path = ""
                for _, key in frames:
                    path = _step(path, key if isinstance(key, (str, int)) else "")
                return path
            frames.append([tok == "{", 0 if tok == "[" else ""])
        elif tok in ("}", "]"):
            if frames:
                frames.pop()
        elif tok == ",":
            if frames and not frames[-1][0]:
                index = frames[-1][1]
                frames[-1][1] = index + 1 if isinstance(index, int) else 0
        elif tok.endswith(":") and frames and frames[-1][0]:
            try:
                frames[-1][1] = json.loads(tok[:-1].rstrip())
            except ValueError:
                frames[-1][1] = "?"
    return ""


def decode_json(text: str | bytes | bytearray, max_depth: int = MAX_DEPTH) -> object:
    """JSON text decoded strictly: ``json.JSONDecodeError`` for malformed text, ``JsonInputError`` (with
    the JSON path) for a repeated key, NaN or Infinity, a number of more than ``MAX_DIGITS`` digits or
    nesting deeper than ``max_depth``. Never any other exception."""
    try:
        value = json.loads(
            text,
            object_pairs_hook=_pairs_hook,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except RecursionError:
        raise JsonInputError(
            _deep_path(text if isinstance(text, str) else bytes(text).decode("utf-8", "replace"), max_depth),
            f"nested more than {max_depth} levels deep",
        ) from None
    except UnicodeDecodeError:
        raise JsonInputError("", "not UTF-8 text") from None
    check_json(value, max_depth)
    return value


def json_error(exc: ValueError) -> tuple[str, str]:
    """(JSON path, message) of an error from ``decode_json`` or ``check_json``."""
    if isinstance(exc, json.JSONDecodeError):
        if not exc.doc.strip():
            return "", "empty text (expected a JSON document)"
        return "", f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
    if isinstance(exc, JsonInputError):
        if exc.message.startswith("nested more than"):  # the whole text is refused; where it got too deep:
            return "", f"{exc.message} (at {clip(exc.path or '$', SHOW_CHARS)})"
        return exc.path, exc.message
    return "", f"malformed JSON: {clip(str(exc))}"


# Value families whose condition values ``value_error`` checks (the others take any string).
_CHECKED_FAMILIES = frozenset({"numeric", "date", "bool", "null", "ip"})
_OPERATOR_LIMIT = 1024
_operators: dict[str, tuple[OperatorSpec, Literal["ForAnyValue", "ForAllValues"] | None, bool]] = {}


def _operator(operator: str) -> tuple[OperatorSpec, Literal["ForAnyValue", "ForAllValues"] | None, bool]:
    """``parse_operator``, remembered for the operators it accepted (``ValueError`` if unknown)."""
    found = _operators.get(operator)
    if found is None:
        found = parse_operator(operator)
        if len(_operators) >= _OPERATOR_LIMIT:
            _operators.clear()
        _operators[operator] = found
    return found


class _Parser:
    """Validation, with every check in the order of the rules and the JSON path of an element built only
    when that element is rejected (so a valid document costs no path strings)."""

    def __init__(self, origin: str, kind: PolicyKind) -> None:
        self.origin = origin
        self.kind = kind
        self.version: str | None = None
        self.has_principal = kind.has_principal
        self.needs_principal = kind in _NEEDS_PRINCIPAL
        self.needs_resource = kind in _NEEDS_RESOURCE

    def fail(self, path: str, message: str) -> NoReturn:
        raise PolicyError(self.origin, clip(path, SHOW_CHARS), message)

    # ------------------------------------------------------------------ helpers

    def strings(self, value: object, base: str, what: str) -> tuple[str, ...]:
        """``base.what``: a string or a non-empty list of non-empty strings."""
        if isinstance(value, str):
            if not value:
                self.fail(f"{base}.{what}", f"{what} must not be empty")
            return (value,)
        if not isinstance(value, list):
            self.fail(f"{base}.{what}", f"{what} must be a string or a list of strings, not {type_name(value)}")
        if not value:
            self.fail(f"{base}.{what}", f"{what} must not be an empty list")
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{base}.{what}[{i}]", f"{what} must be a string, not {type_name(item)}")
            if not item:
                self.fail(f"{base}.{what}[{i}]", f"{what} must not be empty")
        return tuple(value)

    # ------------------------------------------------------------------ document

    def document(self, doc: object) -> Policy:
        if not (type(doc) is dict or isinstance(doc, Mapping)):
            self.fail("", f"a policy document must be a JSON object, not {type_name(doc)}")
        for key in doc:
            if key not in _TOP_KEYS:
                self.fail(str(key), f"unknown top-level element {_q(key)} (expected Version, Id, Statement)")
        version = doc.get("Version")
        if "Version" in doc and version not in VERSIONS:
            self.fail("Version", f"Version must be one of {', '.join(VERSIONS)}, not {_show(version)}")
        self.version = version if isinstance(version, str) else None
        pid = doc.get("Id")
        if "Id" in doc and not isinstance(pid, str):
            self.fail("Id", f"Id must be a string, not {type_name(pid)}")
        if "Statement" not in doc:
            self.fail("Statement", "missing Statement")
        raw = doc["Statement"]
        statements: list[Statement] = []
        if type(raw) is dict or isinstance(raw, Mapping):
            statements.append(self.statement(raw, 0, None))
        elif isinstance(raw, list):
            if not raw:
                self.fail("Statement", "Statement must not be empty")
            for i, item in enumerate(raw):
                statements.append(self.statement(item, i, i))
        else:
            self.fail("Statement", f"Statement must be an object or a list of objects, not {type_name(raw)}")
        return Policy(
            origin=self.origin,
            kind=self.kind,
            statements=tuple(statements),
            version=self.version,
            id=pid,
        )

    # ------------------------------------------------------------------ statement

    def statement(self, st: object, index: int, position: int | None) -> Statement:
        """The statement at ``Statement[position]``, or at ``Statement`` itself when ``position`` is None."""
        path = "Statement" if position is None else f"Statement[{position}]"
        if not (type(st) is dict or isinstance(st, Mapping)):
            self.fail(path, f"a statement must be an object, not {type_name(st)}")
        for key in st:
            if key not in _STATEMENT_KEYS:
                self.fail(f"{path}.{key}", f"unknown statement element {_q(key)}")
        sid = st.get("Sid")
        if "Sid" in st and not isinstance(sid, str):
            self.fail(f"{path}.Sid", f"Sid must be a string, not {type_name(sid)}")

        if "Effect" not in st:
            self.fail(f"{path}.Effect", "missing Effect")
        raw_effect = st["Effect"]
        if raw_effect not in ("Allow", "Deny"):
            self.fail(f"{path}.Effect", f'Effect must be exactly "Allow" or "Deny", not {_show(raw_effect)}')
        effect: Effect = "Allow" if raw_effect == "Allow" else "Deny"

        actions, not_actions = self.actions(st, path)
        resources, not_resources = self.resources(st, path)

        principal = not_principal = None
        has_p, has_np = "Principal" in st, "NotPrincipal" in st
        if (has_p or has_np) and not self.has_principal:
            name = "Principal" if has_p else "NotPrincipal"
            self.fail(f"{path}.{name}", f"{name} is not allowed in a {self.kind.value} policy")
        if has_p and has_np:
            self.fail(path, "a statement cannot have both Principal and NotPrincipal")
        if has_p:
            principal = self.principal(st["Principal"], path, "Principal")
        elif has_np:
            if effect == "Allow":
                self.fail(
                    f"{path}.NotPrincipal",
                    'NotPrincipal with "Allow" is rejected; use Principal "*" with an aws:PrincipalArn condition',
                )
            not_principal = self.principal(st["NotPrincipal"], path, "NotPrincipal")
        elif self.needs_principal:
            self.fail(f"{path}.Principal", f"missing Principal (required in a {self.kind.value} policy)")

        conditions = self.conditions(st.get("Condition"), path) if "Condition" in st else ()
        return Statement(
            index=index,
            sid=sid,
            effect=effect,
            actions=actions,
            not_actions=not_actions,
            resources=resources,
            not_resources=not_resources,
            principal=principal,
            not_principal=not_principal,
            conditions=conditions,
        )

    def actions(self, st: Mapping[str, object], path: str) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        has_a, has_na = "Action" in st, "NotAction" in st
        if has_a and has_na:
            self.fail(path, "a statement cannot have both Action and NotAction")
        if not has_a and not has_na:
            self.fail(f"{path}.Action", "missing Action or NotAction")
        name = "Action" if has_a else "NotAction"
        values = self.strings(st[name], path, name)
        for i, a in enumerate(values):
            if a == "*":
                continue
            service, sep, op = a.partition(":")
            if not sep or not service or not op:
                p = f"{path}.{name}[{i}]" if isinstance(st[name], list) else f"{path}.{name}"
                self.fail(p, f'{_q(a)} is not "*" or "service:Action"')
        return (values, None) if has_a else (None, values)

    def resources(self, st: Mapping[str, object], path: str) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        has_r, has_nr = "Resource" in st, "NotResource" in st
        if has_r and has_nr:
            self.fail(path, "a statement cannot have both Resource and NotResource")
        if not has_r and not has_nr:
            if self.needs_resource:
                self.fail(
                    f"{path}.Resource",
                    f"missing Resource or NotResource (required in a {self.kind.value} policy)",
                )
            return None, None
        name = "Resource" if has_r else "NotResource"
        values = self.strings(st[name], path, name)
        for i, r in enumerate(values):
            if r != "*" and not r.startswith("arn:") and not r.startswith("${"):
                p = f"{path}.{name}[{i}]" if isinstance(st[name], list) else f"{path}.{name}"
                self.fail(p, f'{_q(r)} is not "*" or an ARN')
        return (values, None) if has_r else (None, values)

    def principal(self, value: object, base: str, element: str) -> PrincipalSet:
        """The ``Principal`` or ``NotPrincipal`` (``element``) of the statement at ``base``."""
        if isinstance(value, str):
            if value != "*":
                self.fail(f"{base}.{element}", f'a Principal string must be "*", not {_q(value)} (use {{"AWS": ...}})')
            return PrincipalSet(wildcard=True)
        if not (type(value) is dict or isinstance(value, Mapping)):
            self.fail(f"{base}.{element}", f'Principal must be "*" or an object, not {type_name(value)}')
        if not value:
            self.fail(f"{base}.{element}", "Principal must not be empty")
        path = f"{base}.{element}"
        fields: dict[str, tuple[str, ...]] = {}
        for key, raw in value.items():
            if key not in _PRINCIPAL_KEYS:
                self.fail(
                    f"{path}.{key}",
                    f"unknown principal type {_q(key)} (expected AWS, Service, Federated, CanonicalUser)",
                )
            fields[key] = self.strings(raw, path, key)
        aws = fields.get("AWS", ())
        for i, entry in enumerate(aws):
            err = principal_form_error(entry)
            if err is not None:
                self.fail(f"{path}.AWS[{i}]" if isinstance(value["AWS"], list) else f"{path}.AWS", err)
        for key in ("Service", "Federated", "CanonicalUser"):
            for i, entry in enumerate(fields.get(key, ())):
                if entry != "*" and ("*" in entry or "?" in entry):
                    p = f"{path}.{key}[{i}]" if isinstance(value[key], list) else f"{path}.{key}"
                    self.fail(p, f"wildcards cannot match part of a principal ({_q(entry)})")
        wildcard = "*" in aws
        return PrincipalSet(
            wildcard=wildcard,
            aws=tuple(a for a in aws if a != "*"),
            service=fields.get("Service", ()),
            federated=fields.get("Federated", ()),
            canonical_user=fields.get("CanonicalUser", ()),
        )

    def conditions(self, block: object, base: str) -> tuple[Condition, ...]:
        """The ``Condition`` block of the statement at ``base``."""
        if not (type(block) is dict or isinstance(block, Mapping)):
            self.fail(f"{base}.Condition", f"Condition must be an object, not {type_name(block)}")
        out: list[Condition] = []
        for operator, keys in block.items():
            if not isinstance(operator, str):
                self.fail(f"{base}.Condition.{operator}", "a condition operator must be a string")
            try:
                spec, qualifier, if_exists = _operator(operator)
            except ValueError as exc:
                self.fail(f"{base}.Condition.{operator}", clip(str(exc), 2 * SHOW_CHARS))
            if not (type(keys) is dict or isinstance(keys, Mapping)):
                self.fail(
                    f"{base}.Condition.{operator}",
                    f"the value of {operator} must be an object of condition keys, not {type_name(keys)}",
                )
            checked = spec.family in _CHECKED_FAMILIES
            for key, raw in keys.items():
                if not isinstance(key, str) or not key.strip():
                    self.fail(f"{base}.Condition.{operator}.{key}", "a condition key must be a non-empty string")
                values = self.condition_values(raw, base, operator, key)
                if checked:
                    for i, v in enumerate(values):
                        err = value_error(spec, v)
                        if err is not None:
                            key_path = f"{base}.Condition.{operator}.{key}"
                            p = f"{key_path}[{i}]" if isinstance(raw, list) else key_path
                            self.fail(p, f"{clip(err, 2 * SHOW_CHARS)} (operator {spec.name})")
                out.append(
                    Condition(
                        operator=operator,
                        base=spec.name,
                        qualifier=qualifier,
                        if_exists=if_exists,
                        key=key,
                        values=values,
                    )
                )
        return tuple(out)

    def condition_values(self, raw: object, base: str, operator: str, key: str) -> tuple[str, ...]:
        """The values of ``key`` under ``operator`` in the Condition block of the statement at ``base``."""
        if isinstance(raw, str):
            return (raw,)
        is_list = isinstance(raw, list)
        if is_list and not raw:
            self.fail(f"{base}.Condition.{operator}.{key}", "condition values must not be an empty list")
        items: list[object] = raw if isinstance(raw, list) else [raw]
        out: list[str] = []
        for i, item in enumerate(items):
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, bool):
                out.append("true" if item else "false")
            elif isinstance(item, (int, float)):
                out.append(json.dumps(item))
            else:
                key_path = f"{base}.Condition.{operator}.{key}"
                self.fail(
                    f"{key_path}[{i}]" if is_list else key_path,
                    f"a condition value must be a string, number or boolean, not {type_name(item)}",
                )
        return tuple(out)


# --------------------------------------------------------------------------- reuse of parsed documents

CACHE_ENTRIES = 4096  # documents
CACHE_CHARS = 8_000_000  # total length of the cached documents' keys (about the size of their JSON text)

# (kind, form, content). JSON text ("text", "bytes") is its own key. A decoded document ("object", a dict)
# is keyed by ``marshal.dumps(document, 2)``: a byte string of its content, about 3 times as fast as
# ``repr`` or ``json.dumps`` and unlike them exact: it tells a list from a tuple, the key "1" from the key
# 1, True from 1, keeps the order of the keys (which is the order of ``Statement.conditions``), accepts
# only the exact built-in types (a str or dict subclass, or any other object, means: do not cache), and
# version 2 has no back-references, so the bytes depend on the content only, not on which objects are
# shared. The content is immutable, so editing a document after parsing it cannot reach the cache: the
# edited document has another key.
_MARSHAL_VERSION = 2
_Key = tuple[PolicyKind, str, "str | bytes"]


@dataclass(frozen=True, slots=True)
class _Body:
    """What a policy is apart from its origin; shared by every policy parsed from the same content."""

    statements: tuple[Statement, ...]
    version: str | None
    id: str | None
    compiled: CompiledPolicy

    def policy(self, origin: str, kind: PolicyKind) -> Policy:
        policy = Policy(origin=origin, kind=kind, statements=self.statements, version=self.version, id=self.id)
        share_compiled(policy, self.compiled)
        return policy


@dataclass(frozen=True)
class ParseCacheInfo:
    hits: int
    misses: int
    entries: int
    chars: int
    max_entries: int
    max_chars: int


class ParseCache:
    """A thread-safe LRU of parsed documents, bounded in entries and in the total size of their keys."""

    def __init__(self, max_entries: int = CACHE_ENTRIES, max_chars: int = CACHE_CHARS) -> None:
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._entries: OrderedDict[_Key, _Body] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: _Key) -> _Body | None:
        with self._lock:
            body = self._entries.get(key)
            if body is None:
                self.misses += 1
            else:
                self.hits += 1
                self._entries.move_to_end(key)
            return body

    def put(self, key: _Key, body: _Body) -> None:
        size = len(key[2])
        if size > self.max_chars or self.max_entries <= 0:
            return
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return
            self._entries[key] = body
            self._chars += size
            while len(self._entries) > self.max_entries or self._chars > self.max_chars:
                old, _ = self._entries.popitem(last=False)
                self._chars -= len(old[2])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._chars = 0
            self.hits = self.misses = 0

    def info(self) -> ParseCacheInfo:
        with self._lock:
            return ParseCacheInfo(
                self.hits, self.misses, len(self._entries), self._chars, self.max_entries, self.max_chars
            )


_CACHE = ParseCache()


def parse_cache_info() -> ParseCacheInfo:
    """Hits, misses and size of the cache of parsed documents."""
    return _CACHE.info()


def clear_parse_cache() -> None:
    """Forget every parsed document (the next ``parse_policy`` of each parses it again)."""
    _CACHE.clear()


def _cache_key(document: object, kind: PolicyKind) -> _Key | None:
    """The document's content as an immutable key, or ``None`` when it is not to be cached."""
    if isinstance(document, str):
        return (kind, "text", str(document))
    if isinstance(document, (bytes, bytearray)):
        return (kind, "bytes", bytes(document))
    if type(document) is dict:  # what json.loads makes; other mappings are parsed every time
        try:
            return (kind, "object", marshal.dumps(document, _MARSHAL_VERSION))
        except (ValueError, RecursionError):  # an object marshal does not take, or nested too deeply: uncached
            return None
    return None


def _parse(document: str | Mapping[str, object], origin: str, kind: PolicyKind) -> Policy:
    parser = _Parser(origin, kind)
    doc: object = document
    try:
        if isinstance(document, (str, bytes, bytearray)):
            doc = decode_json(document)
        else:
            check_json(document)
    except ValueError as exc:
        raise PolicyError(origin, *json_error(exc)) from None
    try:
        return parser.document(doc)
    except RecursionError:
        raise PolicyError(origin, "", "document nested too deeply") from None


def parse_policy(document: str | Mapping[str, object], *, origin: str, kind: PolicyKind) -> Policy:
    """Parse and validate a policy document (JSON text or an already-decoded object).

    Raises ``PolicyError`` for anything AWS would reject; never any other exception. A document already
    accepted (same content, same kind) is not parsed again: see the module docstring.
    """
    key = _cache_key(document, kind)
    if key is not None:
        body = _CACHE.get(key)
        if body is not None:
            return body.policy(origin, kind)
    policy = _parse(document, origin, kind)
    if key is not None:
        _CACHE.put(key, _Body(policy.statements, policy.version, policy.id, compiled_policy(policy)))
    return policy
