"""The one solver: propose, apply to a copy, re-evaluate — over a *set* of questions (why-denied is one
question; a pre-flight is one per action of the share) — until nothing new is needed; then prove.

A change can uncover the next blocker (an explicit deny removed, the queue policy may still not allow), so
the solver works in rounds: every round classifies what still blocks into needs, and rebuilds the whole
change set from the needs against the world as it started, so that two needs of one document become
changes that compose rather than edits of an already edited copy.
"""

from __future__ import annotations

from collections.abc import Sequence

from diagnose.arns import parse_arn
from diagnose.authz import Decision, Layer
from diagnose.docref import KeyRecord, QueueAttributes, SessionPolicy, TheRequest
from diagnose.policy import PrincipalType
from diagnose.remedy.apply import apply_all, with_documents
from diagnose.remedy.build import build
from diagnose.remedy.model import Change, ChangeKind, ChangeSet, CreateKey, Remedy, SetAttributes
from diagnose.remedy.needs import Needs, Scope, classify
from diagnose.remedy.statements import Grantee, grantee_of
from diagnose.snapshot import Key, Queue, Snapshot
from diagnose.sqs import encryption_of
from diagnose.verdict import Assumptions, Query, Verdict, diagnose
from diagnose.world import World

MAX_ROUNDS = 5
NEW_KEY_ID = "NEW-KEY-ID"  # placeholder: the real id is known after kms:CreateKey


def evaluate(
    snapshot: Snapshot, questions: Sequence[Query], changes: Sequence[Change], assumptions: Assumptions
) -> tuple[Snapshot, list[Verdict] | None]:
    """Every question on a copy of the world with the changes made, and that copy; no verdicts when a change
    makes the world one AWS itself would reject (e.g. an empty key policy): such a change proves nothing."""
    world_changes = [c for c in changes if not isinstance(c.ref, TheRequest | SessionPolicy)]
    call_changes = [c for c in changes if isinstance(c.ref, TheRequest | SessionPolicy)]
    snap, _ = apply_all((snapshot, questions[0]), world_changes)
    world = World(snap)
    out = []
    try:
        for question in questions:
            _, query = apply_all((snap, question), call_changes)
            out.append(diagnose(snap, query, assumptions, world=world))
    except ValueError:
        return snap, None
    return snap, out


def solve(
    model: Snapshot,
    questions: Sequence[Query],
    grantee: Grantee,
    assumptions: Assumptions,
    scope: Scope,
    prefix: Sequence[Change] = (),
) -> tuple[tuple[Change, ...], Needs]:
    """Rounds of evaluate → classify what blocks → build, on ``model``, until nothing new is needed.
    ``prefix``: changes decided beforehand (a way out of the encryption), kept in front."""
    ref, _ = apply_all((model, questions[0]), prefix)
    needs = Needs()
    changes: list[Change] = list(prefix)
    for _ in range(MAX_ROUNDS):
        snap, verdicts = evaluate(model, questions, changes, assumptions)
        if verdicts is None or all(v.decision is Decision.ALLOWED for v in verdicts):
            break
        before = needs.signature()
        for verdict in verdicts:
            classify(needs, snap, verdict, grantee, scope)
        if needs.signature() == before:
            break
        changes = [*prefix, *build(ref, questions[0], needs, grantee)]
    return with_documents((model, questions[0]), changes), needs


def prove(
    snapshot: Snapshot, questions: Sequence[Query], changes: Sequence[Change], assumptions: Assumptions
) -> tuple[bool, tuple[tuple[str, str], ...]]:
    """Apply every change to a copy and ask every question again: verified only if all are allowed."""
    _, verdicts = evaluate(snapshot, questions, changes, assumptions)
    if verdicts is None:
        return False, tuple((q.action.api, "not verifiable") for q in questions)
    after = tuple((v.query.action.api, v.decision.value) for v in verdicts)
    return all(v.decision is Decision.ALLOWED for v in verdicts), after


# ----------------------------------------------------------------------------------------------- ways out

