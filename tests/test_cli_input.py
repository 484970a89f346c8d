"""Bad input: exit code 2 and one line on stderr naming what is wrong; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import ARTICLE, CONSUMER, run_cli

CASE2 = str(ARTICLE / "2-sse-kms-queue-policy-only.json")
QUEUE = "https://sqs.ap-northeast-1.amazonaws.com/111111111111/hoge-sse-customer"


def _bad(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    run = run_cli(capsys, *args)
    assert run.code == 2, (run.out, run.err)
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert "Traceback" not in run.err
    return lines[0]


def test_missing_snapshot_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = _bad(
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
    line = _bad(capsys, "why-denied", "-s", str(bad), "--queue", QUEUE, "--principal", CONSUMER)
    assert "bad.json" in line and "not valid JSON" in line and "line 1" in line


def test_wrong_schema_version_names_the_field(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = json.loads(Path(CASE2).read_text())
    data["version"] = 99
    f = tmp_path / "v99.json"
    f.write_text(json.dumps(data))
    line = _bad(capsys, "why-denied", "-s", str(f), "--queue", QUEUE, "--principal", CONSUMER)
    assert "version" in line and "99" in line


def test_invalid_field_names_its_json_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = json.loads(Path(CASE2).read_text())
    data["keys"][0]["arn"] = "arn:aws:kms:ap-northeast-1:111111111111:alias/oops"
    f = tmp_path / "alias.json"
    f.write_text(json.dumps(data))
    line = _bad(capsys, "why-denied", "-s", str(f), "--queue", QUEUE, "--principal", CONSUMER)
    assert "keys[0].arn" in line


def test_bad_policy_in_snapshot_names_document_and_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = json.loads(Path(CASE2).read_text())
    data["keys"][0]["policy"]["Statement"][0]["Effect"] = "allow"  # P5: Effect is case-sensitive
    f = tmp_path / "effect.json"
    f.write_text(json.dumps(data))
    line = _bad(capsys, "why-denied", "-s", str(f), "--queue", QUEUE, "--principal", CONSUMER)
    assert "key policy of" in line and "Statement[0].Effect" in line


def test_queue_not_in_snapshot(capsys: pytest.CaptureFixture[str]) -> None:
    line = _bad(
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
    ],
)
def test_bad_arguments(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], needle: str) -> None:
    line = _bad(capsys, "why-denied", "-s", CASE2, *args)
    assert needle in line


def test_session_policy_file_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "session.json"
    f.write_text("[", encoding="utf-8")
    line = _bad(
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
    line = _bad(
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
