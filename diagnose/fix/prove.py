"""Proving fixes: gather proposals in rounds, apply them to a copy, re-evaluate, keep what succeeds."""

from __future__ import annotations

import json
from dataclasses import replace

from diagnose.authz import Decision
from diagnose.authz.model import KEY_POLICY
from diagnose.edits import document_at, normalised
from diagnose.fix.model import TRADE_OFFS_CMK, TRADE_OFFS_SSE_SQS, Apply, Change, Fix, FixSet, apply_changes
from diagnose.fix.proposals import UNUSABLE_KEY, proposals_for
from diagnose.fix.ways_out import customer_key_way_out, to_sse_sqs
from diagnose.policy import PrincipalType
from diagnose.snapshot import Snapshot
from diagnose.verdict import Assumptions, Query, Verdict, diagnose


def _verify(
    snapshot: Snapshot, query: Query, assumptions: Assumptions, changes: list[tuple[Change, Apply]]
) -> tuple[bool, str]:
    snap, q = apply_changes(snapshot, query, changes)
    try:
        after = diagnose(snap, q, assumptions)
    except ValueError:  # a change AWS itself would reject (e.g. an empty key policy) proves nothing
        return False, "not verifiable"
    return after.decision is Decision.ALLOWED, after.decision.value


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
        more, why_not = proposals_for(snap, current)
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
    return _with_final_documents(snapshot, verdict.query, proposals), unfixable


def _with_final_documents(
    snapshot: Snapshot, query: Query, proposals: list[tuple[Change, Apply]]
) -> list[tuple[Change, Apply]]:
    """Replay the changes in order so that each printed document is the document after that change,
    including the changes before it to the same document."""
    out: list[tuple[Change, Apply]] = []
    snap, q = snapshot, query
    for change, apply in proposals:
        snap, q = apply(snap, q)
        if change.location is not None and change.kind != "remove-document":
            document = document_at(snap, q, change.location)
            change = replace(change, document=normalised(document) if document is not None else None)
        out.append((change, apply))
    return out


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
    if proposals:
        ok, after = _verify(snapshot, verdict.query, assumptions, proposals)
        fixes.append(Fix("apply all of these changes", tuple(c for c, _ in proposals), ok, after))
    key = verdict.key.key if verdict.key else None
    aws_managed_elsewhere = key is not None and key.manager == "AWS" and verdict.caller.account != key.account
    unusable_key = any(UNUSABLE_KEY in u for u in unfixable)
    if aws_managed_elsewhere or unusable_key:
        # alias/aws/sqs can never serve another account (S11), and a missing, foreign-Region or wrong-type key
        # serves nobody (K8-K11): keep what the SQS step needs and either drop KMS altogether (SSE-SQS, S1)
        # or re-encrypt with a customer managed key that allows the caller.
        sqs_side = [p for p in proposals if "kms:" not in json.dumps(p[0].statement or {})]
        sse_sqs = [*sqs_side, to_sse_sqs(verdict)]
        ok, after = _verify(snapshot, verdict.query, assumptions, sse_sqs)
        fixes.append(Fix("move the queue to SSE-SQS", tuple(c for c, _ in sse_sqs), ok, after, TRADE_OFFS_SSE_SQS))
        cmk = [*sqs_side, *customer_key_way_out(verdict)]
        ok, after = _verify(snapshot, verdict.query, assumptions, cmk)
        owner_note = (
            (
                f"principals of {verdict.queue.account} used alias/aws/sqs with no KMS permission (S11); with the "
                "new key they need kms:GenerateDataKey/kms:Decrypt on it in their IAM policies",
            )
            if aws_managed_elsewhere
            else ()
        )
        cmk_fix = Fix(
            "re-encrypt with a customer managed key", tuple(c for c, _ in cmk), ok, after, TRADE_OFFS_CMK + owner_note
        )
        fixes.append(cmk_fix)
        unfixable = [u for u in unfixable if "AWS managed key" not in u and UNUSABLE_KEY not in u]
    if verdict.encryption.mode == "sse-kms" and any(p[0].layer == KEY_POLICY for p in proposals) and fixes:
        fixes[0] = replace(fixes[0], trade_offs=TRADE_OFFS_CMK)
    if fixes and not any(f.verified for f in fixes):
        after = fixes[0].decision_after
        why = "it would depend on what is unknown" if after == "inconclusive" else "something still denies"
        unfixable.append(f"no change set could be proven: after the proposed changes the call is {after} ({why})")
    return FixSet(tuple(f for f in fixes if f.verified), tuple(unfixable))  # only proven fixes are shown
