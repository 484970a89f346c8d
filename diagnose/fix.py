"""Proven fixes (DESIGN principle 7): propose the smallest document changes for every blocking layer,
apply them to a copy of the snapshot, re-evaluate, and keep only change sets that make the call succeed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from diagnose.arns import parse_arn
from diagnose.authz import Decision, Evidence
from diagnose.authz.model import (
    BOUNDARY,
    IDENTITY,
    KEY_POLICY,
    KEY_STATE,
    RESOURCE,
    SESSION,
    TRANSPORT,
    VPCE,
)
from diagnose.edits import (
    Transform,
    add_condition,
    document_at,
    edit,
    normalised,
    remove_statement,
    statement_at,
)
from diagnose.policy import PrincipalType
from diagnose.snapshot import Document, Key, Principal, Queue, Snapshot
from diagnose.verdict import Assumptions, Query, Verdict, diagnose
from diagnose.world import Location

Apply = Callable[[Snapshot, Query], tuple[Snapshot, Query]]

TRADE_OFFS_SSE_SQS = (
    "SSE-SQS: no KMS cost and no key to manage; access is controlled by one layer (the queue policy)",
    "SSE-SQS: KMS no longer records who decrypted (no CloudTrail Decrypt events with aws:sqs:arn)",
)
TRADE_OFFS_CMK = (
    "customer managed key: two layers of control (queue policy and key policy) and CloudTrail Decrypt/"
    "GenerateDataKey events carrying the queue ARN; costs a key per month plus KMS requests, fewer with a "
    "longer KmsDataKeyReusePeriodSeconds (which also delays how fast a revocation bites)",
)


@dataclass(frozen=True)
class Change:
    layer: str  # the layer this changes (contract names)
    account: str | None  # whose administrator applies it
    target: str  # the document or resource changed
    kind: str  # add-statement | new-policy | set-queue-attributes | enable-key | cancel-key-deletion | request
    description: str
    statement: dict[str, Any] | None = None
    document: dict[str, Any] | None = None  # the full document after the change, when known
    resource: str | None = None  # the ARN the change applies to (queue, key, principal), when one

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "layer": self.layer,
            "account": self.account,
            "target": self.target,
            "kind": self.kind,
            "description": self.description,
        }
        if self.resource is not None:
            out["resource"] = self.resource
        if self.statement is not None:
            out["statement"] = self.statement
        if self.document is not None:
            out["document"] = self.document
        return out


@dataclass(frozen=True)
class Fix:
    title: str
    changes: tuple[Change, ...]
    verified: bool  # re-evaluation after applying every change says "allowed"
    decision_after: str
    trade_offs: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "verified": self.verified,
            "decision_after": self.decision_after,
            "changes": [c.to_json() for c in self.changes],
            "trade_offs": list(self.trade_offs),
        }


@dataclass(frozen=True)
class FixSet:
    fixes: tuple[Fix, ...]
    unfixable: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return any(f.verified for f in self.fixes)

    def to_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self.fixes]


# --------------------------------------------------------------------------- document editing


def with_statement(document: Any, statement: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = normalised(document) if document is not None else {"Version": "2012-10-17", "Statement": []}
    data["Statement"] = [*data["Statement"], statement]
    return data


def replace_key(snap: Snapshot, key: Key) -> Snapshot:
    return replace(snap, keys=tuple(key if k.arn == key.arn else k for k in snap.keys))


def replace_principal(snap: Snapshot, principal: Principal) -> Snapshot:
    """Replace the principal with the same ARN, or add it when the snapshot does not have it."""
    if snap.principal(principal.arn) is None:
        return replace(snap, principals=(*snap.principals, principal))
    return replace(snap, principals=tuple(principal if p.arn == principal.arn else p for p in snap.principals))


def set_queue_attributes(
    snap: Snapshot, queue_arn: str, attributes: dict[str, str], drop: tuple[str, ...] = ()
) -> Snapshot:
    """The snapshot with the queue's attributes updated (``drop`` removed first)."""
    queue = snap.queue(queue_arn)
    assert queue is not None
    attrs = {k: v for k, v in queue.attributes.items() if k not in drop}
    attrs.update(attributes)
    return replace(snap, queues=tuple(replace(q, attributes=attrs) if q.arn == queue_arn else q for q in snap.queues))


