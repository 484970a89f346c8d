"""The one set of statement builders: who is granted (the grantee), Sids, policy names, and the conditions
that keep a grant least-privilege (``kms:ViaService`` for the KMS hop, ``aws:SourceArn`` for services)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from diagnose.authz.model import Layer
from diagnose.policy import PrincipalType
from diagnose.sqs import Action
from diagnose.verdict import Verdict

Role = Literal["consumer", "producer"]

PRODUCER_BASES = frozenset({"SendMessage"})


@dataclass(frozen=True, kw_only=True)
class Grantee:
    """Who a remedy grants access to, as the statements name it."""

    role: Role
    principal_entry: dict[str, str]  # the narrowest Principal element naming it
    service: bool  # an AWS service principal: no identity policy, scoped by its source instead (Q6, S12)
    account: str | None  # its account (for a service: the source's account, when known)
    source_arn: str | None = None
    identity_arn: str | None = None  # the IAM role or user whose identity policies a change may extend
    hypothetical: bool = False  # "some role of this account" (pre-flight of an account)

    @property
    def who(self) -> str:
        return "the service" if self.service else f"the {self.role}"


def role_of(action: Action) -> Role:
    return "producer" if action.base in PRODUCER_BASES else "consumer"


def grantee_of(verdict: Verdict) -> Grantee:
    """The caller of a why-denied question, as a grantee."""
    caller = verdict.caller
    context = verdict.query.context
    role = role_of(verdict.query.action)
    if caller.type is PrincipalType.SERVICE:
        source = (context.get("aws:sourcearn") or (None,))[0]
        account = (context.get("aws:sourceaccount") or (None,))[0]
        return Grantee(
            role=role,
            principal_entry={"Service": caller.service or caller.arn},
            service=True,
            account=account,
            source_arn=source,
        )
    editable = caller.type in (PrincipalType.ROLE_SESSION, PrincipalType.IAM_USER)
    return Grantee(
        role=role,
        principal_entry={"AWS": caller.principal_arn or caller.arn},
        service=False,
        account=caller.account,
        identity_arn=caller.principal_arn if editable else None,
    )


def sid(*parts: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in parts if p).replace("-", "").replace(":", "")[:100]


def one_or_list(actions: Iterable[str]) -> str | list[str]:
    ordered = sorted(set(actions))
    return ordered[0] if len(ordered) == 1 else ordered


def service_condition(grantee: Grantee) -> dict[str, Any] | None:
    """Confused-deputy scoping for a service principal (Q6, S12): its source resource, else its account."""
    if grantee.source_arn:
        return {"ArnEquals": {"aws:SourceArn": grantee.source_arn}}
    if grantee.account:
        return {"StringEquals": {"aws:SourceAccount": grantee.account}}
    return None


def via_sqs(region: str) -> dict[str, Any]:
    """Only through SQS (S6, K6): the KMS hop SQS makes for the caller carries kms:ViaService."""
    return {"StringEquals": {"kms:ViaService": f"sqs.{region}.amazonaws.com"}}


def queue_statement(grantee: Grantee, actions: Iterable[str], queue_arn: str, taken_sid: str) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": taken_sid,
        "Effect": "Allow",
        "Principal": dict(grantee.principal_entry),
        "Action": one_or_list(actions),
        "Resource": queue_arn,
    }
    if grantee.service and (condition := service_condition(grantee)):
        statement["Condition"] = condition
    return statement


def queue_sid(grantee: Grantee) -> str:
    return sid("sqsdiag", grantee.role, "access")


def key_sid(grantee: Grantee) -> str:
    return sid("sqsdiag", grantee.role, "useKey", "" if grantee.service else "viaSqs")


def key_statement(grantee: Grantee, ops: Iterable[str], region: str, taken_sid: str) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": taken_sid,
        "Effect": "Allow",
        "Principal": dict(grantee.principal_entry),
        "Action": one_or_list(ops),
        "Resource": "*",
    }
    if grantee.service:
        if condition := service_condition(grantee):
            statement["Condition"] = condition
    else:
        statement["Condition"] = via_sqs(region)
    return statement


def identity_document(
    queue_arn: str, region: str, sqs_actions: Iterable[str], kms: Mapping[str, Iterable[str]]
) -> dict[str, Any]:
    """The caller's side: the SQS actions on the queue, and each key's operations only through SQS."""
    statements: list[dict[str, Any]] = []
    sqs = sorted(set(sqs_actions))
    if sqs:
        statements.append(
            {"Sid": "SqsdiagQueueAccess", "Effect": "Allow", "Action": one_or_list(sqs), "Resource": queue_arn}
        )
    for n, (key_arn, ops) in enumerate(sorted(kms.items())):
        statements.append(
            {
                "Sid": "SqsdiagKeyViaSqs" + (str(n + 1) if n else ""),
                "Effect": "Allow",
                "Action": one_or_list(ops),
                "Resource": key_arn,
                "Condition": via_sqs(region),
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def identity_policy_name(grantee: Grantee, queue_name: str, taken: Iterable[str]) -> str:
    """A new inline policy name that replaces none the principal has (PutRolePolicy would overwrite it)."""
    wanted = f"sqsdiag-{grantee.role}-{queue_name}"[:120]
    used = set(taken)
    name, n = wanted, 2
    while name in used:
        name, n = f"{wanted}-{n}", n + 1
    return name


def step_allow(step: str, resource: str, taken_sid: str, principal: Any = None) -> dict[str, Any]:
    """A limit (boundary, session policy, VPC endpoint policy) must allow the step too (E7, E8, N1)."""
    statement: dict[str, Any] = {"Sid": taken_sid, "Effect": "Allow"}
    if principal is not None:
        statement["Principal"] = principal
    statement.update({"Action": step, "Resource": resource})
    return statement


def step_sid(step: str) -> str:
    return sid("sqsdiag", "allow", step.split(":")[1])


def org_allow_document(layer: Layer, step: str) -> tuple[str, dict[str, Any]]:
    """An SCP or RCP that allows the step at a level that lacks an allow (O1, O3); RCPs name a principal."""
    statement: dict[str, Any] = {"Sid": step_sid(step), "Effect": "Allow", "Action": step, "Resource": "*"}
    if layer is Layer.RCP:
        statement["Principal"] = "*"
    return f"sqsdiag-allow-{step.split(':')[1].lower()}", {"Version": "2012-10-17", "Statement": [statement]}
