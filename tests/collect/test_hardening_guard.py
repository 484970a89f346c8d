"""The read-only guard is an allow-list of the exact operations the collectors make.

Every operation of every client the collectors create that is not on the list is refused before a
request exists: the clients point at an endpoint that fails if contacted, and a ``before-send`` hook
records anything that would have gone out.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import boto3
import pytest

from diagnose.collect import CollectOptions, DefaultSessions, WriteRefused
from diagnose.collect.guard import CREDENTIALS, READS, is_read
from diagnose.collect.reader import Reader
from diagnose.collect.tasks import TaskGroup

ACCOUNT = "111111111111"
REGION = "us-east-1"
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens, a request would fail to connect
COLLECT_SOURCES = Path(__file__).resolve().parents[2] / "diagnose" / "collect"


@pytest.fixture
def sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DefaultSessions:
    """The collectors' own sessions: credentials from a profile (no STS call), an endpoint that cannot answer."""
    config = tmp_path / "config"
    config.write_text("[profile reader]\naws_access_key_id = AKIAREADER0000000000\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    options = CollectOptions(region=REGION, endpoint_url=NOWHERE, account_profiles={ACCOUNT: "reader"})
    return DefaultSessions(options)


def _sent(client: Any) -> list[str]:
    sent: list[str] = []
    client.meta.events.register("before-send", lambda request, **_: sent.append(request.url))
    return sent


def _method(client: Any, operation: str) -> Any:
    names = {api: method for method, api in client.meta.method_to_api_mapping.items()}
    return getattr(client, names[operation])


@pytest.mark.parametrize(
    ("service", "operation"),
    [
        ("sts", "GetSessionToken"),
        ("sts", "GetFederationToken"),
        ("kms", "GetParametersForImport"),
        ("ec2", "GetPasswordData"),
        ("sqs", "ReceiveMessage"),
        ("sqs", "ListQueues"),  # a read, but not one the collectors make
        ("iam", "GetAccountAuthorizationDetails"),
    ],
)
def test_get_named_operations_off_the_list_are_refused_without_a_request(
    sessions: DefaultSessions, service: str, operation: str
) -> None:
    assert not is_read(service, operation)
    client = sessions.client(ACCOUNT, service, REGION)
    sent = _sent(client)
    with pytest.raises(WriteRefused, match=f"^refused {service}:{operation}: "):
        _method(client, operation)()
    assert sent == []


def test_every_operation_of_every_collector_client_not_on_the_list_is_refused(sessions: DefaultSessions) -> None:
    assert set(READS) == {"sqs", "kms", "iam", "organizations", "ec2", "sts"}
    refused = 0
    for service in sorted(READS):
        client = sessions.client(ACCOUNT, service, REGION)
        sent = _sent(client)
        operations = client.meta.service_model.operation_names
        assert READS[service] | CREDENTIALS.get(service, frozenset()) <= set(operations), service
        for operation in operations:
            if is_read(service, operation):
                continue
            with pytest.raises(WriteRefused, match=f"^refused {service}:{operation}: "):
                _method(client, operation)()  # no parameters: only the guard can stop it this early
            refused += 1
        assert sent == [], service
    assert refused > 900  # ec2 alone has hundreds


def test_the_reader_guards_clients_from_any_sessions(sessions: DefaultSessions) -> None:
    """A client from a caller's own sessions is guarded too (Reader installs the guard)."""

    class Unguarded:
        default_region = REGION

        def client(self, account: str, service: str, region: str) -> Any:
            session = boto3.Session(aws_access_key_id="AKIAX", aws_secret_access_key="s", region_name=region)
            return session.client(service, endpoint_url=NOWHERE)

    reader = Reader(Unguarded(), TaskGroup(1), None)
    client = reader.client(ACCOUNT, "sts", REGION)
    sent = _sent(client)
    with pytest.raises(WriteRefused, match="sts:GetSessionToken"):
        reader.call(ACCOUNT, "sts", "GetSessionToken", "-", REGION)
    assert sent == []


def test_every_allowed_operation_is_a_read() -> None:
    for service, operations in READS.items():
        for operation in operations:
            assert operation.startswith(("Get", "List", "Describe")), f"{service}:{operation}"
    # the one exception, named apart: it only obtains credentials for --assume-role-name
    assert {"sts": frozenset({"AssumeRole"})} == CREDENTIALS


def test_every_operation_the_collectors_name_is_on_the_list() -> None:
    """A new call in diagnose/collect fails here until it is added to the allow-list (and nothing else is)."""
    session = boto3.Session(region_name=REGION)
    models = {s: set(session._session.get_service_model(s).operation_names) for s in READS}
    every = set().union(*models.values())
    allowed = set().union(*READS.values(), *CREDENTIALS.values())
    named: set[str] = set()
    for path in COLLECT_SOURCES.glob("*.py"):
        if path.name == "guard.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in every:
                named.add(node.value)
    assert named - allowed == set()
    # every allowed read is made somewhere (AssumeRole is made through its boto3 method, assume_role)
    assert allowed - named <= {"AssumeRole"}
