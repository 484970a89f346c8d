"""Pre-flight on infrastructure code: every wire and cross-account grant a template or plan declares, checked
end to end on the planned world (laid over what exists), each through ``diagnose.preflight`` — the same decider
and remedy engine as every other command — with its fixes said as changes to the code.

A wire is asked as the principal AWS uses for it (I5-I8): a service principal with ``aws:SourceArn`` (and
``aws:SourceAccount``) for SNS, S3 and EventBridge deliveries; the execution role for a Lambda event source
mapping or a pipe. A grant is a principal of another account that a planned queue policy allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Literal

from diagnose.arns import ACCOUNT_RE, parse_arn
from diagnose.docref import IdentityPolicy, KeyPolicy, QueueAttributes, QueuePolicy
from diagnose.preflight import EXIT_CODES, Preflight, Status, preflight
from diagnose.remedy import Change
from diagnose.snapshot import Snapshot
from diagnose.sources.planned import Origin, Planned, Wire, WireKind, overlay
from diagnose.sqs import Action, parse_action
from diagnose.subject import Subject, subject_of
from diagnose.verdict import Assumptions
from diagnose.world import SERVICE_RE

# What a consumer service needs on its queue (Lambda: "Configuring permissions" for SQS event sources; Pipes:
# "Amazon SQS as a source"): receive, delete and read attributes, plus the KMS calls they imply (I7).
SERVICE_CONSUMER_ACTIONS = ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes")


class CheckKind(str, Enum):
    WIRE = "wire"
    GRANT = "grant"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class CodeChange:
    """A proposed change said in the code's terms: which declared resource and property to edit."""

    change: Change
    origin: Origin | None  # None: the document is not declared in the code (change it where it lives)
    property: str | None  # e.g. "KeyPolicy", "PolicyDocument", "Policies", "policy"


@dataclass(frozen=True)
class CodeCheck:
    kind: CheckKind
    wire: WireKind | None
    origin: Origin
    queue: str
    subject: str
    result: Preflight | None  # None: not evaluable (``reason`` says why)
    reason: str | None
    changes: tuple[CodeChange, ...]

    @property
    def status(self) -> Status:
        return self.result.status if self.result is not None else "inconclusive"


@dataclass(frozen=True)
class CodePreflight:
    planned: Planned
    checks: tuple[CodeCheck, ...]
    notes: tuple[str, ...]

    @property
    def status(self) -> Status:
        statuses = {c.status for c in self.checks}
        worst: Status
        for worst in ("blocked", "changes-needed", "inconclusive"):
            if worst in statuses:
                return worst
        return "works"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]


def check_code(base: Snapshot, planned: Planned, assumptions: Assumptions | None = None) -> CodePreflight:
    world = overlay(base, planned)
    checks: list[CodeCheck] = []
    asked: set[tuple[str, str]] = set()
    for wire in planned.wires:
        if wire.kind is WireKind.DEAD_LETTER:
            continue  # SQS moves messages to a dead-letter queue itself; its readers are checked as its wires
        subject, asks = _wire_question(wire, planned)
        asked.add((wire.queue, wire.principal))
        checks.append(
            _check(world, planned, CheckKind.WIRE, wire.kind, wire.origin, wire.queue, subject, asks, assumptions)
        )
    for queue_arn, document in planned.queue_policies.items():
        for principal, actions, origin in grants(queue_arn, document, planned):
            if (queue_arn, principal) in asked:
                continue
            asked.add((queue_arn, principal))
            role: Literal["consumer", "producer"] = "producer" if actions == ("SendMessage",) else "consumer"
            subject = subject_of(principal, role, None, parse_arn(queue_arn).partition)
            parsed = tuple(parse_action(a) for a in actions)
            checks.append(
                _check(world, planned, CheckKind.GRANT, None, origin, queue_arn, subject, parsed, assumptions)
            )
    notes = list(planned.notes)
    if any(w.kind is WireKind.S3_NOTIFICATION for w in planned.wires):
        notes.append(
            "S3 sends a test message when the notification is created: a denied delivery fails the deployment "
            "with 'Unable to validate the following destination configurations' (I6)"
        )
    return CodePreflight(planned, tuple(checks), tuple(dict.fromkeys(notes)))


