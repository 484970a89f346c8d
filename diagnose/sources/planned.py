"""The world an infrastructure-code change plans: queues, keys, roles and wires, with where each is declared.

Source readers (``cloudformation``, ``terraform``, ``cdk``) fill a ``Planner`` with facts in the snapshot's own
types; ``overlay`` lays them over what already exists (a live read or snapshots), planned values winning. A fact
the code does not determine becomes a gap (operation ``template``), so the answer that depends on it is
inconclusive and names it — the same way a read that failed does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from diagnose.arns import parse_arn
from diagnose.docref import IdentityPolicy, KeyPolicy, PolicyRef, QueuePolicy
from diagnose.snapshot import Document, Gap, Key, Principal, Queue, Snapshot

TEMPLATE_OPERATION = "template"  # Gap.operation of a fact the code leaves open


class SourceKind(str, Enum):
    CLOUDFORMATION = "cloudformation"
    TERRAFORM_PLAN = "terraform-plan"
    CDK_OUT = "cdk-out"

    def __str__(self) -> str:
        return self.value


class WireKind(str, Enum):
    """A declared delivery into, or consumption from, a queue (the wiring contract's kinds)."""

    SNS_SUBSCRIPTION = "sns-subscription"
    S3_NOTIFICATION = "s3-notification"
    EVENTBRIDGE_TARGET = "eventbridge-target"
    LAMBDA_ESM = "lambda-esm"
    PIPE = "pipe"
    DEAD_LETTER = "dead-letter"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Origin:
    """Where a resource is declared: its logical id or Terraform address, and its file and line if known."""

    resource: str
    type: str
    file: str | None = None
    line: int | None = None  # 1-based

    def label(self) -> str:
        where = f" ({self.file}:{self.line})" if self.file and self.line else f" ({self.file})" if self.file else ""
        return f"{self.resource}{where}"


@dataclass(frozen=True)
class Wire:
    """A wire the code declares: who sends to or reads from ``queue``, as which principal, from which source."""

    kind: WireKind
    queue: str  # queue ARN
    source: str  # topic, bucket, rule, function or pipe ARN
    principal: str  # a service principal, or the role ARN the service acts as
    origin: Origin
    consumes: bool = False  # reads from the queue (event source mapping, pipe source) rather than sends


@dataclass(frozen=True)
class Unresolved:
    what: str  # e.g. "KmsMasterKeyId of OrdersQueue"
    reason: str  # e.g. "Fn::ImportValue shared-key-arn (an export of another stack)"
    origin: Origin


@dataclass(frozen=True)
class Planned:
    kind: SourceKind
    files: tuple[str, ...]
    account: str | None
    region: str | None
    queues: tuple[Queue, ...]
    keys: tuple[Key, ...]
    principals: tuple[Principal, ...]
    queue_policies: Mapping[str, Any]  # queue ARN -> planned policy document (also for queues that exist)
    wires: tuple[Wire, ...]
    origins: Mapping[str, Origin]  # ARN of a planned queue, key or role -> its declaration
    documents: Mapping[PolicyRef, Origin]  # where a planned policy document is declared
    unresolved: tuple[Unresolved, ...]
    gaps: tuple[Gap, ...]
    notes: tuple[str, ...]

    def origin_of(self, ref: PolicyRef | None) -> Origin | None:
        """The declaration a change to ``ref`` edits: the document's own resource, else its owner's."""
        if ref is None:
            return None
        if ref in self.documents:
            return self.documents[ref]
        match ref:
            case QueuePolicy(queue=arn):
                return self.origins.get(arn)
            case KeyPolicy(key=arn):
                return self.origins.get(arn)
            case IdentityPolicy(principal=arn):
                return self.origins.get(arn)
            case _:
                return None


@dataclass
class Planner:
    """Collects planned facts while a source is read."""

    kind: SourceKind
    account: str | None
    region: str | None
    files: list[str] = field(default_factory=list)
    queues: dict[str, Queue] = field(default_factory=dict)
    keys: dict[str, Key] = field(default_factory=dict)
    roles: dict[str, Principal] = field(default_factory=dict)
    queue_policies: dict[str, Any] = field(default_factory=dict)
    wires: list[Wire] = field(default_factory=list)
    origins: dict[str, Origin] = field(default_factory=dict)
    documents: dict[PolicyRef, Origin] = field(default_factory=dict)
    unresolved: list[Unresolved] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # managed policies declared in the code, by ARN: (document, origin); attachments resolved in ``done``
    managed: dict[str, tuple[Any, Origin]] = field(default_factory=dict)
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (role ARN, policy ARN)
    aliases: dict[str, str] = field(default_factory=dict)  # alias name -> key ARN

    def queue(self, arn: str, url: str | None, attributes: Mapping[str, str], origin: Origin) -> None:
        self.queues[arn] = Queue(arn=arn, url=url, attributes=dict(attributes))
        self.origins[arn] = origin

    def queue_policy(self, queue_arn: str, document: Any, origin: Origin) -> None:
        self.queue_policies[queue_arn] = document
        self.documents[QueuePolicy(queue_arn)] = origin

    def key(self, arn: str, policy: Any, origin: Origin) -> None:
        self.keys[arn] = Key(
            arn=arn,
            manager="CUSTOMER",
            state="Enabled",
            spec="SYMMETRIC_DEFAULT",
            usage="ENCRYPT_DECRYPT",
            policy=policy,
            policy_source="template",
            grants=(),
        )
        self.origins[arn] = origin

    def role(self, arn: str, inline: tuple[Document, ...], boundary: Document | None, origin: Origin) -> None:
        self.roles[arn] = Principal(arn=arn, type="role", policies=inline, boundary=boundary, tags={})
        self.origins[arn] = origin
        for d in inline:
            self.documents[IdentityPolicy(arn, d.name, d.source, d.group)] = origin

    def role_policy(self, role_arn: str, document: Document, origin: Origin) -> None:
        """A policy resource that puts an inline policy on a role (AWS::IAM::Policy, aws_iam_role_policy)."""
        role = self.roles.get(role_arn)
        if role is None:
            self.notes.append(f"{origin.label()}: attaches to {role_arn}, which the code does not declare; ignored")
            return
        self.roles[role_arn] = replace(role, policies=(*(role.policies or ()), document))
        self.documents[IdentityPolicy(role_arn, document.name, document.source, document.group)] = origin

    def unknown(self, layer: str, resource: str, what: str, reason: str, origin: Origin) -> None:
        self.unresolved.append(Unresolved(what, reason, origin))
        self.gaps.append(
            Gap(
                layer=layer,
                resource=resource,
                operation=TEMPLATE_OPERATION,
                error="unresolved",
                message=f"{what}: {reason}",
            )
        )

    def done(self, files: tuple[str, ...]) -> Planned:
        for role_arn, policy_arn in self.attachments:
            role = self.roles.get(role_arn)
            if role is None:
                continue
            if policy_arn in self.managed:
                doc, origin = self.managed[policy_arn]
                name = policy_arn.rsplit("/", 1)[-1]
                document = Document(name=name, document=doc, arn=policy_arn, source="managed")
                self.roles[role_arn] = replace(role, policies=(*(role.policies or ()), document))
                self.documents[IdentityPolicy(role_arn, name, "managed", None)] = origin
            else:
                # a policy the code does not declare (often an AWS managed one): its content is not known here
                self.roles[role_arn] = replace(role, policies=None)
                self.gaps.append(
                    Gap(
                        layer="identity-policy",
                        resource=role_arn,
                        operation=TEMPLATE_OPERATION,
                        error="unresolved",
                        message=f"managed policy {policy_arn} is attached but not declared in the code",
                    )
                )
                self.unresolved.append(
                    Unresolved(
                        f"managed policy {policy_arn} of {role_arn}",
                        "not declared in the code (give a snapshot or a live read that has the role)",
                        self.origins[role_arn],
                    )
                )
        for alias, key_arn in self.aliases.items():
            key = self.keys.get(key_arn)
            if key is not None:
                self.keys[key_arn] = replace(key, aliases=(*key.aliases, alias))
        return Planned(
            kind=self.kind,
            files=files,
            account=self.account,
            region=self.region,
            queues=tuple(self.queues.values()),
            keys=tuple(self.keys.values()),
            principals=tuple(self.roles.values()),
            queue_policies=dict(self.queue_policies),
            wires=tuple(self.wires),
            origins=dict(self.origins),
            documents=dict(self.documents),
            unresolved=tuple(self.unresolved),
            gaps=tuple(self.gaps),
            notes=tuple(dict.fromkeys(self.notes)),
        )


def overlay(base: Snapshot, planned: Planned) -> Snapshot:
    """What exists, with the planned resources laid over it: a planned record replaces the one of the same ARN,
    a planned queue policy replaces the queue's policy, and the gaps of what the code leaves open are added."""
    queues = {q.arn: q for q in base.queues} | {q.arn: q for q in planned.queues}
    for arn, document in planned.queue_policies.items():
        queue = queues.get(arn)
        if queue is None:
            continue
        attributes = dict(queue.attributes)
        attributes["Policy"] = document if isinstance(document, str) else json.dumps(document)
        queues[arn] = replace(queue, attributes=attributes)
    keys = {k.arn: k for k in base.keys} | {k.arn: k for k in planned.keys}
    for queue in planned.queues:
        managed = _aws_sqs_key(queue, keys.values())
        if managed is not None:
            keys[managed.arn] = managed
    principals = {p.arn: p for p in base.principals} | {p.arn: p for p in planned.principals}
    replaced = set(planned.origins)
    gaps = tuple(g for g in base.gaps if g.resource not in replaced) + planned.gaps
    return replace(
        base,
        queues=tuple(queues.values()),
        keys=tuple(keys.values()),
        principals=tuple(principals.values()),
        gaps=gaps,
        sources=(*base.sources, *planned.files),
    )


def _aws_sqs_key(queue: Queue, keys: Iterable[Key]) -> Key | None:
    """The AWS managed key alias/aws/sqs a planned queue names, when the world does not hold it yet.

    AWS creates an AWS managed key the first time a service uses it (I2), so it exists once the queue does;
    only its id is unknown, and nothing here depends on it: its policy is the documented one (S10).
    """
    ref = (queue.attributes.get("KmsMasterKeyId") or "").strip()
    if ref != "alias/aws/sqs" and not ref.endswith(":alias/aws/sqs"):
        return None
    if any("alias/aws/sqs" in k.aliases and k.account == queue.account and k.region == queue.region for k in keys):
        return None
    arn = parse_arn(queue.arn)
    key_id = uuid.uuid5(uuid.NAMESPACE_URL, f"aws-managed/{arn.account}/{arn.region}/alias/aws/sqs")
    return Key(
        arn=f"arn:{arn.partition}:kms:{arn.region}:{arn.account}:key/{key_id}",
        aliases=("alias/aws/sqs",),
        manager="AWS",
        state="Enabled",
        spec="SYMMETRIC_DEFAULT",
        usage="ENCRYPT_DECRYPT",
        policy=None,
        grants=(),
    )


def account_of(arn: str) -> str | None:
    try:
        return parse_arn(arn).account or None
    except ValueError:
        return None