TRADE_OFFS_SSE_SQS = (
    "SSE-SQS: no KMS cost and no key to manage; access is controlled by one layer (the queue policy)",
    "SSE-SQS: KMS no longer records who decrypted (no CloudTrail Decrypt events with aws:sqs:arn)",
    "SSE-SQS: no KMS request cost and no data-key reuse period: access ends as soon as the queue "
    "policy or IAM change propagates",
)


def reuse_text(seconds: int) -> str:
    return (
        f"KmsDataKeyReusePeriodSeconds={seconds}: SQS reuses a data key for up to {seconds} s per requester "
        "(each account, user, role and distinct session policy has its own: S4, S7). Longer means fewer KMS "
        "requests (lower cost, fewer CloudTrail events) but a revocation in the key policy or IAM takes up to "
        f"that long, plus propagation, to stop a caller holding a cached data key (EC5); range 60-86400, "
        "default 300"
    )


def trade_offs_cmk(seconds: int) -> tuple[str, ...]:
    return (
        "customer managed key: two layers of access control (queue policy and key policy), and every "
        "GenerateDataKey/Decrypt is a KMS CloudTrail event with the queue ARN in its encryption context "
        "(aws:sqs:arn): you can audit who decrypted",
        "customer managed key: a monthly key charge plus KMS requests, which scale with the number of "
        "distinct producers and consumers and shrink with a longer data-key reuse period",
        reuse_text(seconds),
    )


def sse_sqs_change(queue: Queue) -> Change:
    """Switch the queue to SSE-SQS (S1): no KMS call and no KMS permission any more."""
    return Change(
        layer="queue",
        account=queue.account,
        target=f"attributes of {queue.arn}",
        kind=ChangeKind.SET_QUEUE_ATTRIBUTES,
        description='switch the queue to SSE-SQS: SqsManagedSseEnabled=true, KmsMasterKeyId="" (messages already '
        "encrypted under the KMS key still need it until drained, S8)",
        ref=QueueAttributes(queue.arn),
        edit=SetAttributes({"SqsManagedSseEnabled": "true"}, ("KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds")),
        document={"SqsManagedSseEnabled": "true", "KmsMasterKeyId": ""},
        resource=queue.arn,
    )