def apply_changes(
    snapshot: Snapshot, query: Query, changes: list[tuple[Change, Apply]] | tuple[tuple[Change, Apply], ...]
) -> tuple[Snapshot, Query]:
    """Apply every change of a change set to a copy of the world (the snapshot itself never changes)."""
    snap, q = snapshot, query
    for _, apply in changes:
        snap, q = apply(snap, q)
    return snap, q


def _principal_entry(verdict: Verdict) -> dict[str, Any]:
    caller = verdict.caller
    if caller.type is PrincipalType.SERVICE:
        return {"Service": caller.service}
    return {"AWS": caller.principal_arn or caller.arn}


def sid(*parts: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in parts if p).replace("-", "").replace(":", "")[:100]


# --------------------------------------------------------------------------- proposals


def _queue_statement(verdict: Verdict) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid("sqsdiag", "allow", verdict.query.action.base),
        "Effect": "Allow",
        "Principal": _principal_entry(verdict),
        "Action": verdict.query.action.iam,
        "Resource": verdict.queue.arn,
    }
    if verdict.caller.type is PrincipalType.SERVICE:
        source = verdict.query.context.get("aws:sourcearn")
        account = verdict.query.context.get("aws:sourceaccount")
        if source:
            statement["Condition"] = {"ArnEquals": {"aws:SourceArn": source[0]}}  # Q6 confused-deputy scoping
        elif account:
            statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account[0]}}
    return statement


def _kms_actions(verdict: Verdict) -> list[str]:
    return sorted(
        {e.step for e in verdict.blocking if e.step.startswith("kms:")}
        or {s.step for s in verdict.steps if s.step.startswith("kms:")}
    )


def _key_statement(verdict: Verdict, actions: list[str]) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid("sqsdiag", "allow", "use", "via", "sqs"),
        "Effect": "Allow",
        "Principal": _principal_entry(verdict),
        "Action": actions if len(actions) > 1 else actions[0],
        "Resource": "*",
    }
    if verdict.caller.type is PrincipalType.SERVICE:
        source = verdict.query.context.get("aws:sourcearn")
        if source:
            statement["Condition"] = {"ArnEquals": {"aws:SourceArn": source[0]}}
    else:
        statement["Condition"] = {"StringEquals": {"kms:ViaService": f"sqs.{verdict.queue.region}.amazonaws.com"}}
    return statement


def _identity_statement(verdict: Verdict, actions: list[str], resource: str) -> dict[str, Any]:
    return {
        "Sid": sid("sqsdiag", *[a.split(":")[1] for a in actions]),
        "Effect": "Allow",
        "Action": actions if len(actions) > 1 else actions[0],
        "Resource": resource,
    }