def _wire_question(wire: Wire, planned: Planned) -> tuple[Subject, tuple[Action, ...]]:
    partition = parse_arn(wire.queue).partition
    role: Literal["consumer", "producer"] = "consumer" if wire.consumes else "producer"
    if SERVICE_RE.match(wire.principal):
        subject = subject_of(wire.principal, role, wire.source, partition)
        if wire.kind is WireKind.S3_NOTIFICATION and subject.account is None and planned.account:
            # a bucket ARN has no account: S3 sends aws:SourceAccount, the bucket owner's account (I6)
            context = dict(subject.context) | {"aws:sourceaccount": (planned.account,)}
            subject = replace(subject, account=planned.account, context=context)
    else:
        subject = subject_of(wire.principal, role, None, partition)
    names = SERVICE_CONSUMER_ACTIONS if wire.consumes else ("SendMessage",)
    return subject, tuple(parse_action(a) for a in names)


def _check(
    world: Snapshot,
    planned: Planned,
    kind: CheckKind,
    wire: WireKind | None,
    origin: Origin,
    queue: str,
    subject: Subject,
    actions: tuple[Action, ...],
    assumptions: Assumptions | None,
) -> CodeCheck:
    if world.queue(queue) is None:
        gaps = [g for g in world.gaps if g.resource == queue]
        reason = (
            f"the queue {queue}: {gaps[0].message}"
            if gaps
            else f"the queue {queue} is declared neither in the code nor in the snapshot"
        )
        return CodeCheck(kind, wire, origin, queue, subject.given, None, reason, ())
    result = preflight(world, queue, subject, actions, assumptions=assumptions)
    sets = [s for s in (result.verified, result.change_set) if s is not None]
    changes = sets[0].changes if sets else ()
    in_code = tuple(_in_code(c, planned) for c in changes)
    return CodeCheck(kind, wire, origin, queue, subject.given, result, None, in_code)


_PROPERTY = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SQS::QueueInlinePolicy": "PolicyDocument",
    "AWS::IAM::Role": "Policies",
    "AWS::IAM::ManagedPolicy": "PolicyDocument",
    "AWS::IAM::Policy": "PolicyDocument",
    "AWS::IAM::RolePolicy": "PolicyDocument",
    "aws_kms_key": "policy",
    "aws_sqs_queue_policy": "policy",
    "aws_sqs_queue": "policy",
    "aws_iam_role": "inline_policy",
    "aws_iam_role_policy": "policy",
    "aws_iam_policy": "policy",
}


def _in_code(change: Change, planned: Planned) -> CodeChange:
    ref = change.ref
    if isinstance(ref, QueueAttributes):
        origin = planned.origins.get(ref.queue)
        return CodeChange(change, origin, "encryption properties" if origin else None)
    origin = planned.origin_of(ref if isinstance(ref, (QueuePolicy, KeyPolicy, IdentityPolicy)) else None)
    if origin is None:
        return CodeChange(change, None, None)
    prop = _PROPERTY.get(origin.type)
    if origin.type == "AWS::SQS::Queue":
        prop = None  # no queue policy resource yet: the statement goes into a new AWS::SQS::QueuePolicy
    return CodeChange(change, origin, prop)


def grants(queue_arn: str, document: Any, planned: Planned) -> list[tuple[str, tuple[str, ...], Origin]]:
    """Principals of other accounts (and services) that a planned queue policy allows, with the actions."""
    if not isinstance(document, Mapping):
        return []
    origin = planned.documents.get(QueuePolicy(queue_arn)) or planned.origins.get(queue_arn)
    if origin is None:
        return []
    owner = parse_arn(queue_arn).account
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    out: list[tuple[str, tuple[str, ...], Origin]] = []
    for st in statements:
        if not isinstance(st, Mapping) or st.get("Effect") != "Allow" or not isinstance(st.get("Principal"), Mapping):
            continue
        actions = _share_actions(st.get("Action"))
        if not actions:
            continue
        aws = st["Principal"].get("AWS", [])
        for principal in aws if isinstance(aws, list) else [aws]:
            account = principal if ACCOUNT_RE.match(str(principal)) else _account(str(principal))
            if account and account != owner:
                out.append((str(principal), actions, origin))
    return out


def _share_actions(action: Any) -> tuple[str, ...]:
    names = action if isinstance(action, list) else [action]
    lowered = {str(a).lower() for a in names}
    if lowered & {"sqs:*", "*"}:
        return ("ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes")
    wanted = [a for a in ("ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes")]
    consumer = tuple(a for a in wanted if f"sqs:{a}".lower() in lowered)
    if consumer:
        return consumer
    return ("SendMessage",) if "sqs:sendmessage" in lowered else ()


def _account(arn: str) -> str | None:
    try:
        return parse_arn(arn).account or None
    except ValueError:
        return None
