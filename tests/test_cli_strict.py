"""Strict arguments: a single-valued option given twice, an IAM name AWS forbids, an empty --source-arn."""

from __future__ import annotations

import pytest

from tests.helpers import ARTICLE, CONSUMER, run_bad, run_cli

SNAP = str(ARTICLE / "2-sse-kms-queue-policy-only.json")
QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-customer"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("why-denied", "-s", SNAP, "--queue", QUEUE, "--queue", QUEUE, "--principal", CONSUMER), "--queue"),
        (
            (
                "why-denied",
                "-s",
                SNAP,
                "--queue",
                QUEUE,
                "--principal",
                CONSUMER,
                "--action=SendMessage",
                "--action",
                "ReceiveMessage",
            ),
            "--action",
        ),
        (
            ("why-denied", "-s", SNAP, "--queue", QUEUE, "--principal", CONSUMER, "-f", "json", "--format", "text"),
            "--format",
        ),
        (
            ("preflight", "-s", SNAP, "--queue", QUEUE, "--consumer", "222222222222", "--consumer", "333333333333"),
            "--consumer",
        ),
    ],
)
def test_a_single_valued_option_given_twice_is_bad_input(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], option: str
) -> None:
    # click keeps the last value silently; the user meant one of them and sqsdiag cannot know which.
    assert run_bad(capsys, *args) == f"sqsdiag: error: {option} is given twice; it takes one value"


def test_repeatable_options_and_values_that_look_like_options_stay_accepted(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(
        capsys,
        "why-denied", "-s", SNAP, "-s", SNAP, "--queue", QUEUE, "--principal", CONSUMER,
        "--context", "aws:SourceIp=203.0.113.9", "--context", "aws:SourceIp=203.0.113.10", "-f", "json",
    )  # fmt: skip
    assert (run.code, run.err) == (1, "")  # denied: KMS.AccessDeniedException, as without the repeats


def test_an_iam_name_aws_forbids_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_bad(capsys, "why-denied", "-s", SNAP, "--queue", QUEUE, "--principal", CONSUMER + "/has space")
    assert "letters, digits and +=,.@_-" in line


def test_an_empty_source_arn_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    line = run_bad(
        capsys, "preflight", "-s", SNAP, "--queue", QUEUE, "--producer", "sns.amazonaws.com", "--source-arn", ""
    )
    assert line.startswith("sqsdiag: error: --source-arn:")
