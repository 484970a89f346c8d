"""SQS semantics: which authorizations an SQS action needs, which key encrypts the queue, the context.

Q2 batch actions map to their base action; S1/S2 encryption modes and ``KmsMasterKeyId`` forms;
S5 the KMS operations per action; S6/E9 the forward-access context SQS gives KMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from diagnose.arns import parse_arn
from diagnose.snapshot import Key, Queue, Snapshot

BATCH = {
    "sendmessagebatch": "SendMessage",
    "deletemessagebatch": "DeleteMessage",
    "changemessagevisibilitybatch": "ChangeMessageVisibility",
}
ACTIONS = (
    "SendMessage",
    "ReceiveMessage",
    "DeleteMessage",
    "ChangeMessageVisibility",
    "GetQueueAttributes",
    "GetQueueUrl",
    "PurgeQueue",
    "ListDeadLetterSourceQueues",
    "ListQueueTags",
    "SetQueueAttributes",
    "AddPermission",
    "RemovePermission",
    "DeleteQueue",
    "TagQueue",
    "UntagQueue",
    "StartMessageMoveTask",
    "CancelMessageMoveTask",
    "ListMessageMoveTasks",
)
# Q3: a queue-policy grant of these to another account has no effect.
NO_CROSS_ACCOUNT = frozenset(
    {
        "AddPermission",
        "RemovePermission",
        "SetQueueAttributes",
        "DeleteQueue",
        "ListQueueTags",
        "TagQueue",
        "UntagQueue",
    }
)
# S5: KMS operations SQS performs as the caller, in the order it performs them.
KMS_OPERATIONS: dict[str, tuple[str, ...]] = {
    "SendMessage": ("GenerateDataKey", "Decrypt"),
    "ReceiveMessage": ("Decrypt",),
}
DEFAULT_REUSE_SECONDS = 300


@dataclass(frozen=True)
class Action:
    api: str  # what the caller calls, e.g. "SendMessageBatch"
    base: str  # what it is authorized as (Q2), e.g. "SendMessage"

    @property
    def iam(self) -> str:
        return f"sqs:{self.base}"


def parse_action(text: str) -> Action:
    name = text.strip()
    if name.lower().startswith("sqs:"):
        name = name[4:]
    lookup = {a.lower(): a for a in ACTIONS}
    lower = name.lower()
    if lower in BATCH:
        api = {
            "sendmessagebatch": "SendMessageBatch",
            "deletemessagebatch": "DeleteMessageBatch",
            "changemessagevisibilitybatch": "ChangeMessageVisibilityBatch",
        }[lower]
        return Action(api, BATCH[lower])
    if lower not in lookup:
        raise ValueError(f"--action {text!r} is not an SQS action (e.g. ReceiveMessage, SendMessage, DeleteMessage)")
    return Action(lookup[lower], lookup[lower])


@dataclass(frozen=True)
class Encryption:
    mode: Literal["none", "sse-sqs", "sse-kms", "unknown"]  # unknown: the queue's attributes could not be read
    key_ref: str | None = None  # KmsMasterKeyId verbatim (S3)
    reuse_seconds: int = DEFAULT_REUSE_SECONDS


def encryption_of(queue: Queue) -> Encryption:
    """S1: a non-empty ``KmsMasterKeyId`` means SSE-KMS, and wins over ``SqsManagedSseEnabled``."""
    attrs = queue.attributes
    key_ref = (attrs.get("KmsMasterKeyId") or "").strip()
    try:
        reuse = int(attrs.get("KmsDataKeyReusePeriodSeconds") or DEFAULT_REUSE_SECONDS)
    except ValueError:
        reuse = DEFAULT_REUSE_SECONDS
    if key_ref:
        return Encryption("sse-kms", key_ref, reuse)
    if (attrs.get("SqsManagedSseEnabled") or "").lower() == "true":
        return Encryption("sse-sqs")
    return Encryption("none")


@dataclass(frozen=True)
class KeyResolution:
    status: Literal["found", "missing", "unknown"]
    key: Key | None
    arn: str | None  # the key ARN when known, else the best identifier we have
    notes: tuple[str, ...] = ()
    unknown_reason: str = ""


def resolve_key(snapshot: Snapshot, queue: Queue, ref: str) -> KeyResolution:
    """S2/S3: key id, key ARN, alias name or alias ARN; bare forms resolve in the queue owner's account."""
    notes: list[str] = []
    account, region = queue.account, queue.region
    if ref.startswith("arn:"):
        arn = parse_arn(ref, "KmsMasterKeyId")
        account, region = arn.account, arn.region
        resource = arn.resource
    else:
        resource = ref if ref.startswith("alias/") else f"key/{ref}"
        notes.append(
            f"KmsMasterKeyId {ref!r} is not a full ARN; it is resolved in the queue owner's account {account} "
            "(UNVERIFIED for cross-account callers, S3) — a full key ARN removes the doubt"
        )
    if resource.startswith("alias/"):
        key = next(
            (k for k in snapshot.keys if resource in k.aliases and k.account == account and k.region == region),
            None,
        )
        ident = f"arn:aws:kms:{region}:{account}:{resource}"
        if key is not None:
            notes.append(
                f"{resource} resolves to {key.arn}; repointing the alias changes the key for new messages (S3)"
            )
    else:
        ident = f"arn:aws:kms:{region}:{account}:{resource}"
        key = snapshot.key(ident)
    if key is not None:
        if key.region != queue.region:
            notes.append(f"the key is in {key.region} but the queue in {queue.region}: KMS keys are Regional (K11)")
            return KeyResolution("missing", key, key.arn, tuple(notes))
        return KeyResolution("found", key, key.arn, tuple(notes))
    gaps = [g for g in snapshot.gaps if g.layer == "key" and g.resource in (ref, ident)]
    if any(g.error in ("NotFoundException", "NotFound") for g in gaps):
        return KeyResolution("missing", None, ident, tuple(notes))
    if region != queue.region:
        notes.append(f"KmsMasterKeyId names region {region} but the queue is in {queue.region} (K11)")
        return KeyResolution("missing", None, ident, tuple(notes))
    reason = f"key {ident}: " + (f"{gaps[0].operation} failed ({gaps[0].error})" if gaps else "not in the snapshot")
    return KeyResolution("unknown", None, ident, tuple(notes), reason)


def fas_context(
    caller_account: str | None, queue: Queue, fas_source_ip: str | None
) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """The request context of the KMS call SQS makes as the caller (E9, S6, N2, C7).

    Returns (values, keys known to be absent). The encryption context ``aws:sqs:arn`` is UNVERIFIED (S6).
    """
    values: dict[str, tuple[str, ...]] = {
        "kms:viaservice": (f"sqs.{queue.region}.amazonaws.com",),
        "aws:viaawsservice": ("true",),
        "aws:calledvia": ("sqs.amazonaws.com",),
        "aws:calledviafirst": ("sqs.amazonaws.com",),
        "aws:calledvialast": ("sqs.amazonaws.com",),
        "kms:encryptioncontext:aws:sqs:arn": (queue.arn,),
        "kms:encryptioncontextkeys": ("aws:sqs:arn",),
        "aws:securetransport": ("true",),
        "kms:encryptionalgorithm": ("SYMMETRIC_DEFAULT",),
    }
    if caller_account:
        values["kms:calleraccount"] = (caller_account,)
    absent = {"aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip", "kms:grantisforawsresource"}
    if fas_source_ip:
        values["aws:sourceip"] = (fas_source_ip,)
    else:
        absent.add("aws:sourceip")  # C7: default "the caller IP is NOT seen on the FAS hop"
    return values, frozenset(absent)
