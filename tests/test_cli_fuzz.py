"""Fuzzing the command line (seeded, bounded): any arguments give a verdict or one line of bad input —
never a traceback, never the internal-error exit, and the snapshot given is never modified."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import ARTICLE, CONSUMER, run_cli

SNAP = ARTICLE / "2-sse-kms-queue-policy-only.json"
QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-customer"

_VALUES = st.sampled_from(
    [
        QUEUE,
        "https://sqs.ap-northeast-1.amazonaws.com/111111111111/hoge-sse-customer",
        CONSUMER,
        "222222222222",
        "sns.amazonaws.com",
        "arn:aws:sns:ap-northeast-1:111111111111:t",
        "ReceiveMessage",
        "SendMessageBatch",
        "aws:SourceIp=203.0.113.9",
        "aws:CurrentTime=20260101T000000Z",
        "aws:SecureTransport=false",
        "kms:ViaService",
        "json",
        "markdown",
        "mermaid",
        "legacy",
        "state",
        "10.0.0.1",
        "",
        "=",
        "-",
        "--",
        "x" * 300,
        "\x00",
        "☃",
        "arn:aws:iam::222222222222:role/has space",
    ]
)
_OPTIONS = st.sampled_from(
    [
        "--queue",
        "--principal",
        "--action",
        "--actions",
        "--consumer",
        "--producer",
        "--source-arn",
        "--context",
        "--absent",
        "--format",
        "--message-style",
        "--key-state-first",
        "--fas-source-ip",
        "--session-name",
        "--cross-account-grant-needs-iam",
        "--assume-empty-queue",
        "--bogus",
    ]
)
_TOKENS = st.lists(st.one_of(_OPTIONS, _VALUES), max_size=10)


@settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(command=st.sampled_from(["why-denied", "preflight", "who-can"]), tokens=_TOKENS)
def test_any_arguments_give_a_verdict_or_one_line_of_bad_input(
    capsys: pytest.CaptureFixture[str], command: str, tokens: list[str]
) -> None:
    before = hashlib.sha256(SNAP.read_bytes()).hexdigest()
    run = run_cli(capsys, command, "--snapshot", str(SNAP), *tokens)
    assert run.code in (0, 1, 2, 3), (tokens, run.code, run.err[-300:])
    assert "Traceback" not in run.err and "internal error" not in run.err, (tokens, run.err[-300:])
    if run.code == 2:
        lines = [line for line in run.err.splitlines() if line.strip()]
        assert (lines and lines[-1].startswith("sqsdiag: error:")) or "Usage" in run.err, (tokens, run.err[-300:])
    assert hashlib.sha256(SNAP.read_bytes()).hexdigest() == before
