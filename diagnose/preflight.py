"""Pre-flight before sharing a queue: what will break for a consumer or producer, per side, and the
complete least-privilege change set, proven on a copy of the world.

For an *account* (not a specific principal) the question is "some principal of that account whose
identity policy its administrator controls": it is modelled as a hypothetical role of that account
added to a copy of the snapshot, with only the identity statements proposed here. Each action is
decided by :func:`diagnose.verdict.diagnose`; the proposed changes are applied together to a copy of the
snapshot and every action is evaluated again (DESIGN principle 7). A queue on ``alias/aws/sqs`` cannot
serve another account or a service principal (S10, S11): the two ways out — SSE-SQS, or a new customer
managed key — are each proven the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from diagnose.arns import ACCOUNT_RE, parse_arn
from diagnose.authz import Decision, Outcome
from diagnose.authz.model import GRANT, IDENTITY, KEY_POLICY, KEY_STATE, RCP, RESOURCE, SCP, TRANSPORT
from diagnose.edits import normalised, unique_sid
from diagnose.fix import (
    TRADE_OFFS_SSE_SQS,
    Apply,
    Change,
    apply_changes,
    key_state_changes,
    new_key_changes,
    replace_key,
    replace_principal,
    set_queue_attributes,
    sid,
    sse_sqs_change,
    with_statement,
)
from diagnose.snapshot import Document, Key, Principal, Queue, Snapshot
from diagnose.sqs import KMS_OPERATIONS, Action, Encryption, encryption_of, parse_action
from diagnose.verdict import Assumptions, Query, Verdict, diagnose, require_queue
from diagnose.world import SERVICE_RE, World

CONSUMER_ACTIONS = ("ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes")
PRODUCER_ACTIONS = ("SendMessage",)

Role = Literal["consumer", "producer"]
Status = Literal["works", "changes-needed", "blocked", "inconclusive"]
EXIT_CODES: dict[str, int] = {"works": 0, "changes-needed": 1, "blocked": 1, "inconclusive": 3}

_QUEUE_SIDE = {RESOURCE, RCP}
_KEY_SIDE = {KEY_POLICY, GRANT, RCP, KEY_STATE}


# --------------------------------------------------------------------------- the subject


@dataclass(frozen=True)
class Subject:
    """Who the queue is shared with, and how it is evaluated."""

    given: str
    role: Role
    kind: Literal["account", "principal", "service"]
    account: str | None  # the account it belongs to (for a service: the source's account, if known)
    evaluated_as: str  # what ``diagnose`` is asked about
    principal_entry: dict[str, str]  # the narrowest Principal element naming it
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    source_arn: str | None = None

    @property
    def side(self) -> str:
        """The side that applies identity-side changes: its account, or the service itself."""
        return self.given if self.kind == "service" or self.account is None else self.account

    @property
    def hypothetical(self) -> bool:
        return self.kind == "account"


def hypothetical_role_arn(account: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:role/{name}"


def with_principal(snapshot: Snapshot, arn: str, ptype: str, policies: tuple[Document, ...] = ()) -> Snapshot:
    """A copy of the snapshot with a principal added (unknown tags: conditions on them stay open)."""
    return replace_principal(snapshot, Principal(arn=arn, type=ptype, policies=policies, tags=None))


def subject_of(text: str, role: Role, source_arn: str | None, partition: str = "aws") -> Subject:
    """``--consumer``/``--producer``: an account id or root ARN, a principal ARN, or (producer) a service."""
    text = text.strip()
    option = f"--{role}"
    if SERVICE_RE.match(text):
        if role == "consumer":
            raise ValueError(
                f"{option} {text!r}: a service principal delivers messages; use --producer "
                "(a service consumer such as Lambda reads as its execution role: give that role's ARN)"
            )
        context: dict[str, tuple[str, ...]] = {}
        account = None
        if source_arn:
            src = parse_arn(source_arn, "--source-arn")
            context["aws:sourcearn"] = (source_arn,)
            if ACCOUNT_RE.match(src.account):
                account = src.account
                context["aws:sourceaccount"] = (src.account,)
        return Subject(text, role, "service", account, text, {"Service": text}, context, source_arn)
    if source_arn:
        raise ValueError("--source-arn applies only to a service principal producer (e.g. sns.amazonaws.com)")
    if ACCOUNT_RE.match(text):
        text = f"arn:{partition}:iam::{text}:root"
    try:
        arn = parse_arn(text, option)
    except ValueError:
        raise ValueError(
            f"{option} {text!r} is not an account id, a root, role, user or assumed-role ARN"
            + (", or a service principal such as sns.amazonaws.com" if role == "producer" else "")
        ) from None
    if arn.service == "iam" and arn.resource == "root":
        evaluated = hypothetical_role_arn(arn.account, f"preflight-{role}", arn.partition)
        return Subject(text, role, "account", arn.account, evaluated, {"AWS": text})
    if arn.service == "iam" and (arn.resource.startswith("role/") or arn.resource.startswith("user/")):
        return Subject(text, role, "principal", arn.account, text, {"AWS": text})
    if arn.service == "sts" and arn.resource.startswith("assumed-role/") and len(arn.resource.split("/")) == 3:
        role_arn = f"arn:{arn.partition}:iam::{arn.account}:role/{arn.resource.split('/')[1]}"
        return Subject(text, role, "principal", arn.account, text, {"AWS": role_arn})
    raise ValueError(f"{option} {text!r}: expected an account id, or a root, role, user or assumed-role ARN")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Check:
    """One layer's result on one side, over the steps and actions where it is the same."""

    side: str
    layer: str
    result: Literal["pass", "fail", "unknown"]
    steps: tuple[str, ...]  # e.g. ("sqs:ReceiveMessage", "sqs:DeleteMessage") or ("kms:Decrypt",)
    actions: tuple[str, ...]  # the SQS actions whose evaluation showed it
    evidence: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "result": self.result,
            "steps": list(self.steps),
            "actions": list(self.actions),
            "evidence": list(self.evidence),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Side:
    account: str  # account id, or the service principal
    roles: tuple[str, ...]  # "queue owner", "key owner", "consumer" / "producer"
    checks: tuple[Check, ...]
    changes: tuple[Change, ...]

    def by_result(self, result: str) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.result == result)

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "roles": list(self.roles),
            "passed": [c.to_json() for c in self.by_result("pass")],
            "failed": [c.to_json() for c in self.by_result("fail")],
            "unknown": [c.to_json() for c in self.by_result("unknown")],
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass(frozen=True)
class ChangeSet:
    title: str
    changes: tuple[Change, ...]
    verified: bool  # every action is allowed once all the changes are applied to a copy
    after: tuple[tuple[str, str], ...]  # (action, decision after the changes)
    unfixable: tuple[str, ...] = ()
    trade_offs: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def inconclusive(self) -> bool:
        return any(d == Decision.INCONCLUSIVE.value for _, d in self.after)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "verified": self.verified,
            "after": [{"action": a, "decision": d} for a, d in self.after],
            "changes": [c.to_json() for c in self.changes],
            "unfixable": list(self.unfixable),
            "trade_offs": list(self.trade_offs),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Preflight:
    status: Status
    queue: Queue
    encryption: Encryption
    key: Key | None
    subject: Subject
    actions: tuple[Action, ...]
    before: tuple[Verdict, ...]
    sides: tuple[Side, ...]
    change_set: ChangeSet | None  # None: works as is, or cannot work as is (see ``cannot_work``)
    alternatives: tuple[ChangeSet, ...]
    cannot_work: str | None
    encryption_notes: tuple[str, ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def verified(self) -> ChangeSet | None:
        """The first change set proven to make every action succeed."""
        sets = ((self.change_set,) if self.change_set else ()) + self.alternatives
        return next((s for s in sets if s.verified), None)


# --------------------------------------------------------------------------- needs


@dataclass
class _Needs:
    """What the failing layers need, accumulated over rounds of evaluation."""

    queue_actions: set[str] = field(default_factory=set)
    identity_sqs: set[str] = field(default_factory=set)
    key_ops: dict[str, set[str]] = field(default_factory=dict)  # key ARN -> kms:Op
    identity_kms: dict[str, set[str]] = field(default_factory=dict)
    key_state: dict[str, Key] = field(default_factory=dict)
    managed_key: Key | None = None
    unfixable: dict[str, None] = field(default_factory=dict)

    def signature(self) -> tuple[Any, ...]:
        return (
            frozenset(self.queue_actions),
            frozenset(self.identity_sqs),
            frozenset((k, frozenset(v)) for k, v in self.key_ops.items()),
            frozenset((k, frozenset(v)) for k, v in self.identity_kms.items()),
            frozenset(self.key_state),
            self.managed_key is not None,
            frozenset(self.unfixable),
        )


def _gather(needs: _Needs, verdicts: list[Verdict], subject: Subject) -> None:
    for verdict in verdicts:
        key = verdict.key.key if verdict.key else None
        for entry in verdict.blocking:
            step, block = entry.step, entry.block
            kms = step.startswith("kms:")
            evidence = "; ".join(str(e) for e in block.evidence) or block.note
            if block.explicit and block.layer not in (KEY_STATE, TRANSPORT):
                needs.unfixable[
                    f"{step}: explicit deny in the {block.layer} ({evidence}): narrow or remove that statement; "
                    "no allow can override it (E1)"
                ] = None
            elif block.layer == RESOURCE and not kms:
                needs.queue_actions.add(step)
            elif block.layer == IDENTITY and subject.kind != "service":
                if kms and key is not None:
                    needs.identity_kms.setdefault(key.arn, set()).add(step)
                elif not kms:
                    needs.identity_sqs.add(step)
            elif block.layer == KEY_POLICY and key is not None:
                if key.manager == "AWS":
                    needs.managed_key = key
                elif key.policy is None:
                    needs.unfixable[
                        f"{step}: the key policy of {key.arn} was not read, so no change to it can be proven"
                    ] = None
                else:
                    needs.key_ops.setdefault(key.arn, set()).add(step)
            elif block.layer == KEY_STATE and key is not None:
                needs.key_state[key.arn] = key
            else:
                who = {SCP: "the organization (SCP)", RCP: "the organization (RCP)"}.get(block.layer, "its owner")
                needs.unfixable[
                    f"{step}: the {block.layer} does not allow it ({evidence}); {who} must allow it — "
                    "no statement is proposed for this layer"
                ] = None


# --------------------------------------------------------------------------- statements


def _one(actions: set[str]) -> str | list[str]:
    ordered = sorted(actions)
    return ordered[0] if len(ordered) == 1 else ordered


def _statements(document: Any) -> list[dict[str, Any]]:
    if document is None:
        return []
    return [st for st in normalised(document)["Statement"] if isinstance(st, dict)]


def _service_condition(subject: Subject) -> dict[str, Any] | None:
    if subject.source_arn:
        return {"ArnEquals": {"aws:SourceArn": subject.source_arn}}  # Q6, S12: confused-deputy scoping
    if subject.account:
        return {"StringEquals": {"aws:SourceAccount": subject.account}}
    return None


def _queue_change(ref: Snapshot, queue_arn: str, subject: Subject, actions: set[str]) -> tuple[Change, Apply]:
    queue = ref.queue(queue_arn)
    assert queue is not None
    current = queue.attributes.get("Policy") or None
    statement: dict[str, Any] = {
        "Sid": unique_sid(current, sid("sqsdiag", subject.role, "access")),
        "Effect": "Allow",
        "Principal": dict(subject.principal_entry),
        "Action": _one(actions),
        "Resource": queue.arn,
    }
    if subject.kind == "service" and (condition := _service_condition(subject)):
        statement["Condition"] = condition
    after = with_statement(current, statement)
    if current is None:
        after = {"Version": after["Version"], "Id": f"{queue.arn}/SQSDefaultPolicy", "Statement": after["Statement"]}

    def apply(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
        return set_queue_attributes(snap, queue_arn, {"Policy": json.dumps(after)}), query

    who = "the service" if subject.kind == "service" else f"the {subject.role}"
    return (
        Change(
            RESOURCE,
            queue.account,
            f"queue policy of {queue.arn}",
            "add-statement" if current else "new-policy",
            f"allow {who} {', '.join(sorted(actions))} on this queue only",
            statement,
            after,
            queue.arn,
        ),
        apply,
    )


def _key_change(ref: Snapshot, key_arn: str, subject: Subject, ops: set[str], region: str) -> tuple[Change, Apply]:
    key = ref.key(key_arn)
    assert key is not None and key.policy is not None
    service = subject.kind == "service"
    statement: dict[str, Any] = {
        "Sid": unique_sid(key.policy, sid("sqsdiag", subject.role, "useKey", "" if service else "viaSqs")),
        "Effect": "Allow",
        "Principal": dict(subject.principal_entry),
        "Action": _one(ops),
        "Resource": "*",
    }
    if subject.kind == "service":
        if condition := _service_condition(subject):
            statement["Condition"] = condition
    else:
        statement["Condition"] = {"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}}
    after = with_statement(key.policy, statement)

    def apply(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
        current = snap.key(key_arn)
        assert current is not None
        return replace_key(snap, replace(current, policy=after)), query

    return (
        Change(
            KEY_POLICY,
            key.account,
            f"key policy of {key.arn}",
            "add-statement",
            f"allow {', '.join(sorted(ops))} on this key"
            + (" for the service" if subject.kind == "service" else " only through SQS (kms:ViaService)"),
            statement,
            after,
            key.arn,
        ),
        apply,
    )


def _identity_change(
    subject: Subject, principal_arn: str, queue: Queue, sqs_actions: set[str], kms: dict[str, set[str]]
) -> tuple[Change, Apply]:
    statements: list[dict[str, Any]] = []
    if sqs_actions:
        statements.append(
            {"Sid": "SqsdiagQueueAccess", "Effect": "Allow", "Action": _one(sqs_actions), "Resource": queue.arn}
        )
    for n, (key_arn, ops) in enumerate(sorted(kms.items())):
        statements.append(
            {
                "Sid": "SqsdiagKeyViaSqs" + (str(n + 1) if n else ""),
                "Effect": "Allow",
                "Action": _one(ops),
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{queue.region}.amazonaws.com"}},
            }
        )
    name = f"sqsdiag-{subject.role}-{queue.name}"[:128]
    document = {"Version": "2012-10-17", "Statement": statements}
    if subject.hypothetical:
        target = (
            f"a new identity policy {name!r} on each role or user of {subject.account} that will "
            f"{'receive from' if subject.role == 'consumer' else 'send to'} the queue "
            f"(modelled here as {principal_arn})"
        )
    else:
        target = f"new inline policy {name!r} on {principal_arn}"

    def apply(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
        principal = snap.principal(principal_arn)
        if principal is None or principal.policies is None:
            return snap, query  # not in the snapshot: the change cannot be proven
        doc = Document(name=name, document=document, source="inline")
        return replace_principal(snap, replace(principal, policies=(*principal.policies, doc))), query

    parts = []
    if sqs_actions:
        parts.append(f"{', '.join(sorted(sqs_actions))} on the queue")
    if kms:
        ops_text = ", ".join(sorted({op for ops in kms.values() for op in ops}))
        parts.append(f"{ops_text} on the key, only through SQS")
    cross = any(a != subject.account for a in (queue.account, *(parse_arn(k).account for k in kms)))
    why = " (cross-account: the caller's own account must allow it too, E5/K3)" if cross else ""
    return (
        Change(
            IDENTITY,
            subject.account,
            target,
            "new-policy",
            f"allow {' and '.join(parts)}{why}",
            None,
            document,
            principal_arn,
        ),
        apply,
    )


# --------------------------------------------------------------------------- solving


def _principal_arn(subject: Subject, world: World) -> str | None:
    """The IAM principal whose identity policy is edited (a session's role)."""
    if subject.kind == "service":
        return None
    caller, principal = world.caller(subject.evaluated_as)
    return principal.arn if principal is not None else caller.principal_arn


def _verdicts(
    snap: Snapshot, queue_arn: str, subject: Subject, actions: tuple[Action, ...], assumptions: Assumptions
) -> list[Verdict]:
    world = World(snap)
    return [
        diagnose(snap, Query(queue_arn, subject.evaluated_as, action, subject.context), assumptions, world=world)
        for action in actions
    ]


def _build(
    ref: Snapshot, queue_arn: str, subject: Subject, needs: _Needs, principal_arn: str | None
) -> list[tuple[Change, Apply]]:
    queue = ref.queue(queue_arn)
    assert queue is not None
    out: list[tuple[Change, Apply]] = []
    if needs.queue_actions:
        out.append(_queue_change(ref, queue_arn, subject, needs.queue_actions))
    for key_arn, ops in sorted(needs.key_ops.items()):
        if ref.key(key_arn) is not None:
            out.append(_key_change(ref, key_arn, subject, ops, queue.region))
    for key in needs.key_state.values():
        out.extend(key_state_changes(key))
    if (needs.identity_sqs or needs.identity_kms) and principal_arn is not None:
        out.append(_identity_change(subject, principal_arn, queue, needs.identity_sqs, needs.identity_kms))
    return out


def _solve(
    model: Snapshot,
    queue_arn: str,
    subject: Subject,
    actions: tuple[Action, ...],
    assumptions: Assumptions,
    prefix: list[tuple[Change, Apply]],
) -> tuple[list[tuple[Change, Apply]], _Needs]:
    """Rounds of evaluate → gather what blocks → propose, on ``model``, until nothing new is needed."""
    query = Query(queue_arn, subject.evaluated_as, actions[0], subject.context)
    ref, _ = apply_changes(model, query, prefix)
    principal_arn = _principal_arn(subject, World(ref))
    needs = _Needs()
    changes = list(prefix)
    for _ in range(5):
        snap, _ = apply_changes(model, query, changes)
        before = needs.signature()
        _gather(needs, _verdicts(snap, queue_arn, subject, actions, assumptions), subject)
        if needs.signature() == before:
            break
        changes = prefix + _build(ref, queue_arn, subject, needs, principal_arn)
    return changes, needs


def _verify(
    base: Snapshot,
    queue_arn: str,
    subject: Subject,
    actions: tuple[Action, ...],
    assumptions: Assumptions,
    changes: list[tuple[Change, Apply]],
) -> tuple[bool, tuple[tuple[str, str], ...]]:
    query = Query(queue_arn, subject.evaluated_as, actions[0], subject.context)
    snap, _ = apply_changes(base, query, changes)
    after = _verdicts(snap, queue_arn, subject, actions, assumptions)
    decisions = tuple((v.query.action.api, v.decision.value) for v in after)
    return all(v.decision is Decision.ALLOWED for v in after), decisions


# --------------------------------------------------------------------------- encryption ways out


def _reuse_text(seconds: int) -> str:
    return (
        f"KmsDataKeyReusePeriodSeconds={seconds}: SQS reuses a data key for up to {seconds} s per requester "
        "(each account, user, role and distinct session policy has its own: S4, S7). Longer means fewer KMS "
        "requests (lower cost, fewer CloudTrail events) but a revocation in the key policy or IAM takes up to "
        f"that long, plus propagation, to stop a caller holding a cached data key (EC5); range 60-86400, "
        "default 300"
    )


def _trade_offs_cmk(seconds: int) -> tuple[str, ...]:
    return (
        "customer managed key: two layers of access control (queue policy and key policy), and every "
        "GenerateDataKey/Decrypt is a KMS CloudTrail event with the queue ARN in its encryption context "
        "(aws:sqs:arn): you can audit who decrypted",
        "customer managed key: a monthly key charge plus KMS requests, which scale with the number of "
        "distinct producers and consumers and shrink with a longer data-key reuse period",
        _reuse_text(seconds),
    )


def _sse_sqs(queue: Queue) -> tuple[Change, Apply]:
    change, apply = sse_sqs_change(queue)
    return replace(change, resource=queue.arn), apply


# --------------------------------------------------------------------------- sides, warnings


def _side_of(layer: str, step: str, queue: Queue, key_account: str | None, subject: Subject) -> str:
    if step.startswith("kms:"):
        if layer in _KEY_SIDE and key_account:
            return key_account
        return subject.side or "?"
    if layer in _QUEUE_SIDE:
        return queue.account
    return subject.side or "?"


def _checks(verdicts: tuple[Verdict, ...], queue: Queue, key: Key | None, subject: Subject) -> dict[str, list[Check]]:
    """Layer results per side, grouped by (layer, result, SQS or the KMS operation)."""
    groups: dict[tuple[str, str, str, str], dict[str, dict[str, None]]] = {}
    for verdict in verdicts:
        for step in verdict.steps:
            blocking = {b.layer: b.note for b in step.blocking}
            for layer in step.layers:
                if layer.outcome is Outcome.NOT_APPLICABLE:
                    continue
                if layer.outcome is Outcome.ALLOW:
                    result = "pass"
                elif layer.outcome is Outcome.UNKNOWN:
                    result = "unknown"
                elif layer.layer in blocking:
                    result = "fail"
                else:
                    continue  # denies nothing by itself: another layer grants (E3)
                evidence = [str(e) for e in layer.evidence[:3]]
                if result == "unknown":
                    evidence += [r.describe() for r in layer.residuals]
                    evidence += [f"could not read {u}" for u in layer.unreadable]
                side = _side_of(layer.layer, step.step, queue, key.account if key else None, subject)
                kind = "sqs" if step.step.startswith("sqs:") else step.step
                group = groups.setdefault(
                    (side, layer.layer, result, kind), {"steps": {}, "actions": {}, "evidence": {}, "notes": {}}
                )
                group["steps"][step.step] = None
                group["actions"][verdict.query.action.api] = None
                group["evidence"].update(dict.fromkeys(evidence))
                if result == "fail" and blocking[layer.layer]:
                    group["notes"][blocking[layer.layer]] = None
    out: dict[str, list[Check]] = {}
    for (side, layer_name, result, _), parts in groups.items():
        out.setdefault(side, []).append(
            Check(
                side,
                layer_name,
                result,  # type: ignore[arg-type]
                tuple(parts["steps"]),
                tuple(parts["actions"]),
                tuple(parts["evidence"]),
                tuple(parts["notes"]),
            )
        )
    return out


def _sides(
    verdicts: tuple[Verdict, ...],
    queue: Queue,
    key: Key | None,
    subject: Subject,
    changes: tuple[Change, ...],
) -> tuple[Side, ...]:
    roles: dict[str, list[str]] = {queue.account: ["queue owner"]}
    if key is not None:
        roles.setdefault(key.account, []).append("key owner")
    roles.setdefault(subject.side or "?", []).append(subject.role)
    checks = _checks(verdicts, queue, key, subject)
    for side in checks:
        roles.setdefault(side, [])
    return tuple(
        Side(
            account,
            tuple(r),
            tuple(checks.get(account, [])),
            tuple(c for c in changes if (c.account or subject.side) == account),
        )
        for account, r in roles.items()
    )


def _is_star(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        aws = principal.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


def _actions(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Action", [])
    return [value] if isinstance(value, str) else [a for a in value if isinstance(a, str)]


def _label(statement: dict[str, Any], index: int) -> str:
    return f"Sid {statement['Sid']!r}" if statement.get("Sid") else f"Statement[{index}]"


def broad_statements(queue: Queue, key: Key | None, principal: Principal | None) -> list[str]:
    """Existing Allow statements broader than the share needs; warnings only, never a verdict change."""
    out: list[str] = []
    for i, st in enumerate(_statements(queue.attributes.get("Policy") or None)):
        if st.get("Effect") != "Allow":
            continue
        where = f"queue policy of {queue.name}, {_label(st, i)}"
        if _is_star(st.get("Principal")) and not st.get("Condition"):
            out.append(f'{where}: Principal "*" without conditions opens the queue to anyone, even unsigned calls (E6)')
        if any(a.lower() in ("sqs:*", "*") for a in _actions(st)):
            out.append(f"{where}: grants every SQS action (sqs:*); name the actions the share needs")
    if key is not None and key.manager != "AWS":
        root = f"arn:{parse_arn(key.arn).partition}:iam::{key.account}:root"
        for i, st in enumerate(_statements(key.policy)):
            if st.get("Effect") != "Allow":
                continue
            where = f"key policy of {key.arn}, {_label(st, i)}"
            if _is_star(st.get("Principal")) and not st.get("Condition"):
                out.append(f'{where}: Principal "*" without conditions lets any principal use the key')
            enables_iam = st.get("Principal") in ({"AWS": root}, {"AWS": key.account})
            if any(a.lower() in ("kms:*", "*") for a in _actions(st)) and not enables_iam:
                out.append(f"{where}: grants every KMS action (kms:*) beyond the key account's own root")
    if principal is not None:
        for doc in principal.policies or ():
            for i, st in enumerate(_statements(doc.document)):
                if st.get("Effect") != "Allow":
                    continue
                where = f"identity policy {doc.name!r} of {principal.arn}, {_label(st, i)}"
                acts = [a.lower() for a in _actions(st)]
                if "*" in acts:
                    out.append(f'{where}: Action "*" allows every action')
                if "sqs:*" in acts:
                    out.append(f"{where}: sqs:* allows every SQS action")
                if "kms:*" in acts:
                    out.append(f"{where}: kms:* allows every KMS action")
                resources = st.get("Resource", [])
                resources = [resources] if isinstance(resources, str) else resources
                if "*" in resources and any(a.startswith("sqs:") or a == "*" for a in acts):
                    out.append(f'{where}: Resource "*" for SQS actions covers every queue; name the queue ARN')
    return out


# --------------------------------------------------------------------------- the whole pre-flight


def preflight(
    snapshot: Snapshot,
    queue_arn: str,
    subject: Subject,
    actions: tuple[Action, ...] | None = None,
    assumptions: Assumptions | None = None,
) -> Preflight:
    assumptions = assumptions or Assumptions()
    queue = require_queue(snapshot, queue_arn)
    if actions is None:
        actions = tuple(parse_action(a) for a in (CONSUMER_ACTIONS if subject.role == "consumer" else PRODUCER_ACTIONS))
    if not actions:
        raise ValueError("--actions: give at least one SQS action")

    # The world as it is (with the hypothetical principal of an account), and the model the needs are
    # computed on: a principal absent from the snapshot is modelled there with no identity policy.
    base = snapshot
    if subject.hypothetical:
        base = with_principal(base, subject.evaluated_as, "role")
    world = World(base)
    caller, principal = world.caller(subject.evaluated_as)
    if (
        subject.kind == "principal"
        and caller.principal_arn
        and subject.principal_entry.get("AWS") != caller.principal_arn
    ):
        # P3: a session ARN drops the role's path; policies must name the role ARN with it, as the snapshot has it.
        subject = replace(subject, principal_entry={"AWS": caller.principal_arn})
    model = base
    notes: list[str] = []
    if subject.kind == "principal" and principal is None:
        ref = caller.principal_arn or subject.evaluated_as
        model = with_principal(base, ref, "user" if ":user/" in ref else "role")
        notes.append(
            f"the identity policies of {ref} are not in the snapshot: the identity statements below are what it "
            "needs at least; collect it (sqsdiag collect --principal ...) to prove the change set"
        )
    if subject.hypothetical:
        notes.append(
            f"{subject.account} is evaluated as some role of that account whose identity policy its administrator "
            f"controls (modelled as {subject.evaluated_as}, with only the statements proposed here)"
        )

    before = tuple(_verdicts(base, queue_arn, subject, actions, assumptions))
    enc = encryption_of(queue)
    key = next((v.key.key for v in before if v.key and v.key.key), None)
    warnings = broad_statements(queue, key, principal)
    if subject.kind == "service" and not subject.source_arn:
        warnings.append(
            "no --source-arn: the statements cannot be scoped to the sending resource (confused deputy, Q6/S12); "
            "give the topic, bucket or rule ARN"
        )
    for v in before:
        if v.key is not None:
            notes.extend(v.key.notes)
    if subject.kind == "service":
        notes.append(
            f"{subject.given} delivers on its own: a failure shows in its delivery logs/metrics, never as an error "
            "to the publisher (X8)"
        )

    change_set: ChangeSet | None = None
    alternatives: list[ChangeSet] = []
    cannot_work: str | None = None
    encryption_notes: list[str] = []
    works = all(v.decision is Decision.ALLOWED for v in before)

    if enc.mode == "sse-kms":
        encryption_notes.append(_reuse_text(enc.reuse_seconds))
    elif enc.mode == "sse-sqs":
        encryption_notes.append("SSE-SQS: no KMS call and no KMS permission is involved (S1)")

    if not works:
        changes, needs = _solve(model, queue_arn, subject, actions, assumptions, [])
        if needs.managed_key is not None:
            managed = needs.managed_key
            cannot_work = (
                f"the queue is encrypted with the AWS managed key alias/aws/sqs ({managed.arn}): its key policy "
                f"admits only principals of {managed.account} calling through SQS (kms:CallerAccount="
                f"{managed.account}, kms:ViaService=sqs.{managed.region}.amazonaws.com) and cannot be changed, so "
                f"no statement can open it to {subject.given} (S10, S11)"
            )
            alternatives.extend(_ways_out(base, model, queue, subject, actions, assumptions, enc.reuse_seconds))
        elif changes or needs.unfixable:
            ok, after = _verify(base, queue_arn, subject, actions, assumptions, changes) if changes else (False, ())
            if not changes:
                after = tuple((v.query.action.api, v.decision.value) for v in before)
            change_set = ChangeSet(
                "apply all of these changes", tuple(c for c, _ in changes), ok, after, tuple(needs.unfixable)
            )

    status = _status(works, before, change_set, alternatives)
    sides = _sides(before, queue, key, subject, change_set.changes if change_set else ())
    return Preflight(
        status,
        queue,
        enc,
        key,
        subject,
        actions,
        before,
        sides,
        change_set,
        tuple(alternatives),
        cannot_work,
        tuple(encryption_notes),
        tuple(dict.fromkeys(warnings)),
        tuple(dict.fromkeys(notes)),
    )


def _ways_out(
    base: Snapshot,
    model: Snapshot,
    queue: Queue,
    subject: Subject,
    actions: tuple[Action, ...],
    assumptions: Assumptions,
    reuse_seconds: int,
) -> list[ChangeSet]:
    drain = (
        "messages already in the queue stay encrypted under alias/aws/sqs and only principals of "
        f"{queue.account} can read them: drain them before the other side starts reading (S8)"
    )
    out: list[ChangeSet] = []
    ways: list[tuple[str, list[tuple[Change, Apply]], tuple[str, ...], tuple[str, ...]]] = [
        (
            "move the queue to SSE-SQS",
            [_sse_sqs(queue)],
            (
                *TRADE_OFFS_SSE_SQS,
                "SSE-SQS: no KMS request cost and no data-key reuse period: access ends as soon as the queue "
                "policy or IAM change propagates",
            ),
            (drain,),
        ),
        (
            "re-encrypt with a new customer managed key",
            new_key_changes(queue),
            _trade_offs_cmk(reuse_seconds),
            (
                drain,
                f"with IAM enabled on the new key, principals of {queue.account} that used alias/aws/sqs without "
                "any KMS permission now need kms:GenerateDataKey/kms:Decrypt on the new key ARN in their "
                "identity policies (K1, K2)",
            ),
        ),
    ]
    for title, prefix, trade_offs, notes in ways:
        changes, needs = _solve(model, queue.arn, subject, actions, assumptions, prefix)
        ok, after = _verify(base, queue.arn, subject, actions, assumptions, changes)
        out.append(ChangeSet(title, tuple(c for c, _ in changes), ok, after, tuple(needs.unfixable), trade_offs, notes))
    return out


def _status(
    works: bool, before: tuple[Verdict, ...], change_set: ChangeSet | None, alternatives: list[ChangeSet]
) -> Status:
    if works:
        return "works"
    sets = ([change_set] if change_set else []) + alternatives
    if any(s.verified for s in sets):
        return "changes-needed"
    if any(v.decision is Decision.INCONCLUSIVE for v in before) or any(s.inconclusive for s in sets):
        return "inconclusive"
    return "blocked"


def kms_operations(action: Action) -> tuple[str, ...]:
    """S5: the KMS operations SQS performs as the caller for this action."""
    return KMS_OPERATIONS.get(action.base, ())