def new_key_changes(queue: Queue) -> list[Change]:
    """Create a symmetric customer managed key whose policy enables IAM for the queue account, and point
    the queue at it (S2: by full key ARN)."""
    partition = parse_arn(queue.arn).partition
    arn = f"arn:{partition}:kms:{queue.region}:{queue.account}:key/{NEW_KEY_ID}"
    policy = {
        "Version": "2012-10-17",
        "Id": "sqsdiag-preflight-key-policy",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{queue.account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
    key = Key(
        arn=arn,
        manager="CUSTOMER",
        state="Enabled",
        spec="SYMMETRIC_DEFAULT",
        usage="ENCRYPT_DECRYPT",
        policy=policy,
        policy_source="GetKeyPolicy",
        grants=(),
    )
    return [
        Change(
            layer=Layer.KEY_POLICY,
            account=queue.account,
            target=f"a new symmetric customer managed key in {queue.account} ({queue.region})",
            kind=ChangeKind.CREATE_KEY,
            description="create a symmetric encryption key (kms:CreateKey) whose key policy enables IAM policies of "
            f"the queue account; {NEW_KEY_ID} stands for the id CreateKey returns. The statement below for the "
            "other side is added to this policy",
            ref=KeyRecord(arn),
            edit=CreateKey(key),
            document=policy,
            resource=arn,
        ),
        Change(
            layer="queue",
            account=queue.account,
            target=f"attributes of {queue.arn}",
            kind=ChangeKind.SET_QUEUE_ATTRIBUTES,
            description=f"point the queue at the new key: KmsMasterKeyId={arn} (the full key ARN, S3)",
            ref=QueueAttributes(queue.arn),
            edit=SetAttributes({"KmsMasterKeyId": arn, "SqsManagedSseEnabled": "false"}),
            document={"KmsMasterKeyId": arn},
            resource=queue.arn,
        ),
    ]


def ways_out(
    base: Snapshot,
    model: Snapshot,
    questions: Sequence[Query],
    grantee: Grantee,
    assumptions: Assumptions,
    scope: Scope,
    managed: Key | None,
) -> list[ChangeSet]:
    """When the queue's key cannot serve the caller (alias/aws/sqs for another account or a service: S10,
    S11; a missing, foreign-Region or wrong-type key: K8-K11): SSE-SQS, or a new customer managed key —
    each solved for the rest of what blocks and proven the same way."""
    queue = base.queue(questions[0].queue_arn)
    assert queue is not None
    reuse = encryption_of(queue).reuse_seconds
    notes: tuple[str, ...] = ()
    cmk_notes: tuple[str, ...] = ()
    if managed is not None:
        notes = (
            "messages already in the queue stay encrypted under alias/aws/sqs and only principals of "
            f"{queue.account} can read them: drain them before the other side starts reading (S8)",
        )
        cmk_notes = (
            f"with IAM enabled on the new key, principals of {queue.account} that used alias/aws/sqs without "
            "any KMS permission now need kms:GenerateDataKey/kms:Decrypt on the new key ARN in their "
            "identity policies (K1, K2)",
        )
    out = []
    for title, prefix, trade_offs, extra in (
        ("move the queue to SSE-SQS", [sse_sqs_change(queue)], TRADE_OFFS_SSE_SQS, ()),
        ("re-encrypt with a new customer managed key", new_key_changes(queue), trade_offs_cmk(reuse), cmk_notes),
    ):
        changes, needs = solve(model, questions, grantee, assumptions, scope, prefix)
        ok, after = prove(base, questions, changes, assumptions)
        out.append(
            ChangeSet(
                title=title,
                changes=changes,
                verified=ok,
                after=after,
                unfixable=tuple(needs.unfixable),
                trade_offs=trade_offs,
                notes=(*notes, *extra),
            )
        )
    return out


# ----------------------------------------------------------------------------------------------- why-denied


def propose(snapshot: Snapshot, verdict: Verdict, assumptions: Assumptions | None = None) -> Remedy:
    """Fix sets for a denied verdict, each verified by re-evaluation on a modified copy; only proven ones
    are returned (DESIGN principle 7), with what could not be proposed."""
    assumptions = assumptions or Assumptions()
    if verdict.decision is not Decision.DENIED:
        return Remedy(fixes=())
    if verdict.caller.type is PrincipalType.ANONYMOUS:
        return Remedy(
            fixes=(),
            unfixable=(
                'an anonymous caller can only be allowed by a queue policy open to Principal "*", which '
                "makes the queue public; sqsdiag does not propose that",
            ),
        )
    grantee = grantee_of(verdict)
    questions = (verdict.query,)
    changes, needs = solve(snapshot, questions, grantee, assumptions, Scope.ANY)
    fixes: list[ChangeSet] = []
    unfixable = list(needs.unfixable)
    if changes:
        ok, after = prove(snapshot, questions, changes, assumptions)
        cmk = verdict.encryption.mode == "sse-kms" and any(c.layer == "key-policy" for c in changes)
        trade_offs = trade_offs_cmk(verdict.encryption.reuse_seconds) if cmk else ()
        fixes.append(
            ChangeSet(
                title="apply all of these changes",
                changes=changes,
                verified=ok,
                after=after,
                unfixable=tuple(unfixable),
                trade_offs=trade_offs,
            )
        )
    if needs.managed_key is not None or needs.unusable_key:
        fixes.extend(ways_out(snapshot, snapshot, questions, grantee, assumptions, Scope.ANY, needs.managed_key))
    if fixes and not any(f.verified for f in fixes):
        after_text = fixes[0].decision_after
        why = "it would depend on what is unknown" if after_text == "inconclusive" else "something still denies"
        unfixable.append(f"no change set could be proven: after the proposed changes the call is {after_text} ({why})")
    return Remedy(fixes=tuple(f for f in fixes if f.verified), unfixable=tuple(dict.fromkeys(unfixable)))


__all__ = [
    "NEW_KEY_ID",
    "evaluate",
    "new_key_changes",
    "propose",
    "prove",
    "solve",
    "sse_sqs_change",
    "ways_out",
]
