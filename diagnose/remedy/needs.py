"""The one classifier: from each blocking layer of a verdict to what it needs (grants to add, denies to
narrow or remove, a limit to widen, a key to enable, a different call), accumulated over questions and rounds.

Needs are plain data keyed by what they change, so that the same need found twice (two questions, two
rounds, the SQS step and the KMS step) is one need, and ``build`` makes one change per document from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from diagnose.authz.model import Blocking, Layer, assert_never
from diagnose.docref import PolicyRef
from diagnose.managed_keys import is_aws_managed
from diagnose.policy import PrincipalType
from diagnose.remedy.apply import document_at, statements_of
from diagnose.remedy.statements import Grantee
from diagnose.snapshot import Key, Snapshot
from diagnose.verdict import BlockingEntry, Verdict
from diagnose.world import org_level_label


class Scope(Enum):
    """Which layers a remedy may change."""

    ANY = "any"  # why-denied: whatever blocks, including denies and organization policies
    SHARE = "share"  # pre-flight: what the parties of a share add (queue, key and identity policies, key state)


# Request-side keys a deny may test, and that the call itself can satisfy instead (N3, N4).
_REQUEST_KEYS = frozenset({"aws:securetransport", "aws:sourcevpce"})
_NETWORK_KEYS = frozenset({"aws:sourcevpce", "aws:sourcevpc", "aws:sourceip", "aws:vpcsourceip", "aws:vpceaccount"})


@dataclass
class QueueGrant:
    queue: str
    actions: set[str] = field(default_factory=set)


@dataclass
class KeyGrant:
    key: str
    ops: set[str] = field(default_factory=set)


@dataclass
class IdentityGrant:
    sqs: set[str] = field(default_factory=set)
    kms: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class LimitGrant:
    layer: Layer  # BOUNDARY, SESSION or VPCE
    step: str
    resource: str


@dataclass
class OrgGrant:
    layer: Layer  # SCP or RCP
    account: str
    level: int
    step: str


@dataclass
class DenyEdit:
    """Narrow (one more condition) or remove an explicit deny (E1)."""

    layer: Layer
    ref: PolicyRef
    statement: dict[str, Any]
    label: str  # the evidence: document and statement
    document_name: str
    narrow: tuple[str, str, str] | None  # (operator, key, value), or None to remove
    step: str


@dataclass
class RequestChange:
    layer: Layer  # TRANSPORT or VPCE
    values: dict[str, tuple[str, ...]]

    @property
    def key(self) -> str:
        """One need per way of making the call, whichever layer asked for it."""
        return f"request {sorted(self.values.items())}"


@dataclass
class KeyStateChange:
    key: Key


Need = QueueGrant | KeyGrant | IdentityGrant | LimitGrant | OrgGrant | DenyEdit | RequestChange | KeyStateChange


@dataclass
class Needs:
    items: dict[str, Need] = field(default_factory=dict)  # in the order they were found (AWS evaluation order)
    managed_key: Key | None = None  # alias/aws/sqs in the way: no statement can open it (S10, S11)
    unusable_key: bool = False  # missing, foreign Region, wrong type, pending import (K8-K11)
    unfixable: dict[str, None] = field(default_factory=dict)

    def signature(self) -> str:
        def plain(value: Any) -> Any:
            if isinstance(value, set):
                return sorted(value)
            if isinstance(value, dict):
                return {str(k): plain(v) for k, v in value.items()}
            if hasattr(value, "__dataclass_fields__"):
                return {k: plain(getattr(value, k)) for k in value.__dataclass_fields__}
            return repr(value) if not isinstance(value, str | int | float | type(None)) else value

        return json.dumps(
            [plain(self.items), self.managed_key is not None, self.unusable_key, list(self.unfixable)], sort_keys=True
        )

    def get(self, key: str, default: Need) -> Need:
        return self.items.setdefault(key, default)


def classify(needs: Needs, snapshot: Snapshot, verdict: Verdict, grantee: Grantee, scope: Scope) -> None:
    """Add what every blocking layer of ``verdict`` needs (``snapshot`` is the world it was decided on)."""
    for entry in verdict.blocking:
        step, block = entry.step, entry.block
        kms = step.startswith("kms:")
        key = snapshot.key(entry.resource) if kms else None
        evidence = "; ".join(str(e) for e in block.evidence) or block.note
        if block.explicit and block.layer not in (Layer.KEY_STATE, Layer.TRANSPORT):
            if scope is Scope.SHARE:
                needs.unfixable[
                    f"{step}: explicit deny in the {block.layer} ({evidence}): narrow or remove that statement; "
                    "no allow can override it (E1)"
                ] = None
            else:
                _deny_needs(needs, snapshot, verdict, entry)
            continue
        match block.layer:
            case Layer.RESOURCE:
                if not kms:
                    grant = needs.get(f"queue {verdict.queue.arn}", QueueGrant(verdict.queue.arn))
                    assert isinstance(grant, QueueGrant)
                    grant.actions.add(step)
            case Layer.IDENTITY:
                if grantee.service:
                    continue
                if grantee.identity_arn is None:
                    if scope is Scope.ANY:
                        needs.unfixable[
                            f"{step}: the caller's identity policies cannot be changed by sqsdiag's proposals"
                        ] = None
                    continue
                identity = needs.get("identity", IdentityGrant())
                assert isinstance(identity, IdentityGrant)
                if not kms:
                    identity.sqs.add(step)
                elif key is not None:
                    identity.kms.setdefault(key.arn, set()).add(step)
            case Layer.KEY_POLICY:
                if key is None:
                    continue
                if is_aws_managed(key.manager, key.aliases):
                    needs.managed_key = key
                elif key.policy is None:
                    needs.unfixable[
                        f"{step}: the key policy of {key.arn} was not read, so no change to it can be proven"
                    ] = None
                else:
                    grant = needs.get(f"key {key.arn}", KeyGrant(key.arn))
                    assert isinstance(grant, KeyGrant)
                    grant.ops.add(step)
            case Layer.KEY_STATE:
                if key is not None and key.state in ("Disabled", "PendingDeletion"):
                    needs.get(f"key-state {key.arn}", KeyStateChange(key))
                else:
                    needs.unusable_key = True
            case Layer.BOUNDARY | Layer.SESSION | Layer.VPCE:
                if scope is Scope.SHARE:
                    _not_proposed(needs, step, block, evidence)
                    continue
                resource = verdict.queue.arn if not kms else (key.arn if key else "*")
                needs.get(f"limit {block.layer} {step}", LimitGrant(block.layer, step, resource))
            case Layer.SCP | Layer.RCP:
                if scope is Scope.SHARE:
                    _not_proposed(needs, step, block, evidence)
                    continue
                _org_needs(needs, snapshot, verdict, entry, key)
            case Layer.TRANSPORT:
                https = RequestChange(Layer.TRANSPORT, {"aws:securetransport": ("true",)})
                needs.get(https.key, https)
            case Layer.GRANT:
                needs.unfixable[f"{step}: no automatic proposal for the {block.layer} layer; see the evidence"] = None
            case _ as unreachable:
                assert_never(unreachable)


def _not_proposed(needs: Needs, step: str, block: Blocking, evidence: str) -> None:
    who = {Layer.SCP: "the organization (SCP)", Layer.RCP: "the organization (RCP)"}.get(block.layer, "its owner")
    needs.unfixable[
        f"{step}: the {block.layer} does not allow it ({evidence}); {who} must allow it — "
        "no statement is proposed for this layer"
    ] = None


def _deny_needs(needs: Needs, snapshot: Snapshot, verdict: Verdict, entry: BlockingEntry) -> None:
    """An explicit deny can only be satisfied, narrowed or removed (E1), in that order of preference:
    - a guard on how the call is made (HTTPS, a VPC endpoint: N3, N4): make the call that way;
    - the KMS hop SQS makes as an IAM caller: exempt forward access (AWS's data-perimeter pattern, O2, E9);
    - a guard that also catches AWS service principals (N3): exempt them (aws:PrincipalIsAWSService);
    - otherwise remove the statement (or the whole policy when it is the last one)."""
    step = entry.step
    service = verdict.caller.type is PrincipalType.SERVICE
    for ev in entry.block.evidence:
        ref = verdict.locations.get(ev.document)
        if ref is None or ev.index is None:
            needs.unfixable[f"{step}: explicit deny in {ev} cannot be changed (E1)"] = None
            continue
        statements = statements_of(document_at(snapshot, verdict.query, ref))
        statement = statements[ev.index] if ev.index < len(statements) else {}
        conditions: dict[str, Any] = statement.get("Condition") or {}
        keys = {k.lower() for by_key in conditions.values() for k in by_key}
        forward_hop = step.startswith("kms:") and not service
        if keys and keys <= _REQUEST_KEYS and not service and not forward_hop:
            request = _satisfying_request(snapshot, conditions)
            if request is not None:
                needs.get(request.key, request)
                continue
        narrow: tuple[str, str, str] | None = None
        if forward_hop and "aws:viaawsservice" not in keys:
            # The KMS call SQS makes for the caller carries no endpoint or TLS of the caller's own (N2, S6):
            # only exempting forward access lifts the guard there (AWS's data-perimeter pattern, O2).
            narrow = ("BoolIfExists", "aws:ViaAWSService", "false")
        elif service and keys and keys <= _NETWORK_KEYS:
            # A network guard catches AWS service principals, which never call through your network (N3);
            # a guard on the service's source (confused deputy, Q6) is meant for it and is not narrowed.
            narrow = ("BoolIfExists", "aws:PrincipalIsAWSService", "false")
        key = f"deny {ref!r} {json.dumps(statement, sort_keys=True)}"
        found = needs.items.get(key)
        if isinstance(found, DenyEdit):
            if found.narrow is not None and narrow is None:
                found.narrow = None  # one step needs it gone: removing it serves the other step too
            continue
        needs.items[key] = DenyEdit(entry.block.layer, ref, statement, ev.statement, ev.document, narrow, step)


def _satisfying_request(snapshot: Snapshot, conditions: dict[str, Any]) -> RequestChange | None:
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
    return RequestChange(Layer.TRANSPORT if "aws:securetransport" in values else Layer.VPCE, values)


def _org_needs(needs: Needs, snapshot: Snapshot, verdict: Verdict, entry: BlockingEntry, key: Key | None) -> None:
    """Every level of the org path must allow (O1, O3): SCPs on the caller's account path, RCPs on the
    resource's (the queue's, or the key's for a KMS step)."""
    layer, step = entry.block.layer, entry.step
    if layer is Layer.SCP:
        account_id = verdict.caller.account
    elif step.startswith("kms:"):
        account_id = key.account if key else None
    else:
        account_id = verdict.queue.account
    account = snapshot.account(account_id) if account_id else None
    if account is None:
        return
    missing = {ev.document for ev in entry.block.evidence}
    for level, node in enumerate(account.path):
        if org_level_label(layer.value, node) in missing:
            needs.get(f"org {layer} {account.id} {level} {step}", OrgGrant(layer, account.id, level, step))
