"""Output formats: text and markdown for people, mermaid and dot for the permission graph."""

from __future__ import annotations

import pytest

from tests.helpers import ARTICLE, CONSUMER, run_cli

ARGS = (
    "why-denied",
    "-s",
    str(ARTICLE / "2-sse-kms-queue-policy-only.json"),
    "--queue",
    "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-customer",
    "--principal",
    CONSUMER,
)


def test_text_puts_the_verdict_first_then_layers_then_fixes(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, *ARGS)
    assert run.code == 1
    first = run.out.splitlines()[0]
    assert first.startswith("DENIED (KMS.AccessDeniedException):")
    assert run.out.index("Steps") < run.out.index("What blocks") < run.out.index("Fixes")
    assert "Sid 'AllowConsumerAccount'" in run.out


def test_markdown_has_headings_and_json_statements(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, *ARGS, "--format", "markdown")
    assert run.out.startswith("## DENIED")
    assert "```json" in run.out and '"kms:ViaService"' in run.out


def test_mermaid_marks_blocking_edges(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, *ARGS, "--format", "mermaid")
    assert run.out.startswith("flowchart LR")
    assert "key-policy: implicit-deny" in run.out
    assert "-.->|blocks|" in run.out and "stroke:#d00" in run.out


def test_dot_is_a_digraph_with_red_blockers(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(capsys, *ARGS, "--format", "dot")
    assert run.out.startswith("digraph sqsdiag {") and run.out.rstrip().endswith("}")
    assert "color=red" in run.out and "encrypts-with" in run.out
