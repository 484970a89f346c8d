"""From needs to changes: one change per need, built against the world as it was before any of them
(``ref``), with the statements of ``statements.py`` and Sids and names that collide with nothing."""

from __future__ import annotations

from diagnose.arns import parse_arn
from diagnose.authz.model import Layer, assert_never
from diagnose.docref import (
    Boundary,
    EndpointPolicy,
    IdentityPolicy,
    KeyPolicy,
    KeyRecord,
    OrgLevel,
    OrgPolicy,
    PolicyRef,
    QueuePolicy,
    SessionPolicy,
    TheRequest,
)
from diagnose.remedy.apply import document_at, statements_of, unique_sid
from diagnose.remedy.model import (
    AddStatement,
    AttachPolicy,
    Change,
    ChangeKind,
    DetachPolicy,
    NarrowStatement,
    RemoveStatement,
    SetContext,
    SetKeyState,
)
from diagnose.remedy.needs import (
    DenyEdit,
    IdentityGrant,
    KeyGrant,
    KeyStateChange,
    LimitGrant,
    Needs,
    OrgGrant,
    QueueGrant,
    RequestChange,
)
from diagnose.remedy.statements import (
    Grantee,
    identity_document,
    identity_policy_name,
    key_sid,
    key_statement,
    org_allow_document,
    queue_sid,
    queue_statement,
    step_allow,
    step_sid,
)
from diagnose.snapshot import Queue, Snapshot
from diagnose.verdict import Query

ORG_ADMIN = "the organization's management account"


def build(ref: Snapshot, query: Query, needs: Needs, grantee: Grantee) -> list[Change]:
    """Every need as a change, in the order the needs were found; denies first (E1 settles before grants)."""
    queue = ref.queue(query.queue_arn)
    assert queue is not None
    taken: dict[PolicyRef, list[str]] = {}  # Sids given so far, per document
    first: list[Change] = []
    rest: list[Change] = []
    for need in needs.items.values():
        match need:
            case DenyEdit():
                first.append(_deny(ref, query, queue, need, grantee))
            case RequestChange():
                first.append(_request(need))
            case QueueGrant():
                rest.append(_queue(ref, queue, need, grantee))
            case KeyGrant():
                change = _key(ref, queue, need, grantee)
                if change is not None:
                    rest.append(change)
            case KeyStateChange():
                rest.append(_key_state(need))
            case IdentityGrant():
                if grantee.identity_arn is not None and (need.sqs or need.kms):
                    rest.append(_identity(ref, queue, need, grantee, grantee.identity_arn))
            case LimitGrant():
                rest.append(_limit(ref, query, need, grantee, taken, needs))
            case OrgGrant():
                rest.append(_org(ref, need))
            case _ as unreachable:
                assert_never(unreachable)
    return [*first, *rest]


def _owner(ref: PolicyRef, queue: Queue, grantee: Grantee) -> str | None:
    match ref:
        case QueuePolicy():
            return queue.account
        case KeyPolicy(key=arn):
            return parse_arn(arn).account
        case IdentityPolicy() | Boundary() | SessionPolicy() | EndpointPolicy():
            return grantee.account
        case OrgPolicy():
            return ORG_ADMIN
        case _ as unreachable:
            assert_never(unreachable)


def _resource(ref_snapshot: Snapshot, ref: PolicyRef) -> str | None:
    """What a document belongs to: queue, key, principal, endpoint, or the org policy itself (others may share it)."""
    match ref:
        case QueuePolicy(queue=arn) | KeyPolicy(key=arn) | Boundary(principal=arn) | EndpointPolicy(endpoint=arn):
            return arn
        case IdentityPolicy():
            principal = ref_snapshot.principal(ref.principal)
            doc = next((d for d in (principal.policies or ()) if d.name == ref.name), None) if principal else None
            if doc is not None and doc.source in ("managed", "group-managed") and doc.arn:
                return doc.arn  # a managed policy, possibly attached to other principals too
            if doc is not None and doc.group:
                return doc.group  # a group's policy applies to every member
            return ref.principal
        case OrgPolicy():
            account = ref_snapshot.account(ref.account)
            if account is None or ref.level >= len(account.path):
                return None
            node = account.path[ref.level]
            docs = (node.scps if ref.kind is Layer.SCP else node.rcps) or ()
            doc = next((d for d in docs if d.name == ref.name), None)
            return (doc.arn if doc and doc.arn else None) or node.id
        case SessionPolicy():
            return None
        case _ as unreachable:
            assert_never(unreachable)


def _aws_managed_policy(ref_snapshot: Snapshot, ref: PolicyRef) -> bool:
    """An AWS managed IAM policy (arn:aws:iam::aws:policy/...): nobody but AWS can edit it, only detach it."""
    return isinstance(ref, IdentityPolicy) and ":iam::aws:policy/" in (_resource(ref_snapshot, ref) or "")


