"""Who a question is about, given as the user gives it: an account, a principal or a service, for a consumer
or a producer — and how each is evaluated (an account as a hypothetical role of it). Shared by pre-flight and
who-can; ``grantee`` turns a subject into whom the remedy statements name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from diagnose.arns import ACCOUNT_RE, parse_arn
from diagnose.remedy.statements import Grantee, Role
from diagnose.snapshot import Document, Principal, PrincipalKind, Snapshot
from diagnose.world import SERVICE_RE


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


def with_principal(snapshot: Snapshot, arn: str, ptype: PrincipalKind, policies: tuple[Document, ...] = ()) -> Snapshot:
    """A copy of the snapshot with a principal added, or replaced (unknown tags: conditions on them stay open)."""
    principal = Principal(arn=arn, type=ptype, policies=policies, tags=None)
    others = tuple(p for p in snapshot.principals if p.arn != arn)
    return replace(snapshot, principals=(*others, principal))


def subject_of(text: str, role: Role, source_arn: str | None, partition: str = "aws") -> Subject:
    """``--consumer``/``--producer``: an account id or root ARN, a principal ARN, or (producer) a service."""
    text = text.strip()
    option = f"--{role}"
    if source_arn is not None and not source_arn.strip():
        raise ValueError("--source-arn: give the ARN of the topic, bucket or rule that sends (it is empty)")
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


def grantee(subject: Subject, identity_arn: str | None) -> Grantee:
    """The subject as the remedy's statements name it; ``identity_arn``: the IAM principal whose identity
    policy a change extends (a session's role), None for a service."""
    return Grantee(
        role=subject.role,
        principal_entry=dict(subject.principal_entry),
        service=subject.kind == "service",
        account=subject.account,
        source_arn=subject.source_arn,
        identity_arn=identity_arn,
        hypothetical=subject.hypothetical,
    )