def _add_identity(verdict: Verdict, statement: dict[str, Any]) -> tuple[Change, Apply] | None:
    caller = verdict.caller
    ref = caller.principal_arn
    if caller.type not in (PrincipalType.ROLE_SESSION, PrincipalType.IAM_USER) or ref is None:
        return None
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    name = "sqsdiag-" + "-".join(a.split(":", 1)[-1].lower() for a in actions)[:100]
    document = {"Version": "2012-10-17", "Statement": [statement]}
    change = Change(
        IDENTITY,
        caller.account,
        f"new inline policy {name!r} on {ref}",
        "new-policy",
        f"allow {statement['Action']} on {statement['Resource']} in the caller's identity policy",
        statement,
        document,
    )

    def apply(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
        principal = snap.principal(ref) or (snap.role_by_name(caller.account or "", ref.rsplit("/", 1)[-1]))
        if principal is None or principal.policies is None:
            return snap, query
        doc = Document(name=name, document=document, source="inline")
        return replace_principal(snap, replace(principal, policies=(*principal.policies, doc))), query

    return change, apply


def _proposals(snapshot: Snapshot, verdict: Verdict) -> tuple[list[tuple[Change, Apply]], list[str]]:
    out: list[tuple[Change, Apply]] = []
    unfixable: list[str] = []
    seen: set[tuple[str, str]] = set()
    queue = verdict.queue
    key = verdict.key.key if verdict.key else None
    for entry in verdict.blocking:
        layer, step = entry.block.layer, entry.step
        kms = step.startswith("kms:")
        if (layer, "kms" if kms else "sqs") in seen:
            continue
        seen.add((layer, "kms" if kms else "sqs"))
        if entry.block.explicit and layer not in (KEY_STATE, TRANSPORT):
            changes, why_not = _deny_fixes(snapshot, verdict, step, layer, entry.block.evidence)
            out.extend(changes)
            unfixable.extend(why_not)
            continue
        if layer == RESOURCE and not kms:
            statement = _queue_statement(verdict)
            after = with_statement(queue.attributes.get("Policy"), statement)

            def apply_queue(snap: Snapshot, query: Query, after: dict[str, Any] = after) -> tuple[Snapshot, Query]:
                return set_queue_attributes(snap, queue.arn, {"Policy": json.dumps(after)}), query

            out.append(
                (
                    Change(
                        RESOURCE,
                        queue.account,
                        f"queue policy of {queue.arn}",
                        "add-statement",
                        f"allow {verdict.query.action.iam} to the caller in the queue policy",
                        statement,
                        after,
                    ),
                    apply_queue,
                )
            )
        elif layer == IDENTITY:
            actions = _kms_actions(verdict) if kms else [verdict.query.action.iam]
            resource = key.arn if kms and key else queue.arn
            proposal = _add_identity(verdict, _identity_statement(verdict, actions, resource))
            if proposal:
                out.append(proposal)
            else:
                unfixable.append(f"{step}: the caller's identity policies cannot be changed by sqsdiag's proposals")
        elif layer == KEY_POLICY and key is not None:
            if key.manager == "AWS":
                unfixable.append(
                    f"{key.arn} is an AWS managed key (alias/aws/sqs): its policy cannot be changed and admits only "
                    f"principals of {key.account} through SQS (S10, S11)"
                )
                continue
            if key.policy is None:
                unfixable.append(f"{step}: the key policy of {key.arn} was not read, so no change can be proven")
                continue
            statement = _key_statement(verdict, _kms_actions(verdict))
            after = with_statement(key.policy, statement)

            def apply_key(snap: Snapshot, query: Query, after: dict[str, Any] = after) -> tuple[Snapshot, Query]:
                current = snap.key(key.arn)
                assert current is not None
                return replace_key(snap, replace(current, policy=after)), query

            out.append(
                (
                    Change(
                        KEY_POLICY,
                        key.account,
                        f"key policy of {key.arn}",
                        "add-statement",
                        "allow the caller to use the key through SQS",
                        statement,
                        after,
                    ),
                    apply_key,
                )
            )
        elif layer in (BOUNDARY, SESSION, VPCE):
            out.append(_limit_fix(verdict, layer, step))
        elif layer == KEY_STATE and key is not None:
            out.extend(key_state_changes(key))
        elif layer == TRANSPORT:

            def apply_https(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
                return snap, replace(query, context={**query.context, "aws:securetransport": ("true",)})

            out.append(
                (
                    Change(
                        TRANSPORT,
                        None,
                        "the caller's client",
                        "request",
                        "call over HTTPS with SigV4 (every current SDK and the CLI do by default)",
                    ),
                    apply_https,
                )
            )
        else:
            unfixable.append(f"{step}: no automatic proposal for the {layer} layer; see the evidence")
    return out, unfixable


_ACCOUNT_OF_LAYER = {"scp": "the organization's management account", "rcp": "the organization's management account"}


def _deny_fixes(
    snapshot: Snapshot, verdict: Verdict, step: str, layer: str, evidence: tuple[Evidence, ...]
) -> tuple[list[tuple[Change, Apply]], list[str]]:
    """An explicit deny can only be narrowed or removed (E1). For the KMS hop SQS makes as the caller,
    the narrow fix is AWS's data-perimeter exemption of forward-access calls (O2, E9)."""
    out: list[tuple[Change, Apply]] = []
    unfixable: list[str] = []
    for ev in evidence:
        location = verdict.locations.get(ev.document)
        if location is None or ev.index is None:
            unfixable.append(f"{step}: explicit deny in {ev} cannot be changed (E1)")
            continue
        current = document_at(snapshot, verdict.query, location)
        statement = statement_at(current, ev.index) or {}
        conditions = json.dumps(statement.get("Condition", {})).lower()
        who = _ACCOUNT_OF_LAYER.get(layer) or _owner_account(verdict, location)
        if step.startswith("kms:") and "aws:viaawsservice" not in conditions:
            transform = add_condition(ev.index, "BoolIfExists", "aws:ViaAWSService", "false")
            text = (
                f"exempt calls AWS services make on the caller's behalf from {ev.statement}: add "
                '"BoolIfExists": {"aws:ViaAWSService": "false"} to it (forward access, O2)'
            )
            kind = "narrow-statement"
        else:
            transform = remove_statement(ev.index)
            text = f"remove or narrow {ev.statement}: it explicitly denies {step} and no allow can override it (E1)"
            kind = "remove-statement"
        after: dict[str, Any] | None = transform(normalised(current))
        if after is not None and not after["Statement"]:
            kind, after = "remove-document", None
            text = f"delete {ev.document} (detach it): its only statement, {ev.statement}, explicitly denies {step}"

        def apply(
            snap: Snapshot, query: Query, location: Location = location, transform: Transform = transform
        ) -> tuple[Snapshot, Query]:
            return edit(snap, query, location, transform)

        out.append((Change(layer, who, ev.document, kind, text, statement or None, after), apply))
    return out, unfixable


def _owner_account(verdict: Verdict, location: Location) -> str | None:
    if location[0] == "queue-policy":
        return verdict.queue.account
    if location[0] == "key-policy":
        return verdict.key.key.account if verdict.key and verdict.key.key else None
    if location[0] in ("identity", "boundary", "session", "vpce"):
        return verdict.caller.account
    return None


def _limit_fix(verdict: Verdict, layer: str, step: str) -> tuple[Change, Apply]:
    action = step
    statement = {
        "Sid": sid("sqsdiag", "allow", action.split(":")[1]),
        "Effect": "Allow",
        "Action": action,
        "Resource": verdict.queue.arn if step.startswith("sqs:") else "*",
    }
    caller = verdict.caller
    ref = caller.principal_arn or caller.arn
    if layer == SESSION:
        after = with_statement(verdict.query.session_policy, statement)

        def apply_session(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
            return snap, replace(query, session_policy=after)

        return (
            Change(
                SESSION,
                caller.account,
                f"session policy passed when assuming {ref}",
                "request",
                "assume the role again with a session policy that also allows this action",
                statement,
                after,
            ),
            apply_session,
        )
    if layer == VPCE:
        vpce_id = verdict.query.context.get("aws:sourcevpce", ("",))[0]

        def apply_vpce(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
            endpoint = snap.vpc_endpoint(vpce_id)
            if endpoint is None or endpoint.policy is None:
                return snap, query
            new = replace(endpoint, policy=with_statement(endpoint.policy, {**statement, "Principal": "*"}))
            return replace(snap, vpc_endpoints=tuple(new if v.id == vpce_id else v for v in snap.vpc_endpoints)), query

        return (
            Change(
                VPCE,
                caller.account,
                f"policy of VPC endpoint {vpce_id}",
                "add-statement",
                "allow this action through the endpoint",
                {**statement, "Principal": "*"},
            ),
            apply_vpce,
        )

    def apply_boundary(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
        principal = snap.principal(ref)
        if principal is None or principal.boundary is None:
            return snap, query
        boundary = replace(principal.boundary, document=with_statement(principal.boundary.document, statement))
        return replace_principal(snap, replace(principal, boundary=boundary)), query

    return (
        Change(
            BOUNDARY,
            caller.account,
            f"permissions boundary of {ref}",
            "add-statement",
            "the permissions boundary must also allow this action (E7)",
            statement,
        ),
        apply_boundary,
    )


def key_state_changes(key: Key) -> list[tuple[Change, Apply]]:
    """Enable a disabled key, or cancel its deletion (K8): the key-state layer's only fixes."""

    def set_state(state: str) -> Apply:
        def apply(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
            current = snap.key(key.arn)
            assert current is not None
            return replace_key(snap, replace(current, state=state)), query

        return apply

    if key.state == "Disabled":
        return [
            (
                Change(KEY_STATE, key.account, key.arn, "enable-key", "enable the key (kms:EnableKey)"),
                set_state("Enabled"),
            )
        ]
    if key.state == "PendingDeletion":
        return [
            (
                Change(
                    KEY_STATE,
                    key.account,
                    key.arn,
                    "cancel-key-deletion",
                    "cancel the key deletion (kms:CancelKeyDeletion), then enable it (kms:EnableKey)",
                ),
                set_state("Enabled"),
            )
        ]
    return []


# --------------------------------------------------------------------------- verification


def _verify(
    snapshot: Snapshot, query: Query, assumptions: Assumptions, changes: list[tuple[Change, Apply]]
) -> tuple[bool, str]:
    snap, q = apply_changes(snapshot, query, changes)
    try:
        after = diagnose(snap, q, assumptions)
    except ValueError:  # a change AWS itself would reject (e.g. an empty key policy) proves nothing
        return False, "not verifiable"
    return after.decision is Decision.ALLOWED, after.decision.value


def _to_sse_sqs(verdict: Verdict) -> tuple[Change, Apply]:
    return sse_sqs_change(verdict.queue)


def sse_sqs_change(queue: Queue) -> tuple[Change, Apply]:
    """Switch the queue to SSE-SQS (S1): no KMS call and no KMS permission any more."""

    def apply(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
        drop = ("KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds")
        return set_queue_attributes(snap, queue.arn, {"SqsManagedSseEnabled": "true"}, drop), query

    return (
        Change(
            "queue",
            queue.account,
            f"attributes of {queue.arn}",
            "set-queue-attributes",
            'switch the queue to SSE-SQS: SqsManagedSseEnabled=true, KmsMasterKeyId="" (messages already '
            "encrypted under the KMS key still need it until drained, S8)",
            None,
            {"SqsManagedSseEnabled": "true", "KmsMasterKeyId": ""},
        ),
        apply,
    )


NEW_KEY_ID = "NEW-KEY-ID"  # placeholder: the real id is known after kms:CreateKey


def new_key_changes(queue: Queue) -> list[tuple[Change, Apply]]:
    """Create a symmetric customer managed key whose policy enables IAM for the queue account, and point
    the queue at it (S2: by full key ARN)."""
    arn = f"arn:{parse_arn(queue.arn).partition}:kms:{queue.region}:{queue.account}:key/{NEW_KEY_ID}"
    policy = {
        "Version": "2012-10-17",
        "Id": "sqsdiag-preflight-key-policy",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{parse_arn(queue.arn).partition}:iam::{queue.account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    new_key = Key(
        arn=arn,
        manager="CUSTOMER",
        state="Enabled",
        spec="SYMMETRIC_DEFAULT",
        usage="ENCRYPT_DECRYPT",
        policy=policy,
        policy_source="GetKeyPolicy",
        grants=(),
    )

    def create(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
        return replace(snap, keys=(*(k for k in snap.keys if k.arn != arn), new_key)), query

    def point(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
        return set_queue_attributes(snap, queue.arn, {"KmsMasterKeyId": arn, "SqsManagedSseEnabled": "false"}), query

    return [
        (
            Change(
                KEY_POLICY,
                queue.account,
                f"a new symmetric customer managed key in {queue.account} ({queue.region})",
                "create-key",
                "create a symmetric encryption key (kms:CreateKey) whose key policy enables IAM policies of the "
                f"queue account; {NEW_KEY_ID} stands for the id CreateKey returns. The statement below for the "
                "other side is added to this policy",
                None,
                policy,
                arn,
            ),
            create,
        ),
        (
            Change(
                "queue",
                queue.account,
                f"attributes of {queue.arn}",
                "set-queue-attributes",
                f"point the queue at the new key: KmsMasterKeyId={arn} (the full key ARN, S3)",
                None,
                {"KmsMasterKeyId": arn},
                queue.arn,
            ),
            point,
        ),
    ]


def _customer_key_way_out(verdict: Verdict) -> list[tuple[Change, Apply]]:
    """A new customer managed key for the queue, its key-policy statement for the caller, and (for IAM
    callers) the caller's identity statement for it (K1-K3)."""
    changes = new_key_changes(verdict.queue)
    new_arn = changes[0][0].resource or ""
    actions = _kms_actions(verdict)
    statement = _key_statement(verdict, actions)

    def allow_caller(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
        return edit(snap, query, ("key-policy", new_arn), lambda doc: with_statement(doc, statement))

    changes.append(
        (
            Change(
                KEY_POLICY,
                verdict.queue.account,
                "key policy of the new key",
                "add-statement",
                "allow the caller to use the new key through SQS",
                statement,
                None,
                new_arn,
            ),
            allow_caller,
        )
    )
    identity = _add_identity(verdict, _identity_statement(verdict, actions, new_arn))
    if identity is not None:
        changes.append(identity)
    return changes


MAX_ROUNDS = 4


def _gather(
    snapshot: Snapshot, verdict: Verdict, assumptions: Assumptions
) -> tuple[list[tuple[Change, Apply]], list[str]]:
    """Proposals for every blocking layer, in rounds: a change can uncover the next blocker (an explicit
    deny removed, the queue policy may still not allow), so propose, apply to a copy, re-evaluate, repeat."""
    proposals: list[tuple[Change, Apply]] = []
    unfixable: list[str] = []
    snap, query, current = snapshot, verdict.query, verdict
    for _ in range(MAX_ROUNDS):
        more, why_not = _proposals(snap, current)
        unfixable.extend(u for u in why_not if u not in unfixable)
        known = [c for c, _ in proposals]
        more = [p for p in more if p[0] not in known]
        if not more:
            break
        proposals.extend(more)
        snap, query = apply_changes(snap, query, more)
        try:
            current = diagnose(snap, query, assumptions)
        except ValueError:
            break
        if current.decision is not Decision.DENIED:
            break
    return proposals, unfixable


def propose(snapshot: Snapshot, verdict: Verdict, assumptions: Assumptions | None = None) -> FixSet:
    """Fix sets for a denied verdict, each verified by re-evaluation on a modified copy."""
    assumptions = assumptions or Assumptions()
    if verdict.decision is not Decision.DENIED:
        return FixSet(())
    if verdict.caller.type is PrincipalType.ANONYMOUS:
        return FixSet(
            (),
            (
                'an anonymous caller can only be allowed by a queue policy open to Principal "*", which '
                "makes the queue public; sqsdiag does not propose that",
            ),
        )
    proposals, unfixable = _gather(snapshot, verdict, assumptions)
    fixes: list[Fix] = []
    if proposals and not unfixable:
        ok, after = _verify(snapshot, verdict.query, assumptions, proposals)
        fixes.append(Fix("apply all of these changes", tuple(c for c, _ in proposals), ok, after))
    elif proposals:
        ok, after = _verify(snapshot, verdict.query, assumptions, proposals)
        if ok:
            fixes.append(Fix("apply all of these changes", tuple(c for c, _ in proposals), ok, after))
    key = verdict.key.key if verdict.key else None
    if key is not None and key.manager == "AWS" and verdict.caller.account != key.account:
        # alias/aws/sqs can never serve another account (S11): keep what the SQS step needs and either drop
        # KMS altogether (SSE-SQS, S1) or re-encrypt with a customer managed key that allows the caller.
        sqs_side = [p for p in proposals if "kms:" not in json.dumps(p[0].statement or {})]
        sse_sqs = [*sqs_side, _to_sse_sqs(verdict)]
        ok, after = _verify(snapshot, verdict.query, assumptions, sse_sqs)
        fixes.append(Fix("move the queue to SSE-SQS", tuple(c for c, _ in sse_sqs), ok, after, TRADE_OFFS_SSE_SQS))
        cmk = [*sqs_side, *_customer_key_way_out(verdict)]
        ok, after = _verify(snapshot, verdict.query, assumptions, cmk)
        owner_note = (
            f"principals of {verdict.queue.account} used alias/aws/sqs with no KMS permission (S11); with the new "
            "key they need kms:GenerateDataKey/kms:Decrypt on it in their IAM policies",
        )
        cmk_fix = Fix(
            "re-encrypt with a customer managed key", tuple(c for c, _ in cmk), ok, after, TRADE_OFFS_CMK + owner_note
        )
        fixes.append(cmk_fix)
        unfixable = [u for u in unfixable if "AWS managed key" not in u]
    if verdict.encryption.mode == "sse-kms" and any(p[0].layer == KEY_POLICY for p in proposals) and fixes:
        fixes[0] = replace(fixes[0], trade_offs=TRADE_OFFS_CMK)
    return FixSet(tuple(f for f in fixes if f.verified), tuple(unfixable))