def _deny(ref: Snapshot, query: Query, queue: Queue, need: DenyEdit, grantee: Grantee) -> Change:
    step, label = need.step, need.label
    edit: NarrowStatement | RemoveStatement | DetachPolicy
    if _aws_managed_policy(ref, need.ref):
        return Change(
            layer=need.layer,
            account=_owner(need.ref, queue, grantee),
            target=need.document_name,
            kind=ChangeKind.REMOVE_DOCUMENT,
            description=f"detach {need.document_name}: it is an AWS managed policy, which cannot be edited, and "
            f"its {label} explicitly denies {step} (E1)",
            ref=need.ref,
            edit=DetachPolicy(),
            statement=need.statement or None,
            resource=_resource(ref, need.ref),
        )
    if need.narrow is not None:
        operator, key, value = need.narrow
        edit = NarrowStatement(need.statement, operator, key, value)
        kind = ChangeKind.NARROW_STATEMENT
        if key == "aws:ViaAWSService":
            text = (
                f"exempt calls AWS services make on the caller's behalf from {label}: add "
                '"BoolIfExists": {"aws:ViaAWSService": "false"} to it (forward access, O2)'
            )
        else:
            text = (
                f"exempt AWS service principals from {label}: add "
                '"BoolIfExists": {"aws:PrincipalIsAWSService": "false"} to it (they never call through your '
                "network, N3)"
            )
    else:
        edit = RemoveStatement(need.statement)
        kind = ChangeKind.REMOVE_STATEMENT
        text = f"remove or narrow {label}: it explicitly denies {step} and no allow can override it (E1)"
        rest = [st for st in statements_of(document_at(ref, query, need.ref)) if st != need.statement]
        if not rest and isinstance(need.ref, QueuePolicy | IdentityPolicy | OrgPolicy):
            kind = ChangeKind.REMOVE_DOCUMENT  # AWS rejects an empty policy: the document goes
            text = f"delete {need.document_name} (detach it): its only statement, {label}, explicitly denies {step}"
    return Change(
        layer=need.layer,
        account=_owner(need.ref, queue, grantee),
        target=need.document_name,
        kind=kind,
        description=text,
        ref=need.ref,
        edit=edit,
        statement=need.statement or None,
        resource=_resource(ref, need.ref),
    )


def _request(need: RequestChange) -> Change:
    how = " and ".join(
        "over HTTPS" if k == "aws:securetransport" else f"through VPC endpoint {v[0]}" for k, v in need.values.items()
    )
    if list(need.values) == ["aws:securetransport"] and need.layer is Layer.TRANSPORT:
        text = "call over HTTPS with SigV4 (every current SDK and the CLI do by default)"
    else:
        text = f"make the call {how}, as the policy requires (N3, N4)"
    return Change(
        layer=need.layer,
        account=None,
        target="the caller's client",
        kind=ChangeKind.REQUEST,
        description=text,
        ref=TheRequest(),
        edit=SetContext(need.values),
    )


def _queue(ref: Snapshot, queue: Queue, need: QueueGrant, grantee: Grantee) -> Change:
    current = queue.attributes.get("Policy") or None
    statement = queue_statement(grantee, need.actions, queue.arn, unique_sid(current, queue_sid(grantee)))
    return Change(
        layer=Layer.RESOURCE,
        account=queue.account,
        target=f"queue policy of {queue.arn}",
        kind=ChangeKind.ADD_STATEMENT if current else ChangeKind.NEW_POLICY,
        description=f"allow {grantee.who} {', '.join(sorted(need.actions))} on this queue only",
        ref=QueuePolicy(queue.arn),
        edit=AddStatement(statement),
        statement=statement,
        resource=queue.arn,
    )


def _key(ref: Snapshot, queue: Queue, need: KeyGrant, grantee: Grantee) -> Change | None:
    key = ref.key(need.key)
    if key is None or key.policy is None:
        return None
    statement = key_statement(grantee, need.ops, queue.region, unique_sid(key.policy, key_sid(grantee)))
    how = " for the service" if grantee.service else " only through SQS (kms:ViaService)"
    return Change(
        layer=Layer.KEY_POLICY,
        account=key.account,
        target=f"key policy of {key.arn}",
        kind=ChangeKind.ADD_STATEMENT,
        description=f"allow {', '.join(sorted(need.ops))} on this key{how}",
        ref=KeyPolicy(key.arn),
        edit=AddStatement(statement),
        statement=statement,
        resource=key.arn,
    )


def _key_state(need: KeyStateChange) -> Change:
    """Enable a disabled key, or cancel its deletion (K8): the key-state layer's only fixes."""
    key = need.key
    if key.state == "PendingDeletion":
        kind = ChangeKind.CANCEL_KEY_DELETION
        text = "cancel the key deletion (kms:CancelKeyDeletion), then enable it (kms:EnableKey)"
    else:
        kind, text = ChangeKind.ENABLE_KEY, "enable the key (kms:EnableKey)"
    return Change(
        layer=Layer.KEY_STATE,
        account=key.account,
        target=key.arn,
        kind=kind,
        description=text,
        ref=KeyRecord(key.arn),
        edit=SetKeyState("Enabled"),
        resource=key.arn,
    )


