"""An endpoint URL is scheme, host, port and path only: a query string would be signed and sent with
every read (``?Action=DeleteQueue&QueueUrl=...`` deletes the queue on a moto server), so it is refused
with exit 2, one line naming where it came from, before any client is built."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import boto3
import pytest

from diagnose.collect import CollectOptions, DefaultSessions
from diagnose.collect.guard import install
from diagnose.collect.options import UnsafeEndpoint, check_endpoints, endpoint_error

from .cli_run import run
from .world import NO_RETRY, REGION, A, B, World

CONSUMER = f"arn:aws:iam::{B}:role/consumer"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:5000/?Action=DeleteQueue", "query string"),
        ("http://127.0.0.1:5000?", "query string"),
        ("https://sqs.us-east-1.amazonaws.com/#frag", "fragment"),
        ("http://user:pw@127.0.0.1:5000", "user info"),
        ("http://@127.0.0.1:5000", "user info"),
        ("ftp://127.0.0.1", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("127.0.0.1:5000", "http:// or https://"),
        ("http://", "expected a host"),
        ("http:///path", "expected a host"),
        ("http://127.0.0.1:99999", "not a URL"),
        ("http://127.0.0.1:5000/\nX-Injected: 1", "control characters"),
        ("", "http:// or https://"),
    ],
)
def test_unsafe_endpoint_urls_are_named(url: str, problem: str) -> None:
    error = endpoint_error(url)
    assert error is not None and problem in error, error


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5000", "https://sqs.us-east-1.amazonaws.com", "HTTP://localhost:4566/", "http://[::1]:5000/p"],
)
def test_plain_endpoint_urls_pass(url: str) -> None:
    assert endpoint_error(url) is None


def _delete_queue_url(endpoint: str, queue_url: str) -> str:
    return f"{endpoint}/?Action=DeleteQueue&QueueUrl={quote(queue_url, safe='')}"


def _queues(server: World) -> list[str]:
    return list(server.aws.admin(A, "sqs").list_queues().get("QueueUrls") or [])


def _no_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a client was built")

    monkeypatch.setattr(boto3.Session, "client", refuse)


def test_the_danger_is_real_a_query_in_the_endpoint_deletes_the_queue(server: World) -> None:
    """Control: a guarded client whose endpoint carries the query deletes the queue with an allowed read."""
    endpoint = server.aws.endpoint_url
    assert endpoint is not None
    url = server.queue(A)
    sqs = install(
        boto3.Session(region_name=REGION).client(
            "sqs", endpoint_url=_delete_queue_url(endpoint, url), config=NO_RETRY, **server.aws.credentials(A)
        )
    )
    sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    assert _queues(server) == []


@pytest.mark.parametrize("command", ["why-denied", "collect"])
def test_an_endpoint_with_a_query_is_exit_2_and_the_queue_survives(
    server: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
) -> None:
    endpoint = server.aws.endpoint_url
    assert endpoint is not None
    url = server.queue(A)
    bad = _delete_queue_url(endpoint, url)
    _no_clients(monkeypatch)
    extra = ["-o", str(tmp_path / "out.json")] if command == "collect" else []
    args = ["--queue", url, "--principal", CONSUMER, "--endpoint-url", bad, "--region", REGION]
    result = run(capsys, monkeypatch, command, *args, "--assume-role-name", "admin", *extra)
    monkeypatch.undo()  # the admin client below may be built again
    assert result.code == 2
    assert len(result.err_lines) == 1, result.err
    assert result.err_lines[0].startswith("sqsdiag: error: --endpoint-url 'http://127.0.0.1:")
    assert "must not contain a query string" in result.err_lines[0]
    assert result.out == ""
    assert _queues(server) == [url]
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1/?Action=DeleteQueue", "query string"),
        ("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:1/?Action=PurgeQueue", "query string"),
        ("AWS_ENDPOINT_URL_KMS", "http://a:b@127.0.0.1:1", "user info"),
        ("AWS_ENDPOINT_URL_STS", "gopher://127.0.0.1:1", "http:// or https://"),
    ],
)
def test_endpoint_variables_botocore_honours_are_checked(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(variable, value)
    _no_clients(monkeypatch)
    result = run(
        capsys, monkeypatch, "why-denied", "--queue", f"arn:aws:sqs:{REGION}:{A}:orders", "--principal", CONSUMER
    )
    assert result.code == 2
    assert result.err_lines == [
        f"sqsdiag: error: environment variable {variable}={value!r}: {result.err_lines[0].split(': ', 3)[-1]}"
    ]
    assert problem in result.err_lines[0]


def test_a_snapshot_run_does_not_look_at_endpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing is sent without collection, so --endpoint-url is not checked then (the snapshot is)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1/?Action=DeleteQueue")
    missing = tmp_path / "missing.json"
    result = run(
        capsys,
        monkeypatch,
        "why-denied",
        "--queue",
        f"arn:aws:sqs:{REGION}:{A}:orders",
        "--principal",
        CONSUMER,
        "--snapshot",
        str(missing),
    )
    assert result.code == 2
    assert "AWS_ENDPOINT_URL" not in result.err


def test_a_profile_endpoint_url_with_a_query_stops_the_sessions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    config.write_text(
        "[profile auditor]\naws_access_key_id = AKIAAUDITOR000000000\naws_secret_access_key = s\n"
        "services = local\n\n[services local]\nsqs =\n  endpoint_url = http://127.0.0.1:1/?Action=DeleteQueue\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with pytest.raises(UnsafeEndpoint, match=r"^profile 'auditor' \[services local\] sqs\.endpoint_url .*query string"):
        DefaultSessions(CollectOptions(region=REGION, account_profiles={A: "auditor"}))


def test_the_library_checks_too() -> None:
    with pytest.raises(UnsafeEndpoint, match=r"^--endpoint-url 'http://h/\?x=1': must not contain a query string"):
        DefaultSessions(CollectOptions(region=REGION, endpoint_url="http://h/?x=1"))
    check_endpoints(None, {"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:5000", "AWS_ENDPOINT_URLISH": "x?y"})
    with pytest.raises(UnsafeEndpoint, match="AWS_ENDPOINT_URL_SQS"):
        check_endpoints(None, {"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:5000/?a"})
