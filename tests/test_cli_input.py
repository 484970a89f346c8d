"""Bad input: exit code 2 and one line on stderr naming what is wrong; never a traceback."""

from __future__ import annotations

import json
from datetime import timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from diagnose.cli import _context
from diagnose.policy import TYPED_KEYS, Condition, RequestContext, evaluate_condition
from diagnose.policy.conditions import parse_bool, parse_date, parse_network, parse_number
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


# --------------------------------------------------------------------------- typed --context values

SHARED = str(ARTICLE / "3-sse-kms-key-shared.json")  # ReceiveMessage by CONSUMER is allowed as is
SHARED_QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-customer"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("aws:CurrentTime=20260101T000000Z", "expected an ISO 8601 date-time or epoch seconds"),  # basic format
        ("aws:TokenIssueTime=yesterday", "expected an ISO 8601 date-time or epoch seconds"),
        ("aws:EpochTime=2026-01-01T00:00:00Z", "expected epoch seconds"),  # Date and Numeric: must read as both
        ("aws:MultiFactorAuthAge=an-hour", "expected a number"),
        ("aws:ViaAWSService=yes", "expected true or false"),
        ("aws:SourceIp=10.0.0.0/8", "expected an IPv4 or IPv6 address, not a CIDR block"),
        ("aws:VpcSourceIp=10.0.0.300", "expected an IPv4 or IPv6 address"),
    ],
)
def test_a_typed_value_the_engine_cannot_read_is_bad_input(
    capsys: pytest.CaptureFixture[str], value: str, expected: str
) -> None:
    line = run_bad(capsys, "why-denied", "-s", SHARED, "--queue", SHARED_QUEUE, "--principal", CONSUMER, "-c", value)
    assert line.startswith(f"sqsdiag: error: --context {value}: {expected}")


def _time_boxed(tmp_path: Path) -> Path:
    """The shared-key world plus a queue-policy Deny for any call before 2026-06-01 (DateLessThan)."""
    data = json.loads(Path(SHARED).read_text())
    policy = json.loads(data["queues"][0]["attributes"]["Policy"])
    policy["Statement"].append(
        {
            "Sid": "NotBeforeJune",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-06-01T00:00:00Z"}},
        }
    )
    data["queues"][0]["attributes"]["Policy"] = json.dumps(policy)
    f = tmp_path / "time-boxed.json"
    f.write_text(json.dumps(data))
    return f


@pytest.mark.parametrize(
    ("when", "code", "decision"),
    [
        ("2026-01-01T00:00:00Z", 1, "denied"),
        ("2026-01-01", 1, "denied"),
        ("1767225600", 1, "denied"),  # 2026-01-01T00:00:00Z in epoch seconds
        ("2026-12-01T09:00:00+09:00", 0, "allowed"),
        ("1796083200", 0, "allowed"),  # 2026-12-01T00:00:00Z
    ],
)
def test_a_given_current_time_decides_a_date_condition(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, when: str, code: int, decision: str
) -> None:
    run = run_cli(
        capsys,
        "why-denied",
        "-s",
        str(_time_boxed(tmp_path)),
        "--queue",
        SHARED_QUEUE,
        "--principal",
        CONSUMER,
        "--context",
        f"aws:CurrentTime={when}",
        "--format",
        "json",
    )
    out = json.loads(run.out)
    assert (run.code, out["decision"]) == (code, decision), run.err
    if decision == "denied":
        assert out["error"]["message"].endswith("with an explicit deny in a resource-based policy")