def _identity(ref: Snapshot, queue: Queue, need: IdentityGrant, grantee: Grantee, principal_arn: str) -> Change:
    principal = ref.principal(principal_arn)
    name = identity_policy_name(
        grantee, queue.name, (d.name for d in ((principal.policies or ()) if principal else ()))
    )
    document = identity_document(queue.arn, queue.region, need.sqs, need.kms)
    if grantee.hypothetical:
        target = (
            f"a new identity policy {name!r} on each role or user of {grantee.account} that will "
            f"{'receive from' if grantee.role == 'consumer' else 'send to'} the queue "
            f"(modelled here as {principal_arn})"
        )
    else:
        target = f"new inline policy {name!r} on {principal_arn}"
    parts = []
    if need.sqs:
        parts.append(f"{', '.join(sorted(need.sqs))} on the queue")
    if need.kms:
        parts.append(
            f"{', '.join(sorted({op for ops in need.kms.values() for op in ops}))} on the key, only through SQS"
        )
    cross = any(a != grantee.account for a in (queue.account, *(parse_arn(k).account for k in need.kms)))
    why = " (cross-account: the caller's own account must allow it too, E5/K3)" if cross else ""
    return Change(
        layer=Layer.IDENTITY,
        account=grantee.account,
        target=target,
        kind=ChangeKind.NEW_POLICY,
        description=f"allow {' and '.join(parts)}{why}",
        ref=IdentityPolicy(principal_arn, name),
        edit=AttachPolicy(name, document),
        document=document,
        resource=principal_arn,
    )


def _endpoint(query: Query, needs: Needs) -> str:
    """The VPC endpoint the call goes through: the one a change routes it through, or the one it uses."""
    for other in needs.items.values():
        if isinstance(other, RequestChange) and "aws:sourcevpce" in other.values:
            return other.values["aws:sourcevpce"][0]
    return (query.context.get("aws:sourcevpce") or ("",))[0]


def _limit(
    ref: Snapshot,
    query: Query,
    need: LimitGrant,
    grantee: Grantee,
    taken: dict[PolicyRef, list[str]],
    needs: Needs,
) -> Change:
    """A boundary, session policy or VPC endpoint policy must allow the step too (E7, E8, N1)."""
    principal = grantee.identity_arn or grantee.principal_entry.get("AWS") or ""
    doc_ref: PolicyRef
    match need.layer:
        case Layer.SESSION:
            doc_ref, kind = SessionPolicy(), ChangeKind.REQUEST
            target = f"session policy passed when assuming {principal}"
            text = "assume the role again with a session policy that also allows this action"
            names: object = None
        case Layer.VPCE:
            endpoint = _endpoint(query, needs)
            doc_ref, kind = EndpointPolicy(endpoint), ChangeKind.ADD_STATEMENT
            target, text = f"policy of VPC endpoint {endpoint}", "allow this action through the endpoint"
            names = {"AWS": principal} if grantee.identity_arn else "*"  # endpoint policies name principals
        case _:
            doc_ref, kind = Boundary(principal), ChangeKind.ADD_STATEMENT
            target = f"permissions boundary of {principal}"
            text = "the permissions boundary must also allow this action (E7)"
            names = None
    used = taken.setdefault(doc_ref, [])
    current = document_at(ref, query, doc_ref)
    statement = step_allow(need.step, need.resource, unique_sid(current, step_sid(need.step), used), names)
    used.append(statement["Sid"])
    return Change(
        layer=need.layer,
        account=grantee.account,
        target=target,
        kind=kind,
        description=text,
        ref=doc_ref,
        edit=AddStatement(statement),
        statement=statement,
        resource=getattr(doc_ref, "endpoint", None) or principal,
    )


def _org(ref: Snapshot, need: OrgGrant) -> Change:
    account = ref.account(need.account)
    assert account is not None
    node = account.path[need.level]
    name, document = org_allow_document(need.layer, need.step)
    where = f"{node.type.lower().replace('_', ' ')} {node.name or node.id}"
    kind = need.layer.value.upper()
    return Change(
        layer=need.layer,
        account=ORG_ADMIN,
        target=f"{kind}s attached at {where}",
        kind=ChangeKind.ATTACH_POLICY,
        description=f"allow {need.step} at {where}: every level of the organization path must allow it (O1, O3); "
        f"add it to a {kind} attached there",
        ref=OrgLevel(need.layer, need.account, need.level),
        edit=AttachPolicy(name, document),
        statement=document["Statement"][0],
        document=document,
        resource=node.id,
    )


__all__ = ["ORG_ADMIN", "build"]
