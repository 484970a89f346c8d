"""What a fix is: changes to documents, each with how to apply it to a copy of the world."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from diagnose.snapshot import Snapshot
from diagnose.verdict import Query

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
    # add-statement | new-policy | remove-statement | narrow-statement | remove-document | attach-policy |
    # set-queue-attributes | create-key | enable-key | cancel-key-deletion | request
    kind: str
    description: str
    statement: dict[str, Any] | None = None
    document: dict[str, Any] | None = None  # the full document after the change, when known
    resource: str | None = None  # what it applies to: queue, key or principal ARN, endpoint or org node id
    location: tuple[str, ...] | None = field(default=None, compare=False)  # where the document lives (internal)

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


def apply_changes(
    snapshot: Snapshot, query: Query, changes: list[tuple[Change, Apply]] | tuple[tuple[Change, Apply], ...]
) -> tuple[Snapshot, Query]:
    """Apply every change of a change set to a copy of the world (the snapshot itself never changes)."""
    snap, q = snapshot, query
    for _, apply in changes:
        snap, q = apply(snap, q)
    return snap, q
