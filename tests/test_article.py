"""The four cases of the article the project started from (DESIGN.md), end to end through the CLI."""

from __future__ import annotations

import json

import pytest

from tests.helpers import ARTICLE, CONSUMER, run_cli

REGION_URL = "https://sqs.ap-northeast-1.amazonaws.com/111111111111"


def why(capsys: pytest.CaptureFixture[str], fixture: str, queue: str, *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    run = run_cli(
        capsys,
        "why-denied",
        "--snapshot",
        str(ARTICLE / fixture),
        "--queue",
        f"{REGION_URL}/{queue}",
        "--principal",
        CONSUMER,
        "--format",
        "json",
        *extra,
    )
    assert run.err == ""
    return run.code, json.loads(run.out)


def test_s1_sse_sqs_shared_by_queue_policy_alone_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = why(capsys, "1-sse-sqs-queue-policy-only.json", "hoge-sse-sqs")
    assert (code, out["decision"], out["error"], out["blocking"]) == (0, "allowed", None, [])
    assert out["queue"]["encryption"] == "sse-sqs"
    assert [s["step"] for s in out["steps"]] == ["sqs:ReceiveMessage"]  # S1: no KMS step at all
    assert out["schema_version"] == "1"


def test_k3_customer_key_with_queue_policy_only_is_kms_access_denied(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = why(capsys, "2-sse-kms-queue-policy-only.json", "hoge-sse-customer")
    assert code == 1 and out["decision"] == "denied"
    assert out["error"]["code"] == "KMS.AccessDeniedException"
    assert out["error"]["operation"] == "ReceiveMessage"
    assert [(b["step"], b["layer"], b["reached"]) for b in out["blocking"]] == [
        ("kms:Decrypt", "key-policy", True),
        ("kms:Decrypt", "identity-policy", True),
    ]
    fix = out["fixes"][0]
    assert fix["verified"] and fix["decision_after"] == "allowed"
    assert {(c["layer"], c["account"]) for c in fix["changes"]} == {
        ("key-policy", "111111111111"),
        ("identity-policy", "222222222222"),
    }
    key_change = next(c for c in fix["changes"] if c["layer"] == "key-policy")
    assert key_change["statement"]["Principal"] == {"AWS": CONSUMER}
    assert key_change["statement"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "sqs.ap-northeast-1.amazonaws.com"}
    }


def test_x6_legacy_message_is_the_articles_text(capsys: pytest.CaptureFixture[str]) -> None:
    _, out = why(capsys, "2-sse-kms-queue-policy-only.json", "hoge-sse-customer", "--message-style", "legacy")
    assert out["error"]["message"] == (
        "The ciphertext refers to a customer master key that does not exist, does not exist in this region, "
        "or you are not allowed to access."
    )
    assert out["error"]["kms_suffix"].startswith(
        "(Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException"
    )


def test_k3_after_sharing_the_key_receive_is_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = why(capsys, "3-sse-kms-key-shared.json", "hoge-sse-customer")
    assert (code, out["decision"], out["blocking"]) == (0, "allowed", [])
    kms = next(s for s in out["steps"] if s["step"] == "kms:Decrypt")
    key_layer = next(layer for layer in kms["layers"] if layer["layer"] == "key-policy")
    assert key_layer["evidence"][0]["statement"] == "Sid 'AllowConsumerAccountToDecrypt'"


def test_s11_aws_managed_key_cross_account_denied_with_no_key_policy_fix(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = why(capsys, "4-aws-sqs-key-cross-account.json", "hoge-sse-default")
    assert code == 1 and out["error"]["code"] == "KMS.AccessDeniedException"
    assert [(b["step"], b["layer"]) for b in out["blocking"]] == [("kms:Decrypt", "key-policy")]
    assert out["key"]["manager"] == "AWS"
    # The explanation names the statement that almost applies and the condition that fails (S10, K6).
    (miss,) = out["blocking"][0]["near_misses"]
    assert "StringEquals kms:CallerAccount ['111111111111'] is false (the request has 222222222222)" in miss
    # No fix touches the AWS managed key's policy (it cannot be changed); both ways out are verified:
    # SSE-SQS, or re-encrypting with a new customer managed key that allows the consumer.
    aws_key = out["key"]["arn"]
    assert all(aws_key not in c["target"] for f in out["fixes"] for c in f["changes"])
    sse_sqs, cmk = out["fixes"]
    assert (sse_sqs["title"], sse_sqs["verified"]) == ("move the queue to SSE-SQS", True)
    assert any("CloudTrail" in t for t in sse_sqs["trade_offs"])
    assert (cmk["title"], cmk["verified"]) == ("re-encrypt with a new customer managed key", True)
    assert [(c["layer"], c["kind"]) for c in cmk["changes"]] == [
        ("key-policy", "create-key"),
        ("queue", "set-queue-attributes"),
        ("key-policy", "add-statement"),
    ]  # no identity change: the consumer's policy already allows kms:Decrypt on any key of 111111111111 (K3)


def test_send_message_needs_generate_data_key_and_decrypt(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = why(capsys, "3-sse-kms-key-shared.json", "hoge-sse-customer", "--action", "SendMessageBatch")
    assert code == 1
    assert out["authorized_as"] == "sqs:SendMessage"  # Q2
    assert out["error"]["code"] == "AccessDenied"
    assert "sqs:sendmessage" in out["error"]["message"]
    steps = [(b["step"], b["layer"], b["reached"]) for b in out["blocking"]]
    assert steps[0][:2] == ("sqs:SendMessage", "resource-policy")
    assert ("kms:GenerateDataKey", "key-policy", False) in steps  # S5: later steps listed, not reached
