"""who-can: who can perform an action end to end, who passes SQS but fails at KMS, who is inconclusive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ARTICLE, CONSUMER, run_bad, run_cli

A, B = "111111111111", "222222222222"
REGION = "ap-northeast-1"
QUEUE = f"arn:aws:sqs:{REGION}:{A}:events"
KEY = f"arn:aws:kms:{REGION}:{A}:key/aaaaaaaa-1111-2222-3333-444444444444"
TOPIC = f"arn:aws:sns:{REGION}:{A}:orders-events"


def _who(capsys: pytest.CaptureFixture[str], snapshot: Path, queue: str, *extra: str) -> dict[str, Any]:
    run = run_cli(capsys, "who-can", "--snapshot", str(snapshot), "--queue", queue, "--format", "json", *extra)
    assert (run.code, run.err) == (0, ""), run.err
    return json.loads(run.out)  # type: ignore[no-any-return]


def _names(out: dict[str, Any], group: str) -> set[str]:
    return {e["principal"] for e in out[group]}


def _write(tmp_path: Path, queue_attrs: dict[str, str], keys: list[Any], principals: list[Any], accounts: Any) -> Path:
    data = {
        "schema": "sqsdiag/snapshot",
        "version": 1,
        "queues": [{"arn": QUEUE, "attributes": queue_attrs}],
        "keys": keys,
        "principals": principals,
        "accounts": accounts,
    }
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_customer_key_shared_by_queue_policy_only(capsys: pytest.CaptureFixture[str]) -> None:
    out = _who(capsys, ARTICLE / "2-sse-kms-queue-policy-only.json", f"arn:aws:sqs:{REGION}:{A}:hoge-sse-customer")
    assert _names(out, "can") == {f"any principal of {A} with an identity allow"}
    # The article's case: the queue policy admits B, the key does not: KMS.AccessDeniedException.
    assert _names(out, "kms_fails") == {CONSUMER, f"any principal of {B} with an identity allow"}
    assert {e["error"]["code"] for e in out["kms_fails"]} == {"KMS.AccessDeniedException"}
    role = next(e for e in out["kms_fails"] if e["principal"] == CONSUMER)
    assert role["sources"] == ["snapshot"] and not role["hypothetical"]
    assert [(b["step"], b["layer"]) for b in role["blocking"]] == [
        ("kms:Decrypt", "key-policy"),
        ("kms:Decrypt", "identity-policy"),
    ]
    b_account = next(e for e in out["kms_fails"] if e["hypothetical"])
    assert b_account["sources"] == ["queue policy Sid 'AllowConsumerAccount'"]
    assert any(r.startswith("hypothetical:") for r in b_account["reasons"])
    owner = out["can"][0]
    assert owner["hypothetical"]
    assert "key policy Sid 'Enable IAM User Permissions'" in owner["sources"]
    assert out["inconclusive"] == [] and out["cannot"] == []


def test_after_sharing_the_key_the_consumer_can(capsys: pytest.CaptureFixture[str]) -> None:
    out = _who(capsys, ARTICLE / "3-sse-kms-key-shared.json", f"arn:aws:sqs:{REGION}:{A}:hoge-sse-customer")
    assert CONSUMER in _names(out, "can")
    role = next(e for e in out["can"] if e["principal"] == CONSUMER)
    assert any(
        "kms:Decrypt: allowed by key-policy" in r and "AllowConsumerAccountToDecrypt" in r for r in role["reasons"]
    )
    assert out["kms_fails"] == []


def test_send_needs_generate_data_key_too(capsys: pytest.CaptureFixture[str]) -> None:
    # The consumer role may Decrypt but not GenerateDataKey, and the queue policy does not allow SendMessage.
    out = _who(
        capsys,
        ARTICLE / "3-sse-kms-key-shared.json",
        f"arn:aws:sqs:{REGION}:{A}:hoge-sse-customer",
        "--action",
        "SendMessageBatch",
    )
    assert out["authorized_as"] == "sqs:SendMessage"
    assert CONSUMER in _names(out, "cannot")
    assert f"any principal of {A} with an identity allow" in _names(out, "can")


def test_aws_managed_key_admits_only_its_account(capsys: pytest.CaptureFixture[str]) -> None:
    out = _who(capsys, ARTICLE / "4-aws-sqs-key-cross-account.json", f"arn:aws:sqs:{REGION}:{A}:hoge-sse-default")
    assert _names(out, "can") == {f"any principal of {A} with an identity allow"}
    owner = out["can"][0]
    assert any("kms:CallerAccount" in s for s in owner["sources"])  # named by the "*" + CallerAccount statement
    assert _names(out, "kms_fails") == {CONSUMER, f"any principal of {B} with an identity allow"}
    anyone = next(e for e in out["cannot"] if e["principal"].startswith('"*"'))
    assert any("kms:CallerAccount" in c and A in c for c in anyone["conditions"])


def test_services_in_queue_and_key_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    source = {"ArnEquals": {"aws:SourceArn": TOPIC}}
    queue_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Sns",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": QUEUE,
                "Condition": source,
            },
            {
                "Sid": "Events",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": QUEUE,
            },
            {
                "Sid": "UnknownRole",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{B}:role/unknown"},
                "Action": "sqs:SendMessage",
                "Resource": QUEUE,
            },
        ],
    }
    key_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "AccountB",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}},
            },
            {
                "Sid": "SnsUsesKey",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": "*",
                "Condition": source,
            },
        ],
    }
    key = {"arn": KEY, "manager": "CUSTOMER", "state": "Enabled", "policy": key_policy, "grants": []}
    path = _write(
        tmp_path,
        {"Policy": json.dumps(queue_policy), "KmsMasterKeyId": KEY},
        [key],
        [],
        [{"id": A, "organization": None}, {"id": B, "organization": None}],
    )
    out = _who(capsys, path, QUEUE, "--action", "SendMessage")
    sns = next(e for e in out["can"] if e["principal"] == "sns.amazonaws.com")
    assert sns["context"] == {"aws:sourcearn": [TOPIC]}
    assert sns["sources"] == ["queue policy Sid 'Sns'", "key policy Sid 'SnsUsesKey'"]
    # EventBridge passes the queue policy, but the key policy does not name it: it would fail at KMS (S12).
    events = next(e for e in out["kms_fails"] if e["principal"] == "events.amazonaws.com")
    assert events["error"]["code"] == "KMS.AccessDeniedException"
    # A cross-account role absent from the snapshot: what it depends on is its identity policies.
    unknown = next(e for e in out["inconclusive"] if e["principal"] == f"arn:aws:iam::{B}:role/unknown")
    assert any(f"identity policies of arn:aws:iam::{B}:role/unknown" in d for d in unknown["depends_on"])
    # Any principal of B with an identity allow: the key admits B, the queue policy does not (E5).
    b_any = next(e for e in out["cannot"] if e["principal"] == f"any principal of {B} with an identity allow")
    assert b_any["sources"] == ["key policy Sid 'AccountB'"]
    assert (b_any["error"]["code"], b_any["blocking"][0]["layer"]) == ("AccessDenied", "resource-policy")


def test_star_grants_with_and_without_conditions(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    org = {"id": "o-abcdefghij", "management_account": "999999999999"}
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OrgSend",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "sqs:SendMessage",
                "Resource": QUEUE,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}},
            },
            {
                "Sid": "PublicPeek",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "sqs:GetQueueAttributes",
                "Resource": QUEUE,
            },
        ],
    }
    member = {
        "arn": f"arn:aws:iam::{B}:role/app",
        "type": "role",
        "tags": {},
        "policies": [
            {
                "name": "send",
                "document": {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE}]},
            }
        ],
    }
    full = [{"name": "FullAWSAccess", "document": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}]
    accounts = [
        {"id": A, "organization": None},
        {
            "id": B,
            "organization": org,
            "path": [
                {"id": "r-root", "type": "ROOT", "scps": full, "rcps": []},
                {"id": B, "type": "ACCOUNT", "scps": full, "rcps": []},
            ],
        },
    ]
    path = _write(tmp_path, {"Policy": json.dumps(policy)}, [], [member], accounts)
    out = _who(capsys, path, QUEUE, "--action", "SendMessage")
    assert f"arn:aws:iam::{B}:role/app" in _names(out, "can")
    anyone = next(e for e in out["cannot"] if e["principal"].startswith('"*"'))
    assert "StringEquals aws:PrincipalOrgID [o-abcdefghij]" in anyone["conditions"]
    # The unconditioned "*" grant of GetQueueAttributes is public on this unencrypted queue (E6).
    peek = _who(capsys, path, QUEUE, "--action", "GetQueueAttributes")
    anyone = next(e for e in peek["can"] if e["principal"].startswith('"*"'))
    assert "no conditions" in anyone["conditions"]
    assert anyone["evaluated_as"] == "anonymous"


def test_text_lists_the_groups_apart(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(
        capsys,
        "who-can",
        "-s",
        str(ARTICLE / "2-sse-kms-queue-policy-only.json"),
        "--queue",
        f"https://sqs.{REGION}.amazonaws.com/{A}/hoge-sse-customer",
    )
    assert run.code == 0
    first = run.out.splitlines()[0]
    assert first.startswith("WHO CAN ReceiveMessage") and "1 can, 2 fail at KMS, 0 inconclusive, 0 cannot" in first
    text = run.out
    kms_section = text[text.index("fail at KMS (they see KMS.* errors)") : text.index("Inconclusive")]
    assert f"{CONSUMER} → KMS.AccessDeniedException" in kms_section
    assert "kms:Decrypt: denied" in kms_section


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--queue", f"arn:aws:sqs:{REGION}:{A}:hoge-sse-customer", "--action", "Fly"), "--action"),
        (("--queue", f"arn:aws:sqs:{REGION}:{A}:missing"), "not in the snapshot"),
        (("--queue", "ftp://x/y"), "neither a queue URL nor a queue ARN"),
        (("--queue", f"arn:aws:sqs:{REGION}:{A}:hoge-sse-customer", "--format", "markdown"), "--format"),
        ((), "--queue"),
    ],
)
def test_bad_arguments(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], needle: str) -> None:
    line = run_bad(capsys, "who-can", "-s", str(ARTICLE / "2-sse-kms-queue-policy-only.json"), *args)
    assert needle in line


def test_snapshot_not_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    line = run_bad(capsys, "who-can", "-s", str(bad), "--queue", QUEUE)
    assert "bad.json" in line and "not valid JSON" in line


def test_conditional_star_grants_open_the_queue_to_the_principals_they_pin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # "*" narrowed by aws:PrincipalArn and by aws:PrincipalOrgID still opens the queue to those principals:
    # they must be listed (evaluated as hypothetical principals), not only the anonymous caller.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BRoles",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "sqs:ReceiveMessage",
                "Resource": QUEUE,
                "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{B}:role/app-*"}},
            },
            {
                "Sid": "Org",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "sqs:ReceiveMessage",
                "Resource": QUEUE,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-xyz"}},
            },
        ],
    }
    org = {"id": "o-xyz", "management_account": "999999999999"}
    full = [{"name": "FullAWSAccess", "document": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}]
    accounts = [
        {"id": A, "organization": None},
        {"id": B, "organization": None},
        {
            "id": "333333333333",
            "organization": org,
            "path": [
                {"id": "r-1", "type": "ROOT", "scps": full, "rcps": []},
                {"id": "333333333333", "type": "ACCOUNT", "scps": full, "rcps": []},
            ],
        },
    ]
    path = _write(tmp_path, {"Policy": json.dumps(policy), "SqsManagedSseEnabled": "true"}, [], [], accounts)
    out = _who(capsys, path, QUEUE)
    assert f"principals matching arn:aws:iam::{B}:role/app-*" in _names(out, "can")
    assert "any principal of 333333333333 with an identity allow" in _names(out, "can")
    assert _names(out, "cannot") == {'"*" as an unsigned (anonymous) caller'}  # Q8: SSE needs SigV4
