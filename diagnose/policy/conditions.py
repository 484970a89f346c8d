"""Condition operators (C1-C6), evaluated three-valued against a request context.

A condition is compiled once (policy values parsed, patterns compiled); evaluation then looks the key
up and applies the per-value predicate "the request value matches one of the policy values".
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Final, Literal

from diagnose.policy.context import lookup
from diagnose.policy.match import glob_matcher
from diagnose.policy.model import Condition, RequestContext, Residual, Tri
from diagnose.policy.variables import (
    ABSENT,
    Template,
    Unknown,
    parse_template,
    raw_source,
    resolve,
    unescape,
)

Family = Literal["string", "string_ic", "string_like", "numeric", "date", "bool", "binary", "ip", "arn", "null"]
Compare = Literal["eq", "lt", "le", "gt", "ge"]


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    name: str
    family: Family
    negated: bool = False
    compare: Compare = "eq"

    @property
    def takes_variables(self) -> bool:
        return self.family in ("string", "string_ic", "string_like", "arn")


def _specs() -> dict[str, OperatorSpec]:
    specs = [
        OperatorSpec("StringEquals", "string"),
        OperatorSpec("StringNotEquals", "string", True),
        OperatorSpec("StringEqualsIgnoreCase", "string_ic"),
        OperatorSpec("StringNotEqualsIgnoreCase", "string_ic", True),
        OperatorSpec("StringLike", "string_like"),
        OperatorSpec("StringNotLike", "string_like", True),
        OperatorSpec("Bool", "bool"),
        OperatorSpec("BinaryEquals", "binary"),
        OperatorSpec("IpAddress", "ip"),
        OperatorSpec("NotIpAddress", "ip", True),
        OperatorSpec("ArnEquals", "arn"),
        OperatorSpec("ArnLike", "arn"),
        OperatorSpec("ArnNotEquals", "arn", True),
        OperatorSpec("ArnNotLike", "arn", True),
        OperatorSpec("Null", "null"),
    ]
    for fam, prefix in (("numeric", "Numeric"), ("date", "Date")):
        family: Family = "numeric" if fam == "numeric" else "date"
        specs += [
            OperatorSpec(f"{prefix}Equals", family),
            OperatorSpec(f"{prefix}NotEquals", family, True),
            OperatorSpec(f"{prefix}LessThan", family, False, "lt"),
            OperatorSpec(f"{prefix}LessThanEquals", family, False, "le"),
            OperatorSpec(f"{prefix}GreaterThan", family, False, "gt"),
            OperatorSpec(f"{prefix}GreaterThanEquals", family, False, "ge"),
        ]
    return {s.name.lower(): s for s in specs}


OPERATORS: Final = _specs()
_QUALIFIERS: Final = {"foranyvalue": "ForAnyValue", "forallvalues": "ForAllValues"}


def parse_operator(operator: str) -> tuple[OperatorSpec, Literal["ForAnyValue", "ForAllValues"] | None, bool]:
    """Split ``ForAnyValue:StringLikeIfExists`` into (spec, qualifier, if_exists); ``ValueError`` if unknown.

    Operator names are matched case-insensitively.
    """
    rest = operator
    qualifier: Literal["ForAnyValue", "ForAllValues"] | None = None
    if ":" in rest:
        head, rest = rest.split(":", 1)
        q = _QUALIFIERS.get(head.lower())
        if q is None:
            raise ValueError(f"unknown set qualifier {head!r} (expected ForAnyValue or ForAllValues)")
        qualifier = "ForAnyValue" if q == "ForAnyValue" else "ForAllValues"
    low = rest.lower()
    if_exists = False
    spec = OPERATORS.get(low)
    if spec is None and low.endswith("ifexists"):
        spec = OPERATORS.get(low[: -len("ifexists")])
        if_exists = spec is not None
    if spec is None:
        raise ValueError(f"unknown condition operator {operator!r}")
    if if_exists and spec.family == "null":
        raise ValueError("Null cannot take IfExists")
    return spec, qualifier, if_exists


# --------------------------------------------------------------------------- value parsing

_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_EPOCH_RE = re.compile(r"^[+-]?\d+(\.\d+)?$")
_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_number(text: str) -> float | None:
    if not _NUMBER_RE.match(text.strip()):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_date(text: str) -> float | None:
    """ISO 8601 (W3C profile) or epoch seconds -> epoch seconds; ``None`` if neither."""
    text = text.strip()
    if _EPOCH_RE.match(text):
        return float(text)
    m = _ISO_RE.match(text)
    if m is None:
        return None
    year, month, day, hh, mm, ss, frac, tz = m.groups()
    try:
        offset = timedelta(0)
        if tz and tz not in ("Z", "z"):
            sign = -1 if tz[0] == "-" else 1
            digits = tz[1:].replace(":", "")
            offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        dt = datetime(
            int(year),
            int(month),
            int(day),
            int(hh or 0),
            int(mm or 0),
            int(ss or 0),
            tzinfo=timezone(offset),
        )
    except ValueError:
        return None
    return dt.timestamp() + (float("0." + frac) if frac else 0.0)


def parse_bool(text: str) -> bool | None:
    low = text.strip().lower()
    return True if low == "true" else False if low == "false" else None


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str) -> IpNetwork | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def value_error(spec: OperatorSpec, value: str) -> str | None:
    """Why ``value`` is not valid for the operator family, or ``None``."""
    fam = spec.family
    if fam == "numeric" and parse_number(value) is None:
        return f"{value!r} is not a number"
    if fam == "date" and parse_date(value) is None:
        return f"{value!r} is not an ISO 8601 date or epoch seconds"
    if fam in ("bool", "null") and parse_bool(value) is None:
        return f'{value!r} is not "true" or "false"'
    if fam == "ip" and parse_network(value) is None:
        return f"{value!r} is not an IP address or CIDR block"
    return None


# --------------------------------------------------------------------------- request values, parsed once

IpAddr = ipaddress.IPv4Address | ipaddress.IPv6Address
_PARSE_LIMIT = 10_000
_numbers: dict[str, float | None] = {}
_dates: dict[str, float | None] = {}
_addresses: dict[str, IpAddr | None] = {}


def _cached_number(text: str) -> float | None:
    try:
        return _numbers[text]
    except KeyError:
        pass
    if len(_numbers) >= _PARSE_LIMIT:
        _numbers.clear()
    value = _numbers[text] = parse_number(text)
    return value


def _cached_date(text: str) -> float | None:
    try:
        return _dates[text]
    except KeyError:
        pass
    if len(_dates) >= _PARSE_LIMIT:
        _dates.clear()
    value = _dates[text] = parse_date(text)
    return value


def _cached_address(text: str) -> IpAddr | None:
    try:
        return _addresses[text]
    except KeyError:
        pass
    if len(_addresses) >= _PARSE_LIMIT:
        _addresses.clear()
    try:
        addr: IpAddr | None = ipaddress.ip_address(text.strip())
    except ValueError:
        addr = None
    _addresses[text] = addr
    return addr


# --------------------------------------------------------------------------- predicates

Predicate = Callable[[str], bool]
_pred_cache: dict[tuple[str, tuple[str, ...]], Predicate] = {}


def _cmp(compare: Compare) -> Callable[[float, float], bool]:
    if compare == "lt":
        return lambda r, p: r < p
    if compare == "le":
        return lambda r, p: r <= p
    if compare == "gt":
        return lambda r, p: r > p
    if compare == "ge":
        return lambda r, p: r >= p
    return lambda r, p: r == p


def _any_of(matchers: Sequence[Predicate]) -> Predicate:
    if len(matchers) == 1:
        return matchers[0]
    ms = tuple(matchers)

    def pred(v: str) -> bool:
        return any(m(v) for m in ms)

    return pred


def _build_predicate(spec: OperatorSpec, sources: tuple[str, ...], escaped: bool) -> Predicate:
    """``request value -> matches one of the policy values`` (the positive form of the operator)."""
    fam = spec.family
    if fam == "string":
        texts = frozenset(unescape(s) if escaped else s for s in sources)
        return texts.__contains__
    if fam == "string_ic":
        low = frozenset((unescape(s) if escaped else s).lower() for s in sources)
        return lambda v: v.lower() in low
    if fam in ("string_like", "arn"):
        arn = fam == "arn"
        return _any_of([glob_matcher(s, escaped=escaped, arn=arn) for s in sources])
    if fam == "binary":
        return frozenset(sources).__contains__
    if fam == "bool":
        bools = frozenset(parse_bool(s) for s in sources)
        return lambda v: parse_bool(v) in bools
    if fam in ("numeric", "date"):
        parse = _cached_number if fam == "numeric" else _cached_date
        nums = tuple(n for n in (parse(s) for s in sources) if n is not None)
        op = _cmp(spec.compare)

        def numeric(v: str) -> bool:
            r = parse(v)
            return r is not None and any(op(r, p) for p in nums)

        return numeric
    if fam == "ip":
        nets = tuple(n for n in (parse_network(s) for s in sources) if n is not None)

        def ip(v: str) -> bool:
            addr = _cached_address(v)
            return addr is not None and any(addr.version == n.version and addr in n for n in nets)

        return ip
    raise AssertionError(f"no predicate for {spec.name}")


def predicate(spec: OperatorSpec, sources: tuple[str, ...], escaped: bool = False) -> Predicate:
    key = (("\\" if escaped else "") + spec.name, sources)
    p = _pred_cache.get(key)
    if p is None:
        if len(_pred_cache) >= 20_000:
            _pred_cache.clear()
        p = _build_predicate(spec, sources, escaped)
        _pred_cache[key] = p
    return p


# --------------------------------------------------------------------------- compiled condition

REASON_KEY = "not in the request context"
REASON_VARIABLE = "policy variable not in the request context"


class CompiledCondition:
    """A condition ready to evaluate: ``evaluate(context) -> (Tri, Residual | None)``."""

    __slots__ = (
        "condition",
        "dynamic",
        "if_exists",
        "key",
        "negated",
        "null_wants",
        "pred",
        "qualifier",
        "residual",
        "spec",
        "templates",
    )

    def __init__(self, condition: Condition, version: str | None) -> None:
        spec, _, _ = parse_operator(condition.base)
        self.condition = condition
        self.spec = spec
        self.key = condition.key.lower()
        self.negated = spec.negated
        self.if_exists = condition.if_exists
        self.qualifier = condition.qualifier
        self.residual = Residual(condition.key, condition.operator, condition.values, REASON_KEY)
        self.null_wants: frozenset[bool] = frozenset()
        self.pred: Predicate | None = None
        self.templates: tuple[Template | str, ...] = ()
        self.dynamic = False
        if spec.family == "null":
            self.null_wants = frozenset(b for b in (parse_bool(v) for v in condition.values) if b is not None)
            return
        if spec.takes_variables:
            templates = [parse_template(v, version) for v in condition.values]
            if any(t is not None for t in templates):
                self.dynamic = True
                pairs = zip(templates, condition.values, strict=True)
                self.templates = tuple(t if t is not None else raw_source(v) for t, v in pairs)
                return
        self.pred = predicate(spec, condition.values)

    def _dynamic_pred(self, context: RequestContext) -> tuple[Predicate | None, Residual | None]:
        """The predicate over the resolved policy values; unresolvable values never match (C6)."""
        sources: list[str] = []
        unknown: Unknown | None = None
        for t in self.templates:
            if isinstance(t, str):
                sources.append(t)
                continue
            r = resolve(t, context)
            if isinstance(r, str):
                sources.append(r)
            elif r is not ABSENT and isinstance(r, Unknown) and unknown is None:
                unknown = r
        pred = predicate(self.spec, tuple(sources), escaped=True) if sources else None
        if unknown is None:
            return pred, None
        c = self.condition
        return pred, Residual(unknown.key, c.operator, c.values, REASON_VARIABLE)

    def evaluate(self, context: RequestContext) -> tuple[Tri, Residual | None]:
        req = lookup(context, self.key)
        if req is None:
            return None, self.residual
        if self.spec.family == "null":
            return (not req) in self.null_wants, None
        if not req:
            if self.if_exists:
                return True, None
            if self.qualifier == "ForAllValues":
                return True, None
            if self.qualifier == "ForAnyValue":
                return False, None
            return self.negated, None
        negated = self.negated
        pred = self.pred
        if self.dynamic:
            pred, unknown = self._dynamic_pred(context)
            if unknown is not None:
                # Values that resolved may still settle it: a match decides both forms.
                if self.qualifier is None and pred is not None and any(pred(v) for v in req):
                    return (not negated), None
                return None, unknown
            if pred is None:  # no policy value resolved: no request value matches any of them
                return negated, None
        assert pred is not None
        if self.qualifier is None:
            hit = False
            for v in req:
                if pred(v):
                    hit = True
                    break
            return hit is not negated, None
        if self.qualifier == "ForAllValues":
            return all(pred(v) is not negated for v in req), None
        return any(pred(v) is not negated for v in req), None


def evaluate_condition(
    condition: Condition, context: RequestContext, *, version: str | None = "2012-10-17"
) -> tuple[Tri, Residual | None]:
    """Evaluate one (operator, key, values) condition; ``(None, residual)`` when it depends on an unknown."""
    return CompiledCondition(condition, version).evaluate(context)
