"""Matching of actions (A1), resources (A3) and principals (P1-P7).

Wildcard patterns are compiled once and cached module-wide by pattern text. A pattern without
wildcards becomes a plain string comparison; ``prefix*`` and ``*suffix`` become ``startswith`` /
``endswith``; anything else a regular expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from diagnose.policy.model import Caller, Effect, PrincipalMatch, PrincipalSet, PrincipalType

Matcher = Callable[[str], bool]

_CACHE_LIMIT = 20_000
_glob_cache: dict[tuple[str, bool, bool, bool], Matcher] = {}
_union_cache: dict[tuple[str, bool], Matcher] = {}


def _always(_: str) -> bool:
    return True


def _tokens(pattern: str, escaped: bool) -> list[str | None]:
    """Split a pattern into literal characters (str) and wildcards (``None`` for ``*``, ``""`` for ``?``).

    With ``escaped``, a backslash makes the next character literal (used for resolved policy variables,
    where ``${*}`` stands for a literal ``*``).
    """
    out: list[str | None] = []
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if escaped and ch == "\\" and i + 1 < n:
            out.append(pattern[i + 1])
            i += 2
            continue
        if ch == "*":
            out.append(None)
        elif ch == "?":
            out.append("")
        else:
            out.append(ch)
        i += 1
    return out


def _build_glob(pattern: str, ignore_case: bool, escaped: bool, arn: bool) -> Matcher:
    if ignore_case:
        pattern = pattern.lower()
    toks = _tokens(pattern, escaped)
    if toks == [None]:
        return _always
    wild = [i for i, t in enumerate(toks) if t is None or t == ""]
    literal = "".join(t for t in toks if t)
    if not wild:
        return literal.__eq__
    if not arn:
        if wild == [len(toks) - 1] and toks[-1] is None:
            prefix = literal

            def starts(s: str) -> bool:
                return s.startswith(prefix)

            return starts
        if wild == [0] and toks[0] is None:
            suffix = literal

            def ends(s: str) -> bool:
                return s.endswith(suffix)

            return ends
    if toks.count(None) <= 1:
        return _lazy_regex(_regex_source(toks, arn))  # one '*': a regex backtracks at most linearly
    # Several '*': a backtracking regex can take exponential time on a hostile pattern, so match the
    # literal chunks between stars leftmost-first instead (linear, and exact for globs).
    if arn:
        return _arn_fields_matcher(toks)
    return _chunks_matcher(toks)


def _chunk_regex(chunk: list[str | None]) -> re.Pattern[str]:
    return re.compile("".join("." if t == "" else re.escape(t or "") for t in chunk), re.DOTALL)


def _chunks_matcher(toks: list[str | None]) -> Matcher:
    """``*``-separated chunks: the first anchored at the start, the last at the end, the rest leftmost."""
    chunks: list[list[str | None]] = [[]]
    for t in toks:
        if t is None:
            chunks.append([])
        else:
            chunks[-1].append(t)
    head, *middle, tail = (_chunk_regex(c) for c in chunks)
    head_len, tail_len = len(chunks[0]), len(chunks[-1])

    def match(s: str) -> bool:
        if len(s) < head_len + tail_len or not head.match(s) or not tail.fullmatch(s, len(s) - tail_len):
            return False
        pos, end = head_len, len(s) - tail_len
        for chunk in middle:
            found = chunk.search(s, pos, end)
            if found is None:
                return False
            pos = found.end()
        return True

    return match


def _arn_fields_matcher(toks: list[str | None]) -> Matcher:
    """C5 ArnLike: the first five colon-separated fields match one by one; the resource may hold ':'."""
    fields: list[list[str | None]] = [[]]
    for t in toks:
        if t == ":" and len(fields) < 6:
            fields.append([])
        else:
            fields[-1].append(t)
    matchers = [_chunks_matcher(f) if f.count(None) > 1 else _lazy_regex(_regex_source(f, False)) for f in fields]

    def match(s: str) -> bool:
        parts = s.split(":", len(matchers) - 1)
        return len(parts) == len(matchers) and all(m(part) for m, part in zip(matchers, parts, strict=True))

    return match


def _regex_source(toks: list[str | None], arn: bool) -> str:
    parts: list[str] = []
    field = 0
    for t in toks:
        if t is None:
            parts.append("[^:]*" if arn and field < 5 else ".*")
        elif t == "":
            parts.append("[^:]" if arn and field < 5 else ".")
        else:
            if t == ":":
                field += 1
            parts.append(re.escape(t))
    return "".join(parts)


def _lazy_regex(source: str) -> Matcher:
    full: Callable[[str], re.Match[str] | None] | None = None

    def regex(s: str) -> bool:
        # compiled on first use, so that parsing a large document stays cheap
        nonlocal full
        if full is None:
            full = re.compile(source, re.DOTALL).fullmatch
        return full(s) is not None

    return regex


def glob_union(patterns: tuple[str, ...], *, ignore_case: bool = False) -> Matcher:
    """One matcher for "any of these patterns" (no escapes, no ARN fields): a set lookup when none has
    wildcards, else one regular expression."""
    if len(patterns) == 1:
        return glob_matcher(patterns[0], ignore_case=ignore_case)
    pats = [p.lower() for p in patterns] if ignore_case else list(patterns)
    if "*" in pats:
        return _always
    if not any("*" in p or "?" in p for p in pats):
        return frozenset(pats).__contains__
    if any(p.count("*") > 1 for p in pats):  # see _build_glob: no alternation of backtracking patterns
        matchers = [glob_matcher(p) for p in pats]
        return lambda s: any(m(s) for m in matchers)
    key = ("\x00".join(pats), ignore_case)
    m = _union_cache.get(key)
    if m is None:
        if len(_union_cache) >= _CACHE_LIMIT:
            _union_cache.clear()
        m = _lazy_regex("|".join(f"(?:{_regex_source(_tokens(p, False), False)})" for p in pats))
        _union_cache[key] = m
    return m


def glob_matcher(pattern: str, *, ignore_case: bool = False, escaped: bool = False, arn: bool = False) -> Matcher:
    """A compiled, cached wildcard matcher (``*`` any run, ``?`` one character).

    ``ignore_case``: the pattern is lower-cased and the matcher expects lower-cased input.
    ``arn``: ARN matching (C5): a wildcard never crosses ``:`` in the first five colon-separated fields.
    """
    key = (pattern, ignore_case, escaped, arn)
    m = _glob_cache.get(key)
    if m is None:
        if len(_glob_cache) >= _CACHE_LIMIT:
            _glob_cache.clear()
        m = _build_glob(pattern, ignore_case, escaped, arn)
        _glob_cache[key] = m
    return m


def match_action(pattern: str, action: str) -> bool:
    """A1: ``service:Action`` against a pattern; case-insensitive; ``*`` and ``?`` wildcards."""
    return glob_matcher(pattern, ignore_case=True)(action.lower())


def match_resource(pattern: str, arn: str) -> bool:
    """A3: a resource ARN against a ``Resource`` pattern; case-sensitive; ``*`` may span ``/`` and ``:``."""
    return glob_matcher(pattern)(arn)


def match_arn(pattern: str, arn: str) -> bool:
    """C5 ``ArnLike``/``ArnEquals``: case-sensitive, field by field; ``*`` never crosses ``:``."""
    return glob_matcher(pattern, arn=True)(arn)


# --------------------------------------------------------------------------- principals

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ROOT_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")
_UNIQUE_ID_RE = re.compile(r"^(AROA|AIDA)[A-Z0-9]{8,}$")
_NAME = r"[\w+=,.@-]+"
_PATH = r"(?:/[\x21-\x7e]+)*/"
_PRINCIPAL_ARN_RES = (
    re.compile(rf"^arn:aws[a-z-]*:iam::\d{{12}}:user{_PATH}{_NAME}$", re.ASCII),
    re.compile(rf"^arn:aws[a-z-]*:iam::\d{{12}}:role{_PATH}{_NAME}$", re.ASCII),
    re.compile(rf"^arn:aws[a-z-]*:sts::\d{{12}}:assumed-role/{_NAME}/{_NAME}$", re.ASCII),
    re.compile(rf"^arn:aws[a-z-]*:sts::\d{{12}}:federated-user/{_NAME}$", re.ASCII),
)


def principal_form_error(value: str) -> str | None:
    """Why ``value`` is not a valid ``AWS`` principal (P1-P4), or ``None`` when it is."""
    if value == "*":
        return None
    if "*" in value or "?" in value:
        return f'wildcards cannot match part of a principal ({value!r}); use "*" with an aws:PrincipalArn condition'
    if _ACCOUNT_RE.match(value) or _ROOT_RE.match(value) or _UNIQUE_ID_RE.match(value):
        return None
    if any(rx.match(value) for rx in _PRINCIPAL_ARN_RES):
        return None
    return f"{value!r} is not an account id, IAM principal ARN or unique id"


@dataclass(frozen=True, slots=True)
class CompiledPrincipals:
    wildcard: bool
    arns: frozenset[str]  # user, role, session and federated-user ARNs, exactly as written
    accounts: frozenset[str]  # account ids from both account forms (P1)
    unique_ids: frozenset[str]
    services: frozenset[str]  # lower-case


_PSET_ATTR = "_compiled_principals"


def compile_principals(pset: PrincipalSet) -> CompiledPrincipals:
    cached = pset.__dict__.get(_PSET_ATTR)
    if isinstance(cached, CompiledPrincipals):
        return cached
    arns: set[str] = set()
    accounts: set[str] = set()
    uids: set[str] = set()
    wildcard = pset.wildcard
    for entry in pset.aws:
        if entry == "*":
            wildcard = True
        elif _ACCOUNT_RE.match(entry):
            accounts.add(entry)
        elif m := _ROOT_RE.match(entry):
            accounts.add(m.group(1))
        elif _UNIQUE_ID_RE.match(entry):
            uids.add(entry)
        else:
            arns.add(entry)
    compiled = CompiledPrincipals(
        wildcard=wildcard,
        arns=frozenset(arns),
        accounts=frozenset(accounts),
        unique_ids=frozenset(uids),
        services=frozenset(s.lower() for s in pset.service),
    )
    object.__setattr__(pset, _PSET_ATTR, compiled)
    return compiled


def _account_of(caller: Caller) -> str | None:
    if caller.account:
        return caller.account
    parts = caller.arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def match_compiled(c: CompiledPrincipals, caller: Caller) -> PrincipalMatch | None:
    t = caller.type
    if t is PrincipalType.ROLE_SESSION:
        if caller.arn in c.arns:
            return PrincipalMatch.SESSION
        if c.unique_ids and caller.unique_id in c.unique_ids:
            return PrincipalMatch.UNIQUE_ID
        if caller.role_arn is not None and caller.role_arn in c.arns:
            return PrincipalMatch.ROLE
        if c.accounts and _account_of(caller) in c.accounts:
            return PrincipalMatch.ACCOUNT
    elif t is PrincipalType.IAM_USER:
        if caller.arn in c.arns:
            return PrincipalMatch.USER
        if c.unique_ids and caller.unique_id in c.unique_ids:
            return PrincipalMatch.UNIQUE_ID
        if c.accounts and _account_of(caller) in c.accounts:
            return PrincipalMatch.ACCOUNT
    elif t is PrincipalType.FEDERATED_USER:
        if caller.arn in c.arns:
            return PrincipalMatch.FEDERATED_USER
        if c.accounts and _account_of(caller) in c.accounts:
            return PrincipalMatch.ACCOUNT
    elif t is PrincipalType.ROOT:
        if c.accounts and _account_of(caller) in c.accounts:
            return PrincipalMatch.ACCOUNT
    elif t is PrincipalType.SERVICE and caller.service is not None and caller.service.lower() in c.services:
        return PrincipalMatch.SERVICE
    if c.wildcard:
        return PrincipalMatch.WILDCARD
    return None


def unique_id_undecided(c: CompiledPrincipals, caller: Caller) -> tuple[str, ...]:
    """Unique ids in the set that might name the caller, whose own unique id is not known (P4)."""
    if caller.unique_id is not None or not c.unique_ids:
        return ()
    if caller.type is PrincipalType.ROLE_SESSION:
        prefix = "AROA"
    elif caller.type is PrincipalType.IAM_USER:
        prefix = "AIDA"
    else:
        return ()
    return tuple(sorted(u for u in c.unique_ids if u.startswith(prefix)))


def match_principal(pset: PrincipalSet, caller: Caller) -> PrincipalMatch | None:
    """Which form of ``Principal`` names the caller, the most specific first; ``None`` if none does.

    P1 an account id or root ARN stands for the whole account; P3 a role ARN (with its path) matches
    that role's sessions, a session ARN only that session; P4 a bare unique id matches only
    ``caller.unique_id`` (unknown unique id: no match); P5 ARNs compare case-sensitively; P6 service
    principals match service callers. Anonymous callers match only the wildcard.
    """
    return match_compiled(compile_principals(pset), caller)


def not_principal_applies(pset: PrincipalSet, caller: Caller, effect: Effect) -> bool:
    """P7: does a statement with ``NotPrincipal: pset`` apply to the caller?

    With Deny the caller is excepted only if every identity of its chain is listed (session, role,
    account for a role session; user, account for a user; the account for root). With Allow any
    listed identity of the chain excepts the caller.
    """
    c = compile_principals(pset)
    if c.wildcard:
        return False
    account = _account_of(caller)
    acct_listed = account is not None and account in c.accounts
    t = caller.type
    chain: list[bool]
    if t is PrincipalType.ROLE_SESSION:
        role_listed = (caller.role_arn is not None and caller.role_arn in c.arns) or (
            caller.unique_id is not None and caller.unique_id in c.unique_ids
        )
        chain = [caller.arn in c.arns, role_listed, acct_listed]
    elif t is PrincipalType.IAM_USER:
        user_listed = caller.arn in c.arns or (caller.unique_id is not None and caller.unique_id in c.unique_ids)
        chain = [user_listed, acct_listed]
    elif t is PrincipalType.FEDERATED_USER:
        chain = [caller.arn in c.arns, acct_listed]
    elif t is PrincipalType.ROOT:
        chain = [acct_listed]
    elif t is PrincipalType.SERVICE:
        chain = [caller.service is not None and caller.service.lower() in c.services]
    else:
        return True
    excepted = all(chain) if effect == "Deny" else any(chain)
    return not excepted
