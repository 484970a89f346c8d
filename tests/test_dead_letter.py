"""Row 50 (S5, S8): a dead-letter queue's consumers need kms:Decrypt on the keys of its source queues."""

from __future__ import annotations

import json
from typing import Any

from diagnose.snapshot import from_json
from diagnose.sqs import parse_action
from diagnose.verdict import Assumptions, Query, diagnose
from tests.helpers import ARTICLE, CONSUMER

DLQ = "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-sqs"
KEY = "arn:aws:kms:ap-northeast-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _world() -> dict[str, Any]:
    """The article's SSE-SQS share, plus a source queue on a customer key whose dead-letter queue it is."""
    data: dict[str, Any] = json.loads((ARTICLE / "1-sse-sqs-queue-policy-only.json").read_text())
    key_fixture = json.loads((ARTICLE / "2-sse-kms-queue-policy-only.json").read_text())
    data["keys"] = key_fixture["keys"]
    data["queues"].append(
        {
            "arn": "arn:aws:sqs:ap-northeast-1:111111111111:orders",
            "attributes": {
                "KmsMasterKeyId": KEY,
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": DLQ, "maxReceiveCount": 5}),
            },
        }
    )
    return data


def test_row50_dlq_consumer_needs_the_source_queues_key() -> None:
    verdict = diagnose(from_json(_world()), Query(DLQ, CONSUMER, parse_action("ReceiveMessage")))
    assert verdict.encryption.mode == "sse-sqs"
    assert verdict.decision.value == "denied"
    assert verdict.error is not None and verdict.error.code == "KMS.AccessDeniedException"
    assert [(b.step, b.block.layer) for b in verdict.blocking] == [
        ("kms:Decrypt", "key-policy"),
        ("kms:Decrypt", "identity-policy"),
    ]
    assert verdict.steps[-1].resource == KEY
    assert any("dead-letter queue of arn:aws:sqs:ap-northeast-1:111111111111:orders" in n for n in verdict.notes)


def test_row50_other_actions_and_an_empty_queue_need_no_source_key() -> None:
    world = from_json(_world())
    delete = diagnose(world, Query(DLQ, CONSUMER, parse_action("DeleteMessage")))
    assert delete.decision.value == "allowed"
    empty = diagnose(world, Query(DLQ, CONSUMER, parse_action("ReceiveMessage")), Assumptions(queue_has_messages=False))
    assert empty.decision.value == "allowed"
