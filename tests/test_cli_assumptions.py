"""The assumption flags (where AWS's behaviour is undocumented) on preflight and who-can, not only why-denied:
each changes the outcome on a world where it matters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ARTICLE, CONSUMER, ROOT, run_bad, run_cli

# The article's case 2: the queue policy admits account B, the key policy does not (KMS step denied).
CASE2 = str(ARTICLE / "2-sse-kms-queue-policy-only.json")
CASE2_QUEUE = "https://sqs.ap-northeast-1.amazonaws.com/111111111111/hoge-sse-customer"
# The article's case 3: the key is shared with B and the consumer's IAM allows kms:Decrypt.
CASE3 = ARTICLE / "3-sse-kms-key-shared.json"

GRANT_QUEUE = "arn:aws:sqs:us-east-1:111111111111:orders"
GRANT_KEY = "arn:aws:kms:us-east-1:111111111111:key/1111aaaa-1111-4aaa-8aaa-111111111111"
GRANTEE = "arn:aws:iam::222222222222:role/consumer"


def _grant_world(tmp_path: Path) -> Path:
    """K7: the key policy trusts only A; a grant gives B's consumer kms:Decrypt; B's IAM has no KMS allow."""
    cases = json.loads((ROOT / "tests" / "cases" / "scenarios" / "08-grants.json").read_text(encoding="utf-8"))
    case = next(c for c in cases["cases"] if c["id"] == "k7-grant-cross-account-decrypt")
    path = tmp_path / "grant.json"
    path.write_text(json.dumps(case["snapshot"]), encoding="utf-8")
    return path


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    run = run_cli(capsys, *args, "--format", "json")
    assert run.err == "", run.err
    return run.code, json.loads(run.out)


def _groups(out: dict[str, Any]) -> dict[str, set[str]]:
    return {g: {e["principal"] for e in out[g]} for g in ("can", "kms_fails", "inconclusive", "cannot")}


# --------------------------------------------------------------------------- --cross-account-grant-needs-iam


def test_preflight_cross_account_grant_needs_iam(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ("preflight", "-s", str(_grant_world(tmp_path)), "--queue", GRANT_QUEUE, "--consumer", GRANTEE)
    code, out = _json(capsys, *args, "--actions", "ReceiveMessage")
    assert (code, out["status"], out["before"][0]["decision"]) == (0, "works", "allowed")  # the grant suffices

    code, out = _json(capsys, *args, "--actions", "ReceiveMessage", "--cross-account-grant-needs-iam")
    assert (code, out["status"]) == (1, "changes-needed")
    before = out["before"][0]
    assert before["decision"] == "denied" and before["error"]["code"] == "KMS.AccessDeniedException"
    assert [(b["step"], b["layer"]) for b in before["blocking"]] == [("kms:Decrypt", "identity-policy")]
    # The change set adds the IAM allow in B, and is verified under the same assumption.
    change_set = out["change_set"]
    assert change_set["verified"] and change_set["after"] == [{"action": "ReceiveMessage", "decision": "allowed"}]
    [change] = change_set["changes"]
    assert (change["layer"], change["account"], change["resource"]) == ("identity-policy", "222222222222", GRANTEE)
    [statement] = change["document"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("kms:Decrypt", GRANT_KEY)


def test_who_can_cross_account_grant_needs_iam(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ("who-can", "-s", str(_grant_world(tmp_path)), "--queue", GRANT_QUEUE)
    code, out = _json(capsys, *args)
    assert code == 0 and GRANTEE in _groups(out)["can"]

    code, out = _json(capsys, *args, "--cross-account-grant-needs-iam")
    assert code == 0 and GRANTEE in _groups(out)["kms_fails"] and GRANTEE not in _groups(out)["can"]
    entry = next(e for e in out["kms_fails"] if e["principal"] == GRANTEE)
    assert entry["error"]["code"] == "KMS.AccessDeniedException"
    assert [(b["step"], b["layer"]) for b in entry["blocking"]] == [("kms:Decrypt", "identity-policy")]


# --------------------------------------------------------------------------- --assume-empty-queue


def test_preflight_assume_empty_queue(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("preflight", "-s", CASE2, "--queue", CASE2_QUEUE, "--consumer", CONSUMER, "--actions", "ReceiveMessage")
    code, out = _json(capsys, *args)
    assert (code, out["status"], out["before"][0]["error"]["code"]) == (
        1,
        "changes-needed",
        "KMS.AccessDeniedException",
    )

    # S9: an empty ReceiveMessage never calls kms:Decrypt, so the key policy does not matter.
    code, out = _json(capsys, *args, "--assume-empty-queue")
    assert (code, out["status"], out["before"][0]["decision"]) == (0, "works", "allowed")


def test_who_can_assume_empty_queue(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("who-can", "-s", CASE2, "--queue", CASE2_QUEUE)
    code, out = _json(capsys, *args)
    assert code == 0 and CONSUMER in _groups(out)["kms_fails"]

    code, out = _json(capsys, *args, "--assume-empty-queue")
    groups = _groups(out)
    assert code == 0 and CONSUMER in groups["can"] and not groups["kms_fails"]


# --------------------------------------------------------------------------- --fas-source-ip


def _ip_fenced_key(tmp_path: Path) -> Path:
    """Case 3 plus a key-policy Deny for calls not from 203.0.113.0/24 (an IP condition on the SQS→KMS hop)."""
    data = json.loads(CASE3.read_text(encoding="utf-8"))
    data["keys"][0]["policy"]["Statement"].append(
        {
            "Sid": "OfficeOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        }
    )
    path = tmp_path / "fenced.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_who_can_and_preflight_take_the_fas_source_ip(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    snapshot = str(_ip_fenced_key(tmp_path))
    who = ("who-can", "-s", snapshot, "--queue", CASE2_QUEUE)
    pre = ("preflight", "-s", snapshot, "--queue", CASE2_QUEUE, "--consumer", CONSUMER, "--actions", "ReceiveMessage")
    # C7 default: the caller's IP is not seen on the KMS hop, so NotIpAddress holds and the Deny applies.
    assert CONSUMER in _groups(_json(capsys, *who)[1])["kms_fails"]
    assert _json(capsys, *pre)[1]["before"][0]["decision"] == "denied"

    assert CONSUMER in _groups(_json(capsys, *who, "--fas-source-ip", "203.0.113.7")[1])["can"]
    code, out = _json(capsys, *pre, "--fas-source-ip", "203.0.113.7")
    assert (code, out["status"]) == (0, "works")


@pytest.mark.parametrize("command", ["preflight", "who-can"])
@pytest.mark.parametrize("value", ["999.9.9.9", "203.0.113.0/24"])
def test_an_unreadable_fas_source_ip_is_bad_input(capsys: pytest.CaptureFixture[str], command: str, value: str) -> None:
    extra = ("--consumer", CONSUMER) if command == "preflight" else ()
    line = run_bad(capsys, command, "-s", CASE2, "--queue", CASE2_QUEUE, *extra, "--fas-source-ip", value)
    assert line == f"sqsdiag: error: --fas-source-ip {value!r}: expected an IPv4 or IPv6 address"


@pytest.mark.parametrize("command", ["preflight", "who-can"])
def test_a_bad_assumption_choice_is_a_usage_error(capsys: pytest.CaptureFixture[str], command: str) -> None:
    extra = ("--consumer", CONSUMER) if command == "preflight" else ()
    line = run_bad(capsys, command, "-s", CASE2, "--queue", CASE2_QUEUE, *extra, "--key-state-first", "never")
    assert "--key-state-first" in line


def test_who_can_takes_the_message_style(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("who-can", "-s", CASE2, "--queue", CASE2_QUEUE)
    current = next(e for e in _json(capsys, *args)[1]["kms_fails"] if e["principal"] == CONSUMER)
    legacy = next(
        e for e in _json(capsys, *args, "--message-style", "legacy")[1]["kms_fails"] if e["principal"] == CONSUMER
    )
    assert current["error"]["message"].startswith("User: arn:aws:sts::222222222222:assumed-role/consumer/")
    assert legacy["error"]["message"].startswith("The ciphertext refers to a customer master key that does not exist")
