"""Every collector client has connect and read timeouts (5 s / 15 s, or --cli-connect-timeout and
--cli-read-timeout), and the user's retry settings win over sqsdiag's default (standard mode, 3 attempts)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from diagnose.collect import CollectOptions, DefaultSessions, collect, guard
from tests.helpers import run_bad

from .cli_run import run
from .test_e2e_cli import article_world, live_args
from .world import REGION, A, World

PROFILE = "[profile reader]\naws_access_key_id = AKIAREADER0000000000\naws_secret_access_key = s\n"


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    config.write_text(PROFILE)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_PROFILE", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    return config


def _client(options: CollectOptions, service: str = "sqs") -> Any:
    return DefaultSessions(options).client(A, service, REGION)


def test_default_timeouts_and_retries(config_file: Path) -> None:
    config = _client(CollectOptions(region=REGION, account_profiles={A: "reader"})).meta.config
    assert (config.connect_timeout, config.read_timeout) == (5.0, 15.0)
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}


def test_timeouts_come_from_the_options(config_file: Path) -> None:
    options = CollectOptions(region=REGION, account_profiles={A: "reader"}, connect_timeout=1.5, read_timeout=2)
    for service in ("sqs", "kms", "sts"):
        config = _client(options, service).meta.config
        assert (config.connect_timeout, config.read_timeout) == (1.5, 2)


def test_retry_settings_from_the_environment_win(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    config = _client(CollectOptions(region=REGION, account_profiles={A: "reader"})).meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 7}
    assert config.read_timeout == 15.0


def test_retry_settings_from_the_profile_win(config_file: Path) -> None:
    config_file.write_text(PROFILE + "retry_mode = legacy\nmax_attempts = 2\n")
    config = _client(CollectOptions(region=REGION, account_profiles={A: "reader"})).meta.config
    assert config.retries == {"mode": "legacy", "total_max_attempts": 2}


def test_only_what_the_user_set_is_left_to_botocore(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    config = _client(CollectOptions(region=REGION, account_profiles={A: "reader"})).meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_a_timeout_that_is_not_positive_is_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str
) -> None:
    result = run(
        capsys,
        monkeypatch,
        "collect",
        "--queue",
        f"arn:aws:sqs:{REGION}:{A}:orders",
        "-o",
        str(tmp_path / "out.json"),
        "--cli-read-timeout",
        value,
    )
    assert result.code == 2
    assert len(result.err_lines) == 1 and result.err_lines[0].startswith("sqsdiag: error: --cli-read-timeout ")
    assert not (tmp_path / "out.json").exists()


def test_the_cli_timeouts_reach_every_client(
    server: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = article_world(server)
    assert server.aws.endpoint_url is not None
    configs: list[tuple[str, Any]] = []
    install = guard.install

    def spy(client: Any) -> Any:
        configs.append((client.meta.service_model.service_name, client.meta.config))
        return install(client)

    monkeypatch.setattr(guard, "install", spy)
    out = tmp_path / "out.json"
    args = [*live_args(url, server.aws.endpoint_url), "-o", str(out)]
    result = run(capsys, monkeypatch, "collect", *args, "--cli-connect-timeout", "2", "--cli-read-timeout", "3")
    assert result.code == 0, result.err
    assert {s for s, _ in configs} >= {"sts", "sqs", "kms", "iam", "organizations"}
    assert {(c.connect_timeout, c.read_timeout) for _, c in configs} == {(2.0, 3.0)}
    assert out.exists()


@pytest.fixture
def stalled_endpoint() -> Iterator[str]:
    """Accepts connections and never answers: what a stalled read looks like."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_a_stalled_read_costs_the_read_timeout_not_a_minute(
    config_file: Path, stalled_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    options = CollectOptions(
        region=REGION, endpoint_url=stalled_endpoint, account_profiles={A: "reader"}, read_timeout=0.5
    )
    started = time.monotonic()
    result = collect(f"arn:aws:sqs:{REGION}:{A}:orders", [], options=options)
    elapsed = time.monotonic() - started
    assert elapsed < 5, elapsed
    gaps = {(g.layer, g.error) for g in result.snapshot.gaps}
    assert ("queue", "ReadTimeoutError") in gaps, gaps


@pytest.mark.parametrize(
    "command",
    [
        ("why-denied", "--principal", "arn:aws:iam::222222222222:role/consumer"),
        ("preflight", "--consumer", "222222222222"),
        ("who-can",),
    ],
)
def test_every_command_that_collects_takes_the_timeouts(
    capsys: pytest.CaptureFixture[str], command: tuple[str, ...]
) -> None:
    queue = "https://sqs.us-east-1.amazonaws.com/111111111111/orders"
    line = run_bad(capsys, *command, "--queue", queue, "--cli-connect-timeout", "-1")
    assert line.startswith("sqsdiag: error: --cli-connect-timeout -1")
