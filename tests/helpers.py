"""Running the CLI in-process, as a user would, with its exit code and streams."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from diagnose.cli import main

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "fixtures" / "article"
CONSUMER = "arn:aws:iam::222222222222:role/consumer"


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    old = sys.argv
    sys.argv = ["sqsdiag", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    finally:
        sys.argv = old
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def run_bad(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run the CLI on bad input: exit 2, nothing on stdout, one line on stderr, no traceback; that line."""
    run = run_cli(capsys, *args)
    assert run.code == 2, (run.out, run.err)
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1, run.err
    assert "Traceback" not in run.err
    return lines[0]
