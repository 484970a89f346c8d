"""Bad input: exit code 2 and one line on stderr naming what is wrong; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import ARTICLE, CONSUMER, run_bad, run_cli

CASE2 = str(ARTICLE / "2-sse-kms-queue-policy-only.json")
QUEUE = "https://sqs.ap-northeast-1.amazonaws.com/111111111111/hoge-sse-customer"


def test_missing_snapshot_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = run_bad(
        capsys,
        "why-denied",
        "--snapshot",
        str(tmp_path / "nope.json"),
        "--queue",
        QUEUE,
        "--principal",
        CONSUMER,
    )
    assert "nope.json" in line and "cannot read" in line


def test_snapshot_not_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    line = run_bad(capsys, "why-denied", "-s", str(bad), "--queue", QUEUE, "--principal", CONSUMER)
    assert "bad.json" in line and "not valid JSON" in line and "line 1" in line


def test_wrong_schema_version_names_the_field(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = json.loads(Path(CASE2).read_text())
    data["version"] = 99
    f = tmp_path / "v99.json"
    f.write_text(json.dumps(data))
    line = run_bad(capsys, "why-denied", "-s", str(f), "--queue", QUEUE, "--principal", CONSUMER)
    assert "version" in line and "99" in line


def test_invalid_field_names_its_json_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = json.loads(Path(CASE2).read_text())
    data["keys"][0]["arn"] = "arn:aws:kms:ap-northeast-1:111111111111:alias/oops"
    f = tmp_path / "alias.json"
    f.write_text(json.dumps(data))
    line = run_bad(capsys, "why-denied", "-s", str(f), "--queue", QUEUE, "--principal", CONSUMER)
    assert "keys[0].arn" in line


def test_bad_policy_in_snapshot_names_document_and_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = json.loads(Path(CASE2).read_text())
    data["keys"][0]["policy"]["Statement"][0]["Effect"] = "allow"  # P5: Effect is case-sensitive
    f = tmp_path / "effect.json"
    f.write_text(json.dumps(data))
    line = run_bad(capsys, "why-denied", "-s", str(f), "--queue", QUEUE, "--principal", CONSUMER)
    # Validated when the snapshot loads: the file, the JSON path to the document, then the path inside it.
    assert line.endswith(
        'effect.json: keys[0].policy: Statement[0].Effect: Effect must be exactly "Allow" or "Deny", not "allow"'
    )


def test_queue_not_in_snapshot(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_bad(
        capsys,
        "why-denied",
        "-s",
        CASE2,
        "--queue",
        "arn:aws:sqs:ap-northeast-1:111111111111:other",
        "--principal",
        CONSUMER,
    )
    assert "--queue" in line and "not in the snapshot" in line


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--queue", "ftp://x/y", "--principal", CONSUMER), "neither a queue URL nor a queue ARN"),
        (("--queue", "arn:aws:sqs:ap-northeast-1:1111:q", "--principal", CONSUMER), "queue ARN"),
        (("--queue", QUEUE, "--principal", "consumer"), "--principal"),
        (("--queue", QUEUE, "--principal", "arn:aws:s3:::bucket"), "--principal"),
        (("--queue", QUEUE, "--principal", CONSUMER, "--action", "Fly"), "--action"),
        (("--queue", QUEUE, "--principal", CONSUMER, "--context", "novalue"), "--context"),
        (("--queue", QUEUE, "--principal", CONSUMER, "--format", "pdf"), "--format"),
        (("--queue", QUEUE), "--principal"),
        (("--queue", "http://[::1/111111111111/q", "--principal", CONSUMER), "not a valid URL"),
        (("--queue", QUEUE, "--principal", "arn:aws:iam::111111111111:role/"), "--principal"),
        (("--queue", QUEUE, "--principal", CONSUMER, "--pending-deletion-code", "junk"), "--pending-deletion-code"),
        (("--queue", QUEUE, "--principal", CONSUMER, "--context", "aws:SourceIp=notip"), "aws:SourceIp=notip"),
        (("--queue", QUEUE, "--principal", CONSUMER, "--context", "aws:SecureTransport=maybe"), "true or false"),
        (("--queue", QUEUE, "--principal", CONSUMER, "--context", "aws:SourceVpce="), "--absent"),
        (
            (
                "--queue",
                QUEUE,
                "--principal",
                CONSUMER,
                "--context",
                "aws:SourceIp=10.0.0.1",
                "--absent",
                "aws:SourceIp",
            ),
            "--absent aws:SourceIp",
        ),
        (
            (
                "--queue",
                QUEUE,
                "--principal",
                CONSUMER,
                "--context",
                "aws:SourceVpce=vpce-1",
                "--context",
                "aws:SourceIp=10.0.0.1",
            ),
            "VPC endpoint has no aws:SourceIp",
        ),
        (("--queue", QUEUE, "--principal", CONSUMER, "--session-name", "a/b"), "--session-name"),
    ],
)
def test_bad_arguments(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], needle: str) -> None:
    line = run_bad(capsys, "why-denied", "-s", CASE2, *args)
    assert needle in line


def test_session_policy_file_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "session.json"
    f.write_text("[", encoding="utf-8")
    line = run_bad(
        capsys,
        "why-denied",
        "-s",
        CASE2,
        "--queue",
        QUEUE,
        "--principal",
        CONSUMER,
        "--session-policy",
        str(f),
    )
    assert "--session-policy" in line and "session.json" in line


def test_conflicting_snapshots_are_reported_not_overwritten(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_bad(
        capsys,
        "why-denied",
        "-s",
        CASE2,
        "-s",
        str(ARTICLE / "3-sse-kms-key-shared.json"),
        "--queue",
        QUEUE,
        "--principal",
        CONSUMER,
    )
    assert "conflicting facts" in line and "policy" in line


def test_inputs_are_not_modified(capsys: pytest.CaptureFixture[str]) -> None:
    before = Path(CASE2).read_bytes()
    run_cli(capsys, "why-denied", "-s", CASE2, "--queue", QUEUE, "--principal", CONSUMER)
    assert Path(CASE2).read_bytes() == before


def test_session_policy_must_be_an_object(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "null.json"
    f.write_text("null", encoding="utf-8")
    line = run_bad(
        capsys, "why-denied", "-s", CASE2, "--queue", QUEUE, "--principal", CONSUMER, "--session-policy", str(f)
    )
    assert "--session-policy" in line and "JSON object" in line


def test_snapshot_version_must_be_the_integer_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = json.loads(Path(CASE2).read_text())
    data["version"] = True
    f = tmp_path / "bool.json"
    f.write_text(json.dumps(data))
    assert "version" in run_bad(capsys, "why-denied", "-s", str(f), "--queue", QUEUE, "--principal", CONSUMER)


def test_duplicate_records_in_one_snapshot_are_rejected(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = json.loads(Path(CASE2).read_text())
    data["principals"].append(dict(data["principals"][0], policies=[]))
    f = tmp_path / "dup.json"
    f.write_text(json.dumps(data))
    line = run_bad(capsys, "why-denied", "-s", str(f), "--queue", QUEUE, "--principal", CONSUMER)
    assert "principals[1].arn" in line and "duplicate of principals[0]" in line


def test_read_but_empty_conflicts_with_known_policies(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = json.loads(Path(CASE2).read_text())
    empty = json.loads(json.dumps(data))
    empty["principals"][0]["policies"] = []  # "read, and there is none" is a fact, not an unknown
    f = tmp_path / "empty.json"
    f.write_text(json.dumps(empty))
    line = run_bad(capsys, "why-denied", "-s", CASE2, "-s", str(f), "--queue", QUEUE, "--principal", CONSUMER)
    assert "conflicting facts for principal" in line and "'policies'" in line


def test_collect_output_into_a_missing_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from diagnose import cli
    from diagnose.collect import Collection
    from diagnose.snapshot import load

    monkeypatch.setattr(cli, "_collect", lambda *a, **k: Collection(load(CASE2)))
    line = run_bad(capsys, "collect", "--queue", QUEUE, "-o", str(tmp_path / "missing" / "out.json"))
    assert line.startswith("sqsdiag: error: --output") and "cannot write" in line


def test_through_a_vpc_endpoint_aws_source_ip_is_absent(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # C5/C7: through an endpoint aws:SourceIp is absent, so Deny + NotIpAddress applies (not "unknown").
    data = json.loads(Path(CASE2).read_text())
    policy = json.loads(data["queues"][0]["attributes"]["Policy"])
    policy["Statement"].append(
        {
            "Sid": "OfficeOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        }
    )
    data["queues"][0]["attributes"]["Policy"] = json.dumps(policy)
    data["vpc_endpoints"] = [
        {
            "id": "vpce-1",
            "policy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]},
        }
    ]
    f = tmp_path / "vpce.json"
    f.write_text(json.dumps(data))
    run = run_cli(
        capsys,
        "why-denied",
        "-s",
        str(f),
        "--queue",
        QUEUE,
        "--principal",
        CONSUMER,
        "--context",
        "aws:SourceVpce=vpce-1",
        "--format",
        "json",
    )
    out = json.loads(run.out)
    assert run.code == 1 and out["error"]["message"].endswith("with an explicit deny in a resource-based policy")


def test_a_bad_policy_anywhere_in_the_snapshot_is_rejected(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = json.loads(Path(CASE2).read_text())
    data["principals"].append(
        {
            "arn": "arn:aws:iam::222222222222:role/other",
            "type": "role",
            "policies": [{"name": "p", "document": {"Statement": [{"Effect": "Allow"}]}}],
        }
    )
    f = tmp_path / "unrelated.json"
    f.write_text(json.dumps(data))
    line = run_bad(capsys, "why-denied", "-s", str(f), "--queue", QUEUE, "--principal", CONSUMER)
    assert "unrelated.json: principals[1].policies[0].document: Statement[0]" in line


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--context", "aws:CurrentTime=garbage"), "aws:CurrentTime=garbage"),
        (("--fas-source-ip", "999.9.9.9"), "--fas-source-ip"),
    ],
)
def test_typed_values_are_checked(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], needle: str) -> None:
    assert needle in run_bad(capsys, "why-denied", "-s", CASE2, "--queue", QUEUE, "--principal", CONSUMER, *args)


def test_fixes_verified_is_null_when_nothing_is_denied(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(
        capsys,
        "why-denied",
        "-s",
        str(ARTICLE / "3-sse-kms-key-shared.json"),
        "--queue",
        QUEUE,
        "--principal",
        CONSUMER,
        "--format",
        "json",
    )
    out = json.loads(run.out)
    assert (out["decision"], out["fixes"], out["fixes_verified"]) == ("allowed", [], None)
