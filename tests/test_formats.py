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


def test_graph_json_explains_the_verdict_as_a_path(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    run = run_cli(capsys, *ARGS, "--format", "graph-json")
    data = json.loads(run.out)
    key = "arn:aws:kms:ap-northeast-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    assert data["explanation"] == [
        "arn:aws:sts::222222222222:assumed-role/consumer/sqsdiag-session",
        "step:sqs:ReceiveMessage",
        "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-customer",
        key,
        "step:kms:Decrypt",
        "layer:kms:Decrypt:key-policy",
        f"stmt:key policy of {key}:no statement allows kms:Decrypt",
    ]
    blocking_edges = [e for e in data["edges"] if e.get("blocks")]
    assert {(e["source"], e["target"]) for e in blocking_edges} >= {
        ("layer:kms:Decrypt:key-policy", "step:kms:Decrypt"),
        ("layer:kms:Decrypt:identity-policy", "step:kms:Decrypt"),
    }
