"""Proposals: for each blocking layer, the smallest document change that would lift it."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from diagnose.authz import Evidence
from diagnose.authz.model import (
    BOUNDARY,
    IDENTITY,
    KEY_POLICY,
    KEY_STATE,
    RCP,
    RESOURCE,
    SCP,
    SESSION,
    TRANSPORT,
    VPCE,
)
from diagnose.edits import (
    Transform,
    add_condition,
    attach,
    document_at,
    edit,
    normalised,
    remove_statement,
    replace_key,
    replace_principal,
    set_queue_attributes,
    statement_at,
    unique_sid,
    with_statement,
)
from diagnose.fix.model import Apply, Change
from diagnose.policy import PrincipalType
from diagnose.snapshot import Document, Key, Snapshot
from diagnose.verdict import Query, Verdict
from diagnose.world import Location, org_level_label


def _principal_entry(verdict: Verdict) -> dict[str, Any]:
    caller = verdict.caller
    if caller.type is PrincipalType.SERVICE:
        return {"Service": caller.service}
    return {"AWS": caller.principal_arn or caller.arn}


def sid(*parts: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in parts if p).replace("-", "").replace(":", "")[:100]


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


def kms_actions(verdict: Verdict) -> list[str]:
    return sorted(
        {e.step for e in verdict.blocking if e.step.startswith("kms:")}
        or {s.step for s in verdict.steps if s.step.startswith("kms:")}
    )


def key_statement(verdict: Verdict, actions: list[str]) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid("sqsdiag", "allow", "use", "via", "sqs"),
        "Effect": "Allow",
        "Principal": _principal_entry(verdict),
        "Action": actions if len(actions) > 1 else actions[0],
        "Resource": "*",
    }
    if verdict.caller.type is PrincipalType.SERVICE:
        source = verdict.query.context.get("aws:sourcearn")
        account = verdict.query.context.get("aws:sourceaccount")
        if source:  # S12: confused-deputy scoping
            statement["Condition"] = {"ArnEquals": {"aws:SourceArn": source[0]}}
        elif account:
            statement["Condition"] = {"StringEquals": {"aws:SourceAccount": account[0]}}
    else:
        statement["Condition"] = {"StringEquals": {"kms:ViaService": f"sqs.{verdict.queue.region}.amazonaws.com"}}
    return statement


def identity_statement(verdict: Verdict, actions: list[str], resource: str) -> dict[str, Any]:
    return {
        "Sid": sid("sqsdiag", *[a.split(":")[1] for a in actions]),
        "Effect": "Allow",
        "Action": actions if len(actions) > 1 else actions[0],
        "Resource": resource,
    }


def add_identity(
    verdict: Verdict, statement: dict[str, Any], snapshot: Snapshot | None = None
) -> tuple[Change, Apply] | None:
    """A new inline policy on the caller, named so that it replaces none it already has (PutRolePolicy would)."""
    caller = verdict.caller
    ref = caller.principal_arn
    if caller.type not in (PrincipalType.ROLE_SESSION, PrincipalType.IAM_USER) or ref is None:
        return None
    actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    wanted = "sqsdiag-" + "-".join(a.split(":", 1)[-1].lower() for a in actions)[:100]
    existing = snapshot.principal(ref) if snapshot is not None else None
    taken = {d.name for d in existing.policies or ()} if existing is not None else set()
    name, n = wanted, 2
    while name in taken:
        name, n = f"{wanted}-{n}", n + 1
    document = {"Version": "2012-10-17", "Statement": [statement]}
    change = Change(
        IDENTITY,
        caller.account,
        f"new inline policy {name!r} on {ref}",
        "new-policy",
        f"allow {statement['Action']} on {statement['Resource']} in the caller's identity policy",
        statement,
        document,
        ref,
    )

    def apply(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
        principal = snap.principal(ref) or (snap.role_by_name(caller.account or "", ref.rsplit("/", 1)[-1]))
        if principal is None or principal.policies is None:
            return snap, query
        doc = Document(name=name, document=document, source="inline")
        return replace_principal(snap, replace(principal, policies=(*principal.policies, doc))), query

    return change, apply


def proposals_for(snapshot: Snapshot, verdict: Verdict) -> tuple[list[tuple[Change, Apply]], list[str]]:
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
            statement["Sid"] = unique_sid(queue.attributes.get("Policy"), statement["Sid"])
            after = with_statement(queue.attributes.get("Policy"), statement)

            def apply_queue(
                snap: Snapshot, query: Query, statement: dict[str, Any] = statement
            ) -> tuple[Snapshot, Query]:
                # Appended to the queue policy as it is then (earlier changes may have edited it), or a new one.
                current = snap.queue(queue.arn)
                policy = current.attributes.get("Policy") if current else None
                return set_queue_attributes(
                    snap, queue.arn, {"Policy": json.dumps(with_statement(policy, statement))}
                ), query

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
                        queue.arn,
                        ("queue-policy", queue.arn),
                    ),
                    apply_queue,
                )
            )
        elif layer == IDENTITY:
            actions = kms_actions(verdict) if kms else [verdict.query.action.iam]
            resource = key.arn if kms and key else queue.arn
            proposal = add_identity(verdict, identity_statement(verdict, actions, resource), snapshot)
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
            statement = key_statement(verdict, kms_actions(verdict))
            statement["Sid"] = unique_sid(key.policy, statement["Sid"])
            after = with_statement(key.policy, statement)

            def apply_key(
                snap: Snapshot, query: Query, statement: dict[str, Any] = statement
            ) -> tuple[Snapshot, Query]:
                return edit(snap, query, ("key-policy", key.arn), lambda doc: with_statement(doc, statement))

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
                        key.arn,
                        ("key-policy", key.arn),
                    ),
                    apply_key,
                )
            )
        elif layer in (BOUNDARY, SESSION, VPCE):
            out.append(_limit_fix(verdict, layer, step))
        elif layer == KEY_STATE:
            changes = key_state_changes(key) if key is not None else []
            out.extend(changes)
            if not changes:
                unfixable.append(f"{step}: {UNUSABLE_KEY}")
        elif layer in (SCP, RCP):
            out.extend(_org_allow_fixes(snapshot, verdict, layer, step))
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


# Request-side keys a deny may test, and the call that satisfies the deny's condition instead of removing it.
_REQUEST_KEYS = {"aws:securetransport", "aws:sourcevpce"}


def _deny_fixes(
    snapshot: Snapshot, verdict: Verdict, step: str, layer: str, evidence: tuple[Evidence, ...]
) -> tuple[list[tuple[Change, Apply]], list[str]]:
    """An explicit deny can only be satisfied, narrowed or removed (E1), in that order of preference:
    - a guard on how the call is made (HTTPS, a VPC endpoint: N3, N4): make the call that way;
    - the KMS hop SQS makes as an IAM caller: exempt forward access (AWS's data-perimeter pattern, O2, E9);
    - a guard that also catches AWS service principals (N3): exempt them (aws:PrincipalIsAWSService);
    - otherwise remove the statement (or the whole policy when it is the last one)."""
    out: list[tuple[Change, Apply]] = []
    unfixable: list[str] = []
    service = verdict.caller.type is PrincipalType.SERVICE
    for ev in evidence:
        location = verdict.locations.get(ev.document)
        if location is None or ev.index is None:
            unfixable.append(f"{step}: explicit deny in {ev} cannot be changed (E1)")
            continue
        current = document_at(snapshot, verdict.query, location)
        statement = statement_at(current, ev.index) or {}
        conditions: dict[str, Any] = statement.get("Condition") or {}
        keys = {k.lower() for by_key in conditions.values() for k in by_key}
        request = _satisfying_request(snapshot, conditions) if keys and keys <= _REQUEST_KEYS and not service else None
        if request is not None:
            out.append(request)
            continue
        who = _ACCOUNT_OF_LAYER.get(layer) or _owner_account(verdict, location)
        if step.startswith("kms:") and "aws:viaawsservice" not in keys and not service:
            transform = add_condition(statement, "BoolIfExists", "aws:ViaAWSService", "false")
            kind, text = (
                "narrow-statement",
                (
                    f"exempt calls AWS services make on the caller's behalf from {ev.statement}: add "
                    '"BoolIfExists": {"aws:ViaAWSService": "false"} to it (forward access, O2)'
                ),
            )
        elif service and keys and "aws:principalisawsservice" not in keys:
            transform = add_condition(statement, "BoolIfExists", "aws:PrincipalIsAWSService", "false")
            kind, text = (
                "narrow-statement",
                (
                    f"exempt AWS service principals from {ev.statement}: add "
                    '"BoolIfExists": {"aws:PrincipalIsAWSService": "false"} to it (they never call through your '
                    "network, N3)"
                ),
            )
        else:
            transform = remove_statement(statement)
            kind = "remove-statement"
            text = f"remove or narrow {ev.statement}: it explicitly denies {step} and no allow can override it (E1)"
        after: dict[str, Any] | None = transform(normalised(current))
        if after is not None and not after["Statement"]:
            kind, after = "remove-document", None
            text = f"delete {ev.document} (detach it): its only statement, {ev.statement}, explicitly denies {step}"

        def apply(
            snap: Snapshot, query: Query, location: Location = location, transform: Transform = transform
        ) -> tuple[Snapshot, Query]:
            return edit(snap, query, location, transform)

        resource = _location_resource(snapshot, location)
        change = Change(layer, who, ev.document, kind, text, statement or None, after, resource, location)
        out.append((change, apply))
    return out, unfixable


def _satisfying_request(snapshot: Snapshot, conditions: dict[str, Any]) -> tuple[Change, Apply] | None:
    """A deny conditioned only on how the call is made is lifted by making the call the required way."""
    values: dict[str, tuple[str, ...]] = {}
    for operator, by_key in conditions.items():
        for key, wanted in by_key.items():
            first = wanted[0] if isinstance(wanted, list) and wanted else wanted
            if key.lower() == "aws:securetransport" and operator.startswith("Bool"):
                values["aws:securetransport"] = ("true",)
            elif key.lower() == "aws:sourcevpce" and "Not" in operator and isinstance(first, str):
                endpoint = snapshot.vpc_endpoint(first)
                if endpoint is None or endpoint.policy is None:
                    return None  # the endpoint's own policy is unknown: the call through it cannot be proven
                values["aws:sourcevpce"] = (first,)
            else:
                return None
    how = " and ".join(
        "over HTTPS" if k == "aws:securetransport" else f"through VPC endpoint {v[0]}" for k, v in values.items()
    )

    def apply(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
        return snap, replace(query, context={**query.context, **values})

    return Change(
        TRANSPORT if "aws:securetransport" in values else VPCE,
        None,
        "the caller's client",
        "request",
        f"make the call {how}, as the policy requires (N3, N4)",
    ), apply


def _location_resource(snapshot: Snapshot, location: Location) -> str | None:
    """The ARN or id a document location belongs to: queue, key, principal, endpoint, or org node."""
    if location[0] in ("scp", "rcp"):
        account = snapshot.account(location[1])
        if account is None:
            return None
        node = account.path[int(location[2])]
        docs = (node.scps if location[0] == "scp" else node.rcps) or ()
        doc = docs[int(location[3])] if len(location) > 3 and int(location[3]) < len(docs) else None
        return (doc.arn if doc and doc.arn else None) or node.id  # the policy itself: others may share it
    if location[0] == "identity":
        principal = snapshot.principal(location[1])
        doc = principal.policies[int(location[2])] if principal and principal.policies else None
        if doc is not None and doc.source in ("managed", "group-managed") and doc.arn:
            return doc.arn  # a managed policy, possibly attached to other principals too
        if doc is not None and doc.group:
            return doc.group  # a group's policy applies to every member
    return location[1] if len(location) > 1 else None


def _owner_account(verdict: Verdict, location: Location) -> str | None:
    if location[0] == "queue-policy":
        return verdict.queue.account
    if location[0] == "key-policy":
        return verdict.key.key.account if verdict.key and verdict.key.key else None
    if location[0] in ("identity", "boundary", "session", "vpce"):
        return verdict.caller.account
    return None


UNUSABLE_KEY = "the key cannot serve the queue as it is (missing, wrong Region, wrong type, or not usable: K8-K11)"


def _org_allow_fixes(snapshot: Snapshot, verdict: Verdict, layer: str, step: str) -> list[tuple[Change, Apply]]:
    """Every level of the org path must allow (O1, O3): add the action to a policy attached at each level
    that lacks an allow. SCPs belong to the caller's account path, RCPs to the resource's."""
    if layer == SCP:
        account_id = verdict.caller.account
    elif step.startswith("kms:"):
        account_id = verdict.key.key.account if verdict.key and verdict.key.key else None
    else:
        account_id = verdict.queue.account
    account = snapshot.account(account_id) if account_id else None
    block = next((e.block for e in verdict.blocking if e.step == step and e.block.layer == layer), None)
    if account is None or block is None:
        return []
    missing = {ev.document for ev in block.evidence}
    out: list[tuple[Change, Apply]] = []
    for level, node in enumerate(account.path):
        if org_level_label(layer, node) not in missing:
            continue
        statement: dict[str, Any] = {
            "Sid": sid("sqsdiag", "allow", step.split(":")[1]),
            "Effect": "Allow",
            "Action": step,
            "Resource": "*",
        }
        if layer == RCP:
            statement["Principal"] = "*"
        document = Document(
            f"sqsdiag-allow-{step.split(':')[1].lower()}",
            {"Version": "2012-10-17", "Statement": [statement]},
            source=layer,
        )
        location: Location = (layer, account.id, str(level))

        def apply(
            snap: Snapshot, query: Query, location: Location = location, document: Document = document
        ) -> tuple[Snapshot, Query]:
            return attach(snap, location, document), query

        where = f"{node.type.lower().replace('_', ' ')} {node.name or node.id}"
        out.append(
            (
                Change(
                    layer,
                    "the organization's management account",
                    f"{layer.upper()}s attached at {where}",
                    "attach-policy",
                    f"allow {step} at {where}: every level of the organization path must "
                    f"allow it (O1, O3); add it to a {layer.upper()} attached there",
                    statement,
                    document.document,
                    node.id,
                ),
                apply,
            )
        )
    return out


def _limit_fix(verdict: Verdict, layer: str, step: str) -> tuple[Change, Apply]:
    """A boundary, session policy or VPC endpoint policy must allow the step too (E7, E8, N1)."""
    statement: dict[str, Any] = {
        "Sid": sid("sqsdiag", "allow", step.split(":")[1]),
        "Effect": "Allow",
        "Action": step,
        "Resource": verdict.queue.arn if step.startswith("sqs:") else (verdict.key.arn if verdict.key else None) or "*",
    }
    caller = verdict.caller
    ref = caller.principal_arn or caller.arn
    if layer == SESSION:
        location: Location = ("session",)
        target, kind, text = (
            f"session policy passed when assuming {ref}",
            "request",
            "assume the role again with a session policy that also allows this action",
        )
    elif layer == VPCE:
        vpce_id = verdict.query.context.get("aws:sourcevpce", ("",))[0]
        statement["Principal"] = {"AWS": ref} if caller.principal_arn else "*"  # endpoint policies name principals
        location = ("vpce", vpce_id)
        target, kind, text = (
            f"policy of VPC endpoint {vpce_id}",
            "add-statement",
            "allow this action through the endpoint",
        )
    else:
        location = ("boundary", ref)
        target, kind, text = (
            f"permissions boundary of {ref}",
            "add-statement",
            "the permissions boundary must also allow this action (E7)",
        )

    def apply(snap: Snapshot, query: Query) -> tuple[Snapshot, Query]:
        return edit(snap, query, location, lambda doc: with_statement(doc, statement))

    resource = location[-1] if len(location) > 1 else ref
    return Change(layer, caller.account, target, kind, text, statement, resource=resource, location=location), apply


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
                Change(
                    KEY_STATE, key.account, key.arn, "enable-key", "enable the key (kms:EnableKey)", resource=key.arn
                ),
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
                    resource=key.arn,
                ),
                set_state("Enabled"),
            )
        ]
    return []
