"""Ways out of an encryption that cannot work: SSE-SQS, or a new customer managed key (S1, S10, S11)."""

from __future__ import annotations

from dataclasses import replace

from diagnose.arns import parse_arn
from diagnose.authz.model import (
    KEY_POLICY,
)
from diagnose.edits import (
    edit,
    set_queue_attributes,
    with_statement,
)
from diagnose.fix.model import Apply, Change
from diagnose.fix.proposals import add_identity, identity_statement, key_statement, kms_actions
from diagnose.snapshot import Key, Queue, Snapshot
from diagnose.verdict import Query, Verdict


def to_sse_sqs(verdict: Verdict) -> tuple[Change, Apply]:
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
            queue.arn,
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


def customer_key_way_out(verdict: Verdict) -> list[tuple[Change, Apply]]:
    """A new customer managed key for the queue, its key-policy statement for the caller, and (for IAM
    callers) the caller's identity statement for it (K1-K3)."""
    changes = new_key_changes(verdict.queue)
    new_arn = changes[0][0].resource or ""
    actions = kms_actions(verdict)
    statement = key_statement(verdict, actions)

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
    identity = add_identity(verdict, identity_statement(verdict, actions, new_arn))
    if identity is not None:
        changes.append(identity)
    return changes
