"""who-can: every principal that can perform an action on a queue end to end, SQS and KMS steps together.

Candidates are the principals of the snapshot, plus every account, principal and service the queue
policy and the key policy name in their Allow statements (a ``"*"`` grant is listed with its
conditions, and an account its conditions pin — ``aws:PrincipalAccount``, ``kms:CallerAccount`` — is
a candidate too), plus the queue's own account (E3). An *account* is evaluated as a hypothetical
principal of that account whose identity policy allows exactly this action (and the KMS operations it
needs) on this queue and key: the answer then says what the resource side allows. Each candidate is
decided by :func:`diagnose.verdict.diagnose`; those that pass the SQS step but fail a KMS step — the
ones who will see ``KMS.AccessDeniedException`` — and the inconclusive ones are listed apart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from diagnose.arns import ACCOUNT_RE, parse_arn
from diagnose.authz import Decision, Outcome
from diagnose.policy import Condition, Policy
from diagnose.snapshot import Account, Document, Key, Queue, Snapshot
from diagnose.sqs import KMS_OPERATIONS, Action, Encryption, encryption_of, resolve_key
from diagnose.subject import hypothetical_role_arn, with_principal
from diagnose.verdict import Assumptions, Query, Verdict, diagnose, require_queue
from diagnose.world import World

Kind = Literal["principal", "account", "service", "anyone"]
HYPOTHETICAL_NAME = "any-principal-with-an-identity-allow"
_ACCOUNT_KEYS = {"aws:principalaccount", "kms:calleraccount"}
_EXACT_OPERATORS = {"StringEquals", "StringLike", "ArnEquals", "ArnLike"}
_WILDCARD = re.compile(r"[*?]")


@dataclass(frozen=True)
class Candidate:
    principal: str  # what diagnose() evaluates
    kind: Kind
    label: str  # how the answer names it
    sources: tuple[str, ...]  # where it comes from
    hypothetical: bool = False
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    conditions: tuple[str, ...] = ()  # the conditions of the statements that name it (for "*")


@dataclass(frozen=True)
class Entry:
    candidate: Candidate
    verdict: Verdict
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class WhoCan:
    queue: Queue
    action: Action
    encryption: Encryption
    key: Key | None
    can: tuple[Entry, ...]
    kms_fails: tuple[Entry, ...]  # pass the SQS step, fail a KMS step: KMS.* errors
    inconclusive: tuple[Entry, ...]
    cannot: tuple[Entry, ...]
    notes: tuple[str, ...]


# --------------------------------------------------------------------------- candidates


def _condition_text(conditions: tuple[Condition, ...]) -> str:
    return " AND ".join(f"{c.operator} {c.key} [{', '.join(c.values)}]" for c in conditions)


def _exact(cond: Condition) -> tuple[str, ...]:
    if cond.base not in _EXACT_OPERATORS or cond.qualifier is not None:
        return ()
    return tuple(v for v in cond.values if not _WILDCARD.search(v))


class _Candidates:
    def __init__(self) -> None:
        self.items: dict[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], Candidate] = {}
        self.notes: list[str] = []

    def add(self, candidate: Candidate) -> None:
        ident = (candidate.principal, tuple(sorted(candidate.context.items())))
        old = self.items.get(ident)
        if old is None:
            self.items[ident] = candidate
            return
        self.items[ident] = Candidate(
            old.principal,
            old.kind,
            old.label,
            tuple(dict.fromkeys((*old.sources, *candidate.sources))),
            old.hypothetical,
            old.context,
            tuple(dict.fromkeys((*old.conditions, *candidate.conditions))),
        )


def _account_candidate(account: str, partition: str, source: str) -> Candidate:
    return Candidate(
        hypothetical_role_arn(account, HYPOTHETICAL_NAME, partition),
        "account",
        f"any principal of {account} with an identity allow",
        (source,),
        hypothetical=True,
    )


def _example_of(pattern: str) -> str:
    """A concrete ARN that a wildcard ARN pattern matches: each '*' becomes 'example', each '?' 'x'."""
    return pattern.replace("*", "example").replace("?", "x")


def _pinned_by_conditions(
    found: _Candidates, conditions: tuple[Condition, ...], source: str, partition: str, accounts: tuple[Account, ...]
) -> None:
    """A "*" grant narrowed by conditions still opens the queue to the principals they name: accounts
    (aws:PrincipalAccount, kms:CallerAccount), principal ARN patterns (aws:PrincipalArn) and members of an
    organization the snapshot knows (aws:PrincipalOrgID)."""
    for cond in conditions:
        key = cond.key.lower()
        if cond.qualifier is not None or cond.base not in _EXACT_OPERATORS:
            continue
        if key in _ACCOUNT_KEYS:
            for value in _exact(cond):
                if ACCOUNT_RE.match(value):
                    found.add(_account_candidate(value, partition, f"{source} ({cond.key})"))
        elif key == "aws:principalarn":
            for pattern in cond.values:
                try:
                    arn = parse_arn(_example_of(pattern), "aws:PrincipalArn")
                except ValueError:
                    continue
                if not ACCOUNT_RE.match(arn.account) or arn.resource == "root":
                    continue
                example = str(arn)
                if example == pattern:
                    found.add(Candidate(pattern, "principal", pattern, (f"{source} ({cond.key})",)))
                else:
                    found.add(
                        Candidate(
                            example,
                            "account",
                            f"principals matching {pattern}",
                            (f"{source} ({cond.key})",),
                            hypothetical=True,
                        )
                    )
        elif key == "aws:principalorgid":
            for account in accounts:
                if account.org_id is not None and account.org_id in cond.values:
                    found.add(_account_candidate(account.id, partition, f"{source} ({cond.key} {account.org_id})"))


def _from_policy(
    found: _Candidates, policy: Policy, what: str, partition: str, accounts: tuple[Account, ...] = ()
) -> None:
    services: dict[str, list[tuple[dict[str, tuple[str, ...]], str]]] = {}
    for st in policy.statements:
        if st.effect != "Allow":
            continue
        source = f"{what} {st.label}"
        if st.not_principal is not None:
            found.notes.append(f"{source}: Allow with NotPrincipal is not enumerated; evaluate principals one by one")
        ps = st.principal
        if ps is None:
            continue
        conditions = _condition_text(st.conditions)
        if ps.wildcard:
            found.add(
                Candidate(
                    "*",
                    "anyone",
                    '"*" as an unsigned (anonymous) caller',
                    (source,),
                    conditions=(conditions or "no conditions",),
                )
            )
            _pinned_by_conditions(found, st.conditions, source, partition, accounts)
        for entry in ps.aws:
            if ACCOUNT_RE.match(entry) or entry.endswith(":root"):
                account = entry if ACCOUNT_RE.match(entry) else parse_arn(entry, what).account
                found.add(_account_candidate(account, partition, source))
            elif entry.startswith("arn:"):
                found.add(Candidate(entry, "principal", entry, (source,)))
            else:
                found.notes.append(f"{source}: principal {entry!r} (a unique id: the principal it named was deleted)")
        for service in ps.service:
            ctx: dict[str, tuple[str, ...]] = {}
            for cond in st.conditions:
                key = cond.key.lower()
                if key in ("aws:sourcearn", "aws:sourceaccount") and _exact(cond):
                    ctx[key] = _exact(cond)[:1]
            services.setdefault(service, []).append((ctx, source))
        if ps.federated or ps.canonical_user:
            found.notes.append(f"{source}: federated and canonical-user principals are not evaluated")
    for service, uses in services.items():
        for ctx, source in uses:
            found.add(Candidate(service, "service", service, (source,), context=ctx))


def _candidates(snapshot: Snapshot, world: World, queue: Queue, key: Key | None) -> _Candidates:
    found = _Candidates()
    partition = parse_arn(queue.arn).partition
    found.add(
        _account_candidate(queue.account, partition, "the queue's own account (E3: an identity allow can suffice)")
    )
    for principal in snapshot.principals:
        found.add(Candidate(principal.arn, "principal", principal.arn, ("snapshot",)))
    for policy in world.queue_policy(queue).policies:
        _from_policy(found, policy, "queue policy", partition, snapshot.accounts)
    if key is not None:
        for policy in world.key_policy(key).policies:
            _from_policy(found, policy, "key policy", partition, snapshot.accounts)
    # A service named by one policy with a source ARN, and by the other without, is evaluated with it.
    with_source = {c.principal: c.context for c in found.items.values() if c.kind == "service" and c.context}
    for ident, c in list(found.items.items()):
        if c.kind == "service" and not c.context and c.principal in with_source:
            del found.items[ident]
            found.add(Candidate(c.principal, c.kind, c.label, c.sources, context=with_source[c.principal]))
    return found


# --------------------------------------------------------------------------- evaluation


def _reasons(verdict: Verdict, candidate: Candidate) -> tuple[str, ...]:
    out: list[str] = []
    if candidate.hypothetical:
        out.append(
            "hypothetical: a principal of that account whose identity policy allows "
            f"{verdict.query.action.iam}" + (" and the KMS operations" if verdict.key else "") + " on this queue"
        )
    for step in verdict.steps:
        allows = [
            f"{layer.layer} ({layer.evidence[0]})"
            for layer in step.layers
            if layer.outcome is Outcome.ALLOW and layer.evidence
        ]
        if step.decision is Decision.ALLOWED:
            out.append(f"{step.step}: allowed by " + (", ".join(allows) or "default"))
        elif step.decision is Decision.DENIED:
            blocks = ", ".join(f"{b.layer} ({'explicit deny' if b.explicit else 'no allow'})" for b in step.blocking)
            out.append(f"{step.step}: denied — {blocks}" + ("" if step.reached else " [not reached]"))
        else:
            out.append(f"{step.step}: inconclusive — " + "; ".join(step.unknowns))
    return tuple(out)


def who_can(snapshot: Snapshot, queue_arn: str, action: Action, assumptions: Assumptions | None = None) -> WhoCan:
    assumptions = assumptions or Assumptions()
    queue = require_queue(snapshot, queue_arn)
    enc = encryption_of(queue)
    key = None
    notes: list[str] = []
    if enc.mode == "sse-kms" and enc.key_ref:
        resolution = resolve_key(snapshot, queue, enc.key_ref)
        key = resolution.key
        notes.extend(resolution.notes)
    found = _candidates(snapshot, World(snapshot), queue, key)
    notes.extend(found.notes)

    # Hypothetical principals of the accounts: an identity policy allowing exactly what the call needs.
    world_snap = snapshot
    ops = KMS_OPERATIONS.get(action.base, ()) if key is not None else ()
    statements: list[dict[str, Any]] = [{"Effect": "Allow", "Action": action.iam, "Resource": queue.arn}]
    if ops and key is not None:
        statements.append({"Effect": "Allow", "Action": [f"kms:{op}" for op in ops], "Resource": key.arn})
    document = Document("sqsdiag-who-can", {"Version": "2012-10-17", "Statement": statements})
    for c in found.items.values():
        if c.hypothetical:
            world_snap = with_principal(world_snap, c.principal, "role", (document,))
    world = World(world_snap)

    can: list[Entry] = []
    kms_fails: list[Entry] = []
    inconclusive: list[Entry] = []
    cannot: list[Entry] = []
    for c in found.items.values():
        try:
            verdict = diagnose(world_snap, Query(queue.arn, c.principal, action, c.context), assumptions, world=world)
        except ValueError as err:
            notes.append(f"{c.label}: not evaluated ({err})")
            continue
        entry = Entry(c, verdict, _reasons(verdict, c))
        # Not denied at the SQS step (allowed, or open on an unknown that the reasons name) but denied at KMS:
        # these are the callers who would see KMS.* errors.
        sqs_ok = all(s.decision is not Decision.DENIED for s in verdict.steps if not s.step.startswith("kms:"))
        kms_denied = any(s.decision is Decision.DENIED for s in verdict.steps if s.step.startswith("kms:"))
        if verdict.decision is Decision.ALLOWED:
            can.append(entry)
        elif verdict.decision is Decision.DENIED and sqs_ok and kms_denied:
            kms_fails.append(entry)
        elif verdict.decision is Decision.INCONCLUSIVE:
            inconclusive.append(entry)
        else:
            cannot.append(entry)
    if action.base == "ReceiveMessage" and enc.mode == "sse-kms":
        notes.append(
            "ReceiveMessage calls kms:Decrypt only when messages are returned: on an empty queue even the "
            "KMS-failing principals get an empty answer (S9, UNVERIFIED)"
        )
    return WhoCan(
        queue,
        action,
        enc,
        key,
        tuple(can),
        tuple(kms_fails),
        tuple(inconclusive),
        tuple(cannot),
        tuple(dict.fromkeys(notes)),
    )
