"""The default sessions: a profile per account, a role assumed in each account, or the base
credentials when they are that account's; nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.collect import CollectOptions, DefaultSessions, NoCredentials, WriteRefused, collect

from .test_collect_world import build
from .world import REGION, A, Accounts, B, C, World

MOTO_DEFAULT_ACCOUNT = "123456789012"  # what moto maps unknown access keys to


def test_assume_role_name_gives_each_account_its_own_credentials(aws: Accounts) -> None:
    lines: list[str] = []
    sessions = DefaultSessions(CollectOptions(region=REGION, assume_role_name="admin"), log=lines.append)
    for account in (A, B):
        arn = sessions.client(account, "sts", REGION).get_caller_identity()["Arn"]
        assert arn.startswith(f"arn:aws:sts::{account}:assumed-role/admin/sqsdiag-collect")
    assert sessions.client(A, "sqs", REGION) is sessions.client(A, "sqs", REGION)  # cached
    assert sum("sts:AssumeRole" in line for line in lines) == 2
    assert any(line.startswith(f"{A} sts:AssumeRole arn:aws:iam::{A}:role/admin -> ok (") for line in lines)


def test_clients_are_guarded_and_retry_in_standard_mode(aws: Accounts) -> None:
    sessions = DefaultSessions(CollectOptions(region=REGION, assume_role_name="admin"))
    sqs = sessions.client(A, "sqs", REGION)
    assert sqs.meta.config.retries == {"mode": "standard", "total_max_attempts": 3}
    with pytest.raises(WriteRefused):
        sqs.create_queue(QueueName="nope")


def test_base_credentials_serve_only_their_own_account(aws: Accounts) -> None:
    sessions = DefaultSessions(CollectOptions(region=REGION))
    assert sessions.client(MOTO_DEFAULT_ACCOUNT, "sqs", REGION) is not None
    with pytest.raises(
        NoCredentials, match=f"no credentials for account {A} .*base credentials are account {MOTO_DEFAULT_ACCOUNT}"
    ) as err:
        sessions.client(A, "sqs", REGION)
    assert err.value.account == A


def test_account_profiles_pick_the_profile(aws: Accounts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    config.write_text("[profile auditor]\naws_access_key_id = AKIAAUDITOR000000000\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    sessions = DefaultSessions(CollectOptions(region=REGION, account_profiles={C: "auditor", B: "missing"}))
    client = sessions.client(C, "sqs", REGION)
    assert client._request_signer._credentials.access_key == "AKIAAUDITOR000000000"
    with pytest.raises(NoCredentials, match="cannot load profile: profile 'missing' is not in the AWS config"):
        sessions.client(B, "sqs", REGION)
    with pytest.raises(ValueError, match=r"^profile 'nope' is not in the AWS config$"):
        collect(f"http://127.0.0.1:1/{A}/orders", [], options=CollectOptions(profile="nope"))


def test_collect_with_default_sessions_records_gaps_for_unreachable_accounts(aws: Accounts, world: World) -> None:
    w = build(world)
    lines: list[str] = []
    result = collect(
        w["url"], [f"arn:aws:iam::{B}:role/consumer"], options=CollectOptions(region=REGION), log=lines.append
    )
    s = result.snapshot
    assert s.queues == () and s.principals == ()
    assert {(g.layer, g.error) for g in s.gaps} >= {("queue", "NoCredentials"), ("identity-policy", "NoCredentials")}
    assert all(g.error == "NoCredentials" for g in s.gaps)


def test_collect_against_a_moto_server_with_assumed_roles(server: World) -> None:
    w = build(server)
    lines: list[str] = []
    options = CollectOptions(region=REGION, endpoint_url=server.aws.endpoint_url, assume_role_name="admin")
    result = collect(w["url"], [f"arn:aws:iam::{B}:role/consumer"], options=options, log=lines.append)
    s = result.snapshot
    assert s.gaps == ()
    assert s.queues[0].url == w["url"] and w["url"].startswith("http://127.0.0.1:")
    assert s.keys[0].arn == w["key"]["Arn"]
    assert s.principals[0].arn == f"arn:aws:iam::{B}:role/app/consumer"
    assert [len(a.path) for a in s.accounts] == [3, 3]
    assert result.identities[A].startswith(f"arn:aws:sts::{A}:assumed-role/admin/sqsdiag-collect")


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: object) -> list[bytes]:
        return [self._body]


def _throttle(times: int) -> tuple[list[int], object]:
    from botocore.awsrequest import AWSResponse

    seen = [0]

    def send(request: object, **_: object) -> AWSResponse | None:
        seen[0] += 1
        if seen[0] > times:
            return None
        body = b'{"__type": "com.amazonaws.sqs#ThrottlingException", "message": "Rate exceeded"}'
        return AWSResponse("https://sqs", 400, {"x-amzn-query-error": "ThrottlingException;Sender"}, _Raw(body))

    return seen, send


class _Throttled:
    """DefaultSessions whose SQS client is throttled for its first ``times`` sends."""

    def __init__(self, inner: DefaultSessions, times: int) -> None:
        self.inner, self.seen, self._send = inner, *_throttle(times)
        self.default_region = REGION

    def client(self, account: str, service: str, region: str) -> object:
        client = self.inner.client(account, service, region)
        if service == "sqs":
            client.meta.events.register_first("before-send", self._send, unique_id="throttle")
        return client


@pytest.mark.parametrize(("times", "throttled"), [(2, False), (5, True)])
def test_throttling_is_retried_and_never_fatal(
    aws: Accounts, world: World, monkeypatch: pytest.MonkeyPatch, times: int, throttled: bool
) -> None:
    from botocore.retries.standard import ExponentialBackoff

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
    url = world.queue(A)
    options = CollectOptions(region=REGION, assume_role_name="admin")
    sessions = _Throttled(DefaultSessions(options), times)
    s = collect(url, [], options=options, sessions=sessions).snapshot
    assert sessions.seen[0] == 3  # one call, two retries
    if throttled:
        assert s.queues == ()
        assert [(g.layer, g.error) for g in s.gaps] == [("queue", "ThrottlingException")]
    else:
        assert s.queues[0].arn.endswith(":orders") and s.gaps == ()
