"""Run the ``sqsdiag`` entry point in-process (so tests can patch and spy), as a console script would."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from diagnose.cli import main


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> Run:
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["sqsdiag", *args])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)
