"""``collect -o``: the path is checked before collecting; the file is new, mode 0600, never written
through a symlink; ``--force`` replaces a regular file (not a symlink)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import diagnose.collect
from diagnose import snapshot as snap

from .cli_run import Run, run
from .test_e2e_cli import CONSUMER, article_world, live_args
from .world import REGION, A, World


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    """The default umask that made snapshots world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _collect(
    server: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, out: Path, *extra: str
) -> Run:
    url = article_world(server)
    assert server.aws.endpoint_url is not None
    return run(capsys, monkeypatch, "collect", *live_args(url, server.aws.endpoint_url), "-o", str(out), *extra)


def _no_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("collected before checking --output")

    monkeypatch.setattr(diagnose.collect, "collect", refuse)


def _offline(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, out: Path, *extra: str) -> Run:
    _no_collection(monkeypatch)
    queue = f"arn:aws:sqs:{REGION}:{A}:orders"
    return run(capsys, monkeypatch, "collect", "--queue", queue, "--principal", CONSUMER, "-o", str(out), *extra)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_the_snapshot_is_written_mode_0600(
    server: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.json"
    result = _collect(server, capsys, monkeypatch, out)
    assert result.code == 0, result.err
    assert _mode(out) == 0o600
    assert out.is_file() and not out.is_symlink()
    assert [q.arn for q in snap.load(out).queues] == [f"arn:aws:sqs:{REGION}:{A}:orders"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temporary file left


def test_force_replaces_a_regular_file_with_a_0600_one(
    server: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.json"
    out.write_text("old")
    out.chmod(0o644)
    result = _collect(server, capsys, monkeypatch, out, "--force")
    assert result.code == 0, result.err
    assert _mode(out) == 0o600
    assert snap.load(out).queues
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_a_missing_directory_is_exit_2_before_collecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "nope" / "out.json"
    result = _offline(capsys, monkeypatch, out)
    assert result.code == 2
    assert result.err_lines == [f"sqsdiag: error: --output {out}: cannot write (directory {out.parent} does not exist)"]
    assert not out.parent.exists()


def test_an_existing_file_without_force_is_exit_2_before_collecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.json"
    out.write_text("mine")
    result = _offline(capsys, monkeypatch, out)
    assert result.code == 2
    assert result.err_lines == [f"sqsdiag: error: --output {out}: file exists (use --force to overwrite)"]
    assert out.read_text() == "mine"


def test_a_directory_at_the_path_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _offline(capsys, monkeypatch, tmp_path, "--force")
    assert result.code == 2
    assert result.err_lines == [f"sqsdiag: error: --output {tmp_path}: not a regular file"]


@pytest.mark.parametrize("force", [False, True])
def test_a_dangling_symlink_is_refused_and_its_target_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, force: bool
) -> None:
    target = tmp_path / "elsewhere" / "target.json"
    target.parent.mkdir()
    out = tmp_path / "out.json"
    out.symlink_to(target)
    result = _offline(capsys, monkeypatch, out, *(["--force"] if force else []))
    assert result.code == 2
    assert result.err_lines == [f"sqsdiag: error: --output {out}: is a symbolic link (refused, even with --force)"]
    assert not target.exists()
    assert out.is_symlink()


def test_force_does_not_write_through_a_symlink_to_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "precious"
    target.write_text("keep me")
    out = tmp_path / "out.json"
    out.symlink_to(target)
    result = _offline(capsys, monkeypatch, out, "--force")
    assert result.code == 2
    assert "is a symbolic link" in result.err_lines[0] and len(result.err_lines) == 1
    assert target.read_text() == "keep me"


def test_a_symlink_that_appears_during_collection_is_not_followed(
    server: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path is free when checked; a dangling symlink is planted while collecting: the write refuses it."""
    out = tmp_path / "out.json"
    target = tmp_path / "planted-target"
    real = diagnose.collect.collect

    def collect_then_plant(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        out.symlink_to(target)
        return result

    monkeypatch.setattr(diagnose.collect, "collect", collect_then_plant)
    result = _collect(server, capsys, monkeypatch, out)
    assert result.code == 2
    assert result.err_lines[-1] == f"sqsdiag: error: --output {out}: file exists (use --force to overwrite)"
    assert not target.exists()
    assert out.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
