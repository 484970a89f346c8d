"""The request context: looking keys up (present / absent / unknown) and what AWS derives from the caller."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final, Literal

from diagnose.policy.model import Caller, PrincipalType, RequestContext

MULTI_VALUED_KEYS = frozenset(
    {"aws:calledvia", "aws:tagkeys", "aws:principalorgpaths", "aws:principalservicenameslist"}
)

_PRINCIPAL_TAG_PREFIX = "aws:principaltag/"


def lookup(context: RequestContext, key: str) -> tuple[str, ...] | None:
    """The values of a lower-case key: a non-empty tuple if present, ``()`` if absent, ``None`` if unknown.

    An empty value set counts as absent (C2, C3 treat both alike).
    """
    values = context.values.get(key)
    if values is not None:
        return values
    if context.closed or key in context.absent:
        return ()
    for prefix in context.closed_prefixes:
        if key.startswith(prefix):
            return ()
    return None


def _as_tuple(value: object) -> tuple[str, ...]:
    if type(value) is tuple and all(type(v) is str for v in value):
        return value
    if isinstance(value, str):
        return (value,)
    if isinstance(value, bool):
        return ("true" if value else "false",)
    if isinstance(value, Iterable):
        return tuple(str(v) for v in value)
    return (str(value),)


def _lower_all(items: Iterable[str]) -> set[str]:
    return {i.lower() for i in items}


def _last_name(arn: str) -> str | None:
    tail = arn.rsplit(":", 1)[-1]
    return tail.rsplit("/", 1)[-1] if "/" in tail else None


def _derived(caller: Caller) -> tuple[dict[str, tuple[str, ...]], set[str], set[str]]:
    """What AWS puts in the context for this caller: (values, absent keys, closed prefixes)."""
    values: dict[str, tuple[str, ...]] = {}
    absent: set[str] = set()
    prefixes: set[str] = set()
    t = caller.type

    def put(key: str, value: str | None) -> None:
        if value is not None:
            values[key] = (value,)

    if t in (PrincipalType.SERVICE, PrincipalType.ANONYMOUS):
        absent.update(
            {
                "aws:principalarn",
                "aws:principalaccount",
                "aws:principalorgid",
                "aws:principalorgpaths",
                "aws:principaltype",
                "aws:username",
            }
        )
        prefixes.add(_PRINCIPAL_TAG_PREFIX)
        if t is PrincipalType.SERVICE:
            put("aws:principalisawsservice", "true")
            put("aws:principalservicename", caller.service)
        else:
            put("aws:principalisawsservice", "false")
            put("aws:userid", "anonymous")
        return values, absent, prefixes

    put("aws:principalarn", caller.principal_arn)
    account = caller.account
    if account is None:
        parts = caller.arn.split(":")
        account = parts[4] if len(parts) > 5 and parts[4] else None
    put("aws:principalaccount", account)
    put("aws:principaltype", t.value)
    put("aws:principalisawsservice", "false")
    absent.add("aws:principalservicename")

    if t is PrincipalType.IAM_USER:
        put("aws:username", caller.user_name or _last_name(caller.arn))
        put("aws:userid", caller.unique_id)
    else:
        absent.add("aws:username")
    if t is PrincipalType.ROLE_SESSION:
        session = caller.session_name or _last_name(caller.arn)
        if caller.unique_id is not None and session is not None:
            put("aws:userid", f"{caller.unique_id}:{session}")
    elif t is PrincipalType.ROOT:
        put("aws:userid", account)
        prefixes.add(_PRINCIPAL_TAG_PREFIX)  # the root user carries no tags
    elif t is PrincipalType.FEDERATED_USER:
        name = _last_name(caller.arn)
        if account is not None and name is not None:
            put("aws:userid", f"{account}:{name}")

    if caller.tags is not None:
        for k, v in caller.tags.items():
            values[_PRINCIPAL_TAG_PREFIX + k.lower()] = (v,)
        prefixes.add(_PRINCIPAL_TAG_PREFIX)
    if caller.org_known:
        if caller.org_id:
            put("aws:principalorgid", caller.org_id)
        else:
            absent.update({"aws:principalorgid", "aws:principalorgpaths"})
    return values, absent, prefixes


def normalise_values(values: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    """Lower-case keys and tuple-of-strings values (a bare string or boolean becomes one value)."""
    return {k if k.islower() or not k else k.lower(): _as_tuple(v) for k, v in values.items()}


_CALLER_ATTR = "_derived_keys"


def _derived_cached(caller: Caller) -> tuple[dict[str, tuple[str, ...]], set[str], set[str]]:
    """``_derived`` computed once per caller object (kept on the object, outside its fields)."""
    cached = caller.__dict__.get(_CALLER_ATTR)
    if cached is None:
        cached = _derived(caller)
        object.__setattr__(caller, _CALLER_ATTR, cached)
    return cached


def derive_context(caller: Caller, given: RequestContext) -> RequestContext:
    """The context AWS evaluates: ``given`` plus the keys AWS derives from the caller (C7, P3, P4).

    Values and absences in ``given`` win over derived ones; ``closed``, ``closed_prefixes`` and
    ``multi_valued`` are kept. Keys are lower-cased. Deriving twice gives the same context.
    """
    values = normalise_values(given.values)
    absent = _lower_all(given.absent)
    prefixes = _lower_all(given.closed_prefixes)
    multi = _lower_all(given.multi_valued) | MULTI_VALUED_KEYS

    d_values, d_absent, d_prefixes = _derived_cached(caller)
    for key, vals in d_values.items():
        if key not in values and key not in absent:
            values[key] = vals
    for key in d_absent:
        if key not in values:
            absent.add(key)
    prefixes |= d_prefixes
    return RequestContext(
        values=values,
        absent=frozenset(absent),
        closed=given.closed,
        closed_prefixes=frozenset(prefixes),
        multi_valued=frozenset(multi),
    )


# --------------------------------------------------------------------------- typed global keys

ValueType = Literal["bool", "date", "number", "epoch", "ip"]

# The global condition keys whose type AWS documents, lower-case key -> type. aws:EpochTime is a Date and
# Numeric key: policies compare it with either family, so its value must read as both (epoch seconds).
TYPED_KEYS: Final[Mapping[str, ValueType]] = MappingProxyType(
    {
        "aws:securetransport": "bool",
        "aws:viaawsservice": "bool",
        "aws:principalisawsservice": "bool",
        "aws:multifactorauthpresent": "bool",
        "aws:currenttime": "date",
        "aws:tokenissuetime": "date",
        "aws:epochtime": "epoch",
        "aws:multifactorauthage": "number",
        "aws:sourceip": "ip",
        "aws:vpcsourceip": "ip",
    }
)

_EXPECTED: Final[Mapping[ValueType, str]] = {
    "bool": "true or false",
    "date": "an ISO 8601 date-time or epoch seconds, e.g. 2026-01-01T00:00:00Z or 1767225600",
    "number": "a number, e.g. 300",
    "epoch": "epoch seconds, e.g. 1767225600",
    "ip": "an IPv4 or IPv6 address",
}


def context_value_error(key: str, value: str) -> str | None:
    """Why the condition operators cannot read ``value`` as the request value of ``key``, or ``None``.

    The check is the operators' own parsers (``parse_bool``, ``parse_date``, ``parse_number``,
    ``parse_network``), so a value accepted here is one a typed condition reads. Keys not in
    ``TYPED_KEYS`` take any string.
    """
    # conditions imports this module (for ``lookup``): import it when first needed.
    from diagnose.policy.conditions import parse_bool, parse_date, parse_network, parse_number

    kind = TYPED_KEYS.get(key.lower())
    if kind is None:
        return None
    if kind == "bool":
        ok = parse_bool(value) is not None
    elif kind == "date":
        ok = parse_date(value) is not None
    elif kind == "number":
        ok = parse_number(value) is not None
    elif kind == "epoch":
        ok = parse_date(value) is not None and parse_number(value) is not None
    else:
        # A request comes from one address: IpAddress reads the request value as an address, not a block.
        if "/" in value and parse_network(value) is not None:
            return f"expected {_EXPECTED[kind]}, not a CIDR block"
        ok = parse_network(value) is not None
    return None if ok else f"expected {_EXPECTED[kind]}"
