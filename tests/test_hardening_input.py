"""Hostile input: deep nesting, repeated keys, NaN, huge numbers, wrong types, odd files, and crashes.

Bad input is exit 2 with one line naming the file and the JSON path; a bug is exit 70 with one line
saying so; neither ever prints a traceback unless asked to (-v, SQSDIAG_DEBUG=1).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from diagnose.policy import PolicyError, PolicyKind, parse_policy
from diagnose.policy.parse import parse_cache_info
from diagnose.snapshot import SnapshotError, from_json, load
from tests.helpers import ARTICLE, CONSUMER, run_bad, run_cli

CASE2 = ARTICLE / "2-sse-kms-queue-policy-only.json"
QUEUE = "https://sqs.ap-northeast-1.amazonaws.com/111111111111/hoge-sse-customer"
DEEP = 200  # deeper than the limit (64), shallower than Python's recursion limit
VERY_DEEP = 100_000  # deeper than Python's recursion limit: never a RecursionError

STATEMENT = {"Effect": "Allow", "Principal": {"AWS": CONSUMER}, "Action": "sqs:*", "Resource": "*"}


def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CASE2.read_text())
    return data


def _write(tmp_path: Path, data: Any, name: str = "snap.json") -> str:
    f = tmp_path / name
    f.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return str(f)


def _why(capsys: pytest.CaptureFixture[str], snapshot: str, *extra: str) -> str:
    return run_bad(capsys, "why-denied", "-s", snapshot, "--queue", QUEUE, "--principal", CONSUMER, *extra)


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


# --------------------------------------------------------------------------- nesting (item 4)


@pytest.mark.parametrize("depth", [DEEP, VERY_DEEP])
def test_deep_snapshot_names_file_and_path(capsys: pytest.CaptureFixture[str], tmp_path: Path, depth: int) -> None:
    text = json.dumps(_data()).replace('"gaps": []', '"gaps": ' + _deep(depth))
    line = _why(capsys, _write(tmp_path, text))
    assert "snap.json" in line and "nested more than 64 levels" in line and "gaps[0][0]" in line
    assert "RecursionError" not in line and len(line) < 400


@pytest.mark.parametrize("depth", [DEEP, VERY_DEEP])
def test_deep_queue_policy_text(capsys: pytest.CaptureFixture[str], tmp_path: Path, depth: int) -> None:
    data = _data()
    data["queues"][0]["attributes"]["Policy"] = '{"Statement": ' + _deep(depth) + "}"
    line = _why(capsys, _write(tmp_path, data))
    assert "snap.json: queues[0].attributes.Policy" in line and "nested more than 64 levels" in line
    assert "Statement[0][0]" in line


def test_deep_key_policy_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = _data()
    data["keys"][0]["policy"] = '{"Statement": ' + _deep(VERY_DEEP) + "}"
    line = _why(capsys, _write(tmp_path, data))
    assert "snap.json: keys[0].policy" in line and "nested more than 64 levels" in line


@pytest.mark.parametrize("depth", [DEEP, VERY_DEEP])
def test_deep_redrive_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path, depth: int) -> None:
    data = _data()
    data["queues"][0]["attributes"]["RedrivePolicy"] = '{"deadLetterTargetArn": ' + _deep(depth) + "}"
    line = _why(capsys, _write(tmp_path, data))
    assert "snap.json: queues[0].attributes.RedrivePolicy" in line and "nested more than 64 levels" in line


@pytest.mark.parametrize("depth", [DEEP, VERY_DEEP])
def test_deep_session_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path, depth: int) -> None:
    f = _write(tmp_path, '{"Statement": ' + _deep(depth) + "}", "session.json")
    line = _why(capsys, str(CASE2), "--session-policy", f)
    assert "--session-policy" in line and "session.json" in line and "nested more than 64 levels" in line


def test_deep_objects_given_to_the_api_are_errors_not_recursion() -> None:
    nested: Any = {}
    for _ in range(VERY_DEEP):
        nested = {"a": nested}
    with pytest.raises(PolicyError, match="nested more than 64"):
        parse_policy({"Statement": nested}, origin="doc", kind=PolicyKind.IDENTITY)
    data = _data()
    data["collected"] = nested
    with pytest.raises(SnapshotError, match=r"^api: \$: nested more than 64 levels deep \(at collected\.a\.a"):
        from_json(data, "api")


# --------------------------------------------------------------------------- record ids (item 4)


@pytest.mark.parametrize(
    ("records", "ident"),
    [("queues", "arn"), ("keys", "arn"), ("principals", "arn"), ("accounts", "id"), ("vpc_endpoints", "id")],
)
@pytest.mark.parametrize("bad", [[], ["x"], {}, {"a": 1}, 7, True])
def test_record_id_of_the_wrong_type(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, records: str, ident: str, bad: Any
) -> None:
    data = _data()
    data.setdefault(records, [])
    data[records].append({ident: bad})
    data[records].append({ident: bad})  # twice: the duplicate check must not hash it
    line = _why(capsys, _write(tmp_path, data))
    index = len(data[records]) - 2
    assert f"snap.json: {records}[{index}].{ident}: expected a non-empty string" in line
    assert "unhashable" not in line


# --------------------------------------------------------------------------- the snapshot file (item 4)


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/null"])
def test_snapshot_that_is_a_device(capsys: pytest.CaptureFixture[str], target: str) -> None:
    if not os.path.exists(target):
        pytest.skip(f"no {target}")
    line = _why(capsys, target)
    assert target in line and "not a regular file" in line


def test_snapshot_that_is_a_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = _why(capsys, str(tmp_path))
    assert str(tmp_path) in line and "not a regular file" in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_snapshot_that_is_a_fifo(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    line = _why(capsys, str(fifo))  # must not block waiting for a writer
    assert "pipe.json" in line and "not a regular file" in line


def test_snapshot_size_limit_and_its_env_var(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = CASE2.stat().st_size
    monkeypatch.setenv("SQSDIAG_MAX_SNAPSHOT_BYTES", str(size - 1))
    line = _why(capsys, str(CASE2))
    assert CASE2.name in line and "over the limit" in line and "SQSDIAG_MAX_SNAPSHOT_BYTES" in line
    monkeypatch.setenv("SQSDIAG_MAX_SNAPSHOT_BYTES", str(size))
    assert run_cli(capsys, "why-denied", "-s", str(CASE2), "--queue", QUEUE, "--principal", CONSUMER).code == 1
    monkeypatch.setenv("SQSDIAG_MAX_SNAPSHOT_BYTES", "lots")
    line = _why(capsys, str(CASE2))
    assert "SQSDIAG_MAX_SNAPSHOT_BYTES=lots" in line


def test_empty_snapshot_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = _why(capsys, _write(tmp_path, ""))
    assert "snap.json: empty file" in line


# --------------------------------------------------------------------------- duplicate keys (item 5)


def test_duplicate_key_in_the_snapshot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = json.dumps(_data()).replace('"manager": "CUSTOMER"', '"manager": "CUSTOMER", "manager": "AWS"')
    line = _why(capsys, _write(tmp_path, text))
    assert "snap.json: keys[0].manager: duplicate key 'manager'" in line


def test_duplicate_effect_in_the_queue_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = _data()
    data["queues"][0]["attributes"]["Policy"] = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Effect": "Allow", '
        f'"Principal": {{"AWS": "{CONSUMER}"}}, "Action": "sqs:*", "Resource": "*"}}]}}'
    )
    line = _why(capsys, _write(tmp_path, data))
    assert line.endswith(
        "snap.json: queues[0].attributes.Policy: Statement[0].Effect: duplicate key 'Effect' in one object"
    )


def test_duplicate_key_in_key_policy_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = _data()
    data["keys"][0]["policy"] = (
        '{"Statement": {"Effect": "Allow", "Principal": "*", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},'
        ' "Action": "kms:*", "Resource": "*"}}'
    )
    line = _why(capsys, _write(tmp_path, data))
    assert "snap.json: keys[0].policy: Statement.Principal: duplicate key 'Principal'" in line


def test_duplicate_key_in_identity_document_text(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = _data()
    data["principals"][0]["policies"][0]["document"] = (
        '{"Version": "2012-10-17", "Version": "2008-10-17", "Statement": {"Effect": "Allow", "Action": "*", '
        '"Resource": "*"}}'
    )
    line = _why(capsys, _write(tmp_path, data))
    assert "snap.json: principals[0].policies[0].document: Version: duplicate key 'Version'" in line


def test_duplicate_key_in_session_policy(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = _write(
        tmp_path,
        '{"Statement": {"Effect": "Deny", "Effect": "Allow", "Action": "*", "Resource": "*"}}',
        "session.json",
    )
    line = _why(capsys, str(CASE2), "--session-policy", f)
    assert "--session-policy" in line and "session.json" in line
    assert "Statement.Effect: duplicate key 'Effect'" in line


def test_rejected_text_is_never_cached() -> None:
    text = '{"Statement": {"Effect": "Deny", "Effect": "Allow", "Action": "*", "Resource": "*"}}'
    before = parse_cache_info().entries
    for _ in range(2):
        with pytest.raises(PolicyError) as err:
            parse_policy(text, origin="doc", kind=PolicyKind.IDENTITY)
        assert err.value.path == "Statement.Effect" and "duplicate key 'Effect'" in err.value.message
    assert parse_cache_info().entries == before
    # the same document without the repeated key is accepted, and cached
    good = '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}'
    parse_policy(good, origin="doc", kind=PolicyKind.IDENTITY)
    assert parse_policy(good, origin="doc", kind=PolicyKind.IDENTITY).statements[0].effect == "Allow"


# --------------------------------------------------------------------------- strict values (items 6/7)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_in_the_snapshot(capsys: pytest.CaptureFixture[str], tmp_path: Path, constant: str) -> None:
    data_text = json.dumps({**_data(), "collected": "PLACEHOLDER"}).replace('"PLACEHOLDER"', "[1, " + constant + "]")
    line = _why(capsys, _write(tmp_path, data_text))
    assert "snap.json: collected[1]: NaN and infinite numbers are not valid JSON" in line


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-1e400"])
def test_non_finite_numbers_in_policy_text(constant: str) -> None:
    text = (
        '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", '
        '"Condition": {"NumericEquals": {"s3:max-keys": %s}}}}'
    )
    with pytest.raises(PolicyError) as err:
        parse_policy(text % constant, origin="doc", kind=PolicyKind.IDENTITY)
    assert err.value.path == "Statement.Condition.NumericEquals.s3:max-keys"
    assert "NaN and infinite" in err.value.message


def test_non_finite_number_in_a_decoded_document() -> None:
    doc = {
        "Statement": {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"NumericEquals": {"k:n": float("nan")}},
        }
    }
    with pytest.raises(PolicyError, match="NaN and infinite"):
        parse_policy(doc, origin="doc", kind=PolicyKind.IDENTITY)


@pytest.mark.parametrize(("element", "path"), [("Version", "Version"), ("Id", "Id"), ("Sid", "Statement[0].Sid")])
def test_null_version_sid_id(capsys: pytest.CaptureFixture[str], tmp_path: Path, element: str, path: str) -> None:
    data = _data()
    policy = data["keys"][0]["policy"]
    (policy if element != "Sid" else policy["Statement"][0])[element] = None
    line = _why(capsys, _write(tmp_path, data))
    assert f"snap.json: keys[0].policy: {path}:" in line and "null" in line


@pytest.mark.parametrize(
    ("where", "path"),
    [
        (lambda d: d["keys"][0], "keys[0].policy"),
        (lambda d: d["principals"][0]["policies"][0], "principals[0].policies[0].document"),
    ],
)
def test_double_encoded_documents(capsys: pytest.CaptureFixture[str], tmp_path: Path, where: Any, path: str) -> None:
    data = _data()
    record = where(data)
    field = "policy" if "policy" in record else "document"
    record[field] = json.dumps(json.dumps(record[field]))  # JSON text of JSON text of the document
    line = _why(capsys, _write(tmp_path, data))
    assert f"snap.json: {path}: policy text must hold a JSON object, not JSON text (double-encoded?)" in line


def test_double_encoded_queue_policy_is_rejected_too(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = _data()
    attrs = data["queues"][0]["attributes"]
    attrs["Policy"] = json.dumps(attrs["Policy"])
    line = _why(capsys, _write(tmp_path, data))
    assert "snap.json: queues[0].attributes.Policy" in line and "not JSON text (double-encoded?)" in line


@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_policy_texts(capsys: pytest.CaptureFixture[str], tmp_path: Path, empty: str) -> None:
    data = _data()
    data["queues"][0]["attributes"]["Policy"] = empty
    line = _why(capsys, _write(tmp_path, data))
    assert "snap.json: queues[0].attributes.Policy: empty policy text" in line
    assert "Expecting value" not in line
    data = _data()
    data["keys"][0]["policy"] = empty
    line = _why(capsys, _write(tmp_path, data))
    assert "snap.json: keys[0].policy: empty policy text" in line
    with pytest.raises(PolicyError) as err:
        parse_policy(empty, origin="doc", kind=PolicyKind.RESOURCE)
    assert "empty text" in err.value.message and "Expecting value" not in str(err.value)


def test_huge_numbers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    big = "9" * 5000
    text = json.dumps({**_data(), "collected": "PLACEHOLDER"}).replace('"PLACEHOLDER"', big)
    line = _why(capsys, _write(tmp_path, text))
    assert "snap.json: collected: a number of 5000 digits" in line
    assert "4300" not in line and "Exceeds" not in line
    policy = (
        '{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*", '
        '"Condition": {"NumericLessThan": {"k:n": %s}}}}'
    )
    with pytest.raises(PolicyError) as err:
        parse_policy(policy % big, origin="doc", kind=PolicyKind.IDENTITY)
    assert err.value.path == "Statement.Condition.NumericLessThan.k:n" and "5000 digits" in err.value.message
    with pytest.raises(PolicyError) as err:
        parse_policy(json.loads(policy % "1") | {"Version": 10**5000}, origin="doc", kind=PolicyKind.IDENTITY)
    assert "Exceeds" not in str(err.value)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["keys"][0]["policy"]["Statement"][0].update(Effect="x" * 10_000),
        lambda d: d["keys"][0]["policy"]["Statement"][0].update(Action="y" * 10_000),
        lambda d: d["keys"][0]["policy"]["Statement"][0].update({"z" * 10_000: 1}),
        lambda d: d["keys"][0].update(arn="arn:aws:kms:ap-northeast-1:111111111111:" + "w" * 10_000),
        lambda d: d["accounts"][0].update(id="1" * 10_000),
        lambda d: d["queues"][0].update({"v" * 10_000: 1}),
    ],
)
def test_long_bad_values_are_cut(capsys: pytest.CaptureFixture[str], tmp_path: Path, mutate: Any) -> None:
    data = _data()
    mutate(data)
    line = _why(capsys, _write(tmp_path, data))
    assert len(line) < 350 + len(str(tmp_path)), line
    assert not re.search(r"(.)\1{100}", line), line  # no more than ~100 characters of the bad value


# --------------------------------------------------------------------------- the CLI itself (items 4/7)


def test_no_arguments_prints_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys)
    assert run.code == 2
    shown = run.out + run.err  # rich help prints itself to stdout; click's plain help goes to stderr
    assert "Usage" in shown and "why-denied" in shown and "sqsdiag: error:" not in shown


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, "--help")
    assert run.code == 0 and "70" in run.out and "internal error" in run.out


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("boom\nsecond line")


def test_a_crash_is_exit_70_not_denied(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SQSDIAG_DEBUG", raising=False)
    monkeypatch.setattr("diagnose.api.why_denied", _boom)
    run = run_cli(capsys, "why-denied", "-s", str(CASE2), "--queue", QUEUE, "--principal", CONSUMER)
    assert run.code == 70 and run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.err
    assert "bug in sqsdiag" in lines[0] and "RuntimeError: boom second line" in lines[0]


@pytest.mark.parametrize("how", ["-v", "--verbose", "env"])
def test_a_crash_shows_its_traceback_when_asked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    monkeypatch.setattr("diagnose.api.why_denied", _boom)
    args = ["why-denied", "-s", str(CASE2), "--queue", QUEUE, "--principal", CONSUMER]
    if how == "env":
        monkeypatch.setenv("SQSDIAG_DEBUG", "1")
    else:
        args.append(how)
    run = run_cli(capsys, *args)
    assert run.code == 70
    assert "Traceback" in run.err and "RuntimeError: boom" in run.err
    assert run.err.strip().splitlines()[-1].startswith("sqsdiag: internal error")


def test_load_still_reads_a_good_snapshot() -> None:
    assert load(CASE2).queues[0].arn.endswith("hoge-sse-customer")