def test_the_basic_date_format_is_refused_not_silently_false(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The engine cannot read 20260101T000000Z: evaluating with it would make DateLessThan false (allowed).
    line = run_bad(
        capsys,
        "why-denied",
        "-s",
        str(_time_boxed(tmp_path)),
        "--queue",
        SHARED_QUEUE,
        "--principal",
        CONSUMER,
        "--context",
        "aws:CurrentTime=20260101T000000Z",
    )
    assert line.startswith("sqsdiag: error: --context aws:CurrentTime=20260101T000000Z: expected an ISO 8601")


def test_typed_values_the_engine_reads_are_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(
        capsys,
        "why-denied",
        "-s",
        SHARED,
        "--queue",
        SHARED_QUEUE,
        "--principal",
        CONSUMER,
        *("-c", "aws:EpochTime=1767225600", "-c", "aws:MultiFactorAuthAge=300", "-c", "aws:TokenIssueTime=2026-01-01"),
        *("-c", "aws:MultiFactorAuthPresent=TRUE", "-c", "aws:SourceIp=2001:db8::1"),
        "--fas-source-ip",
        "192.0.2.10",
    )
    assert (run.code, run.err) == (0, "")


# Accept => the engine reads: for any string, a --context value the CLI accepts for a typed key is one the
# operators' parsers read, and a typed condition on it evaluates (not silently false).

_OPERATORS = {
    "bool": (("Bool", ("true", "false")),),
    "date": (("DateEquals", None),),
    "number": (("NumericEquals", None),),
    "epoch": (("DateEquals", None), ("NumericEquals", None)),
    "ip": (("IpAddress", ("0.0.0.0/0", "::/0")),),
}


def _engine_reads(key: str, value: str) -> bool:
    """Every condition family the key is compared with matches the request value (``None``: itself)."""
    context = RequestContext(values={key.lower(): (value,)})
    return all(
        evaluate_condition(Condition(op, op, None, False, key, policy or (value,)), context)[0] is True
        for op, policy in _OPERATORS[TYPED_KEYS[key.lower()]]
    )


def _accepted(key: str, raw: str) -> str | None:
    """The value the CLI keeps for ``--context KEY=RAW``, or ``None`` if it refuses it."""
    try:
        return _context([f"{key}={raw}"], None)[key.lower()][0]
    except ValueError:
        return None


_TEXT = st.text(max_size=40)
_DATES = st.one_of(
    _TEXT,
    st.datetimes(timezones=st.sampled_from([None, timezone.utc])).map(lambda d: d.isoformat()),
    st.datetimes().map(lambda d: d.strftime("%Y%m%dT%H%M%SZ")),
    st.integers().map(str),
    st.floats().map(str),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?\Z"),
)
_NUMBERS = st.one_of(_TEXT, st.integers().map(str), st.floats().map(str), st.from_regex(r"\A[+-]?\d*\.?\d*(e\d+)?\Z"))
_BOOLS = st.one_of(_TEXT, st.sampled_from(["true", "false", "TRUE", " False ", "yes", "1", "truee", "t"]))
_IPS = st.one_of(
    _TEXT,
    st.ip_addresses().map(str),
    st.tuples(st.ip_addresses(), st.integers(0, 128)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.from_regex(r"\A\d{1,4}(\.\d{1,4}){0,4}\Z"),
)


@given(key=st.sampled_from(["aws:CurrentTime", "aws:TokenIssueTime"]), raw=_DATES)
def test_an_accepted_date_is_one_the_engine_reads(key: str, raw: str) -> None:
    kept = _accepted(key, raw)
    if kept is not None:
        assert parse_date(kept) is not None and _engine_reads(key, kept)
    else:  # and nothing the engine reads is refused
        assert parse_date(raw.strip()) is None


@given(raw=_DATES)
def test_an_accepted_epoch_time_is_read_as_a_date_and_as_a_number(raw: str) -> None:
    kept = _accepted("aws:EpochTime", raw)
    if kept is not None:
        assert parse_date(kept) is not None and parse_number(kept) is not None
        assert _engine_reads("aws:EpochTime", kept)
    else:
        assert parse_date(raw.strip()) is None or parse_number(raw.strip()) is None


@given(raw=_NUMBERS)
def test_an_accepted_number_is_one_the_engine_reads(raw: str) -> None:
    kept = _accepted("aws:MultiFactorAuthAge", raw)
    if kept is not None:
        assert parse_number(kept) is not None and _engine_reads("aws:MultiFactorAuthAge", kept)
    else:
        assert parse_number(raw.strip()) is None


@given(key=st.sampled_from(sorted(k for k, t in TYPED_KEYS.items() if t == "bool")), raw=_BOOLS)
def test_an_accepted_boolean_is_one_the_engine_reads(key: str, raw: str) -> None:
    kept = _accepted(key, raw)
    if kept is not None:
        assert parse_bool(kept) is not None and _engine_reads(key, kept)
    else:
        assert parse_bool(raw.strip()) is None


@given(key=st.sampled_from(["aws:SourceIp", "aws:VpcSourceIp"]), raw=_IPS)
def test_an_accepted_ip_is_an_address_the_engine_reads(key: str, raw: str) -> None:
    kept = _accepted(key, raw)
    if kept is not None:
        # IpAddress reads the request value as one address: a CIDR block would match nothing.
        assert parse_network(kept) is not None and _engine_reads(key, kept)
    else:
        assert not _engine_reads(key, raw.strip())


@given(address=st.ip_addresses())
def test_every_address_is_accepted(address: object) -> None:
    assert _accepted("aws:SourceIp", str(address)) == str(address)
