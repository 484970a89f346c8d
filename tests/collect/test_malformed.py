"""A read that answers HTTP 200 without what the read needs is a gap, never a fact; and error texts never
carry credentials or raw bodies into a gap or a log line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from botocore.parsers import ResponseParserError

from diagnose.authz.model import Decision
from diagnose.collect import collect, collect_snapshot
from diagnose.collect.reader import MALFORMED, POLICY, ReadError, redact, require, sanitize
from diagnose.snapshot import Snapshot, save
from diagnose.sqs import parse_action
from diagnose.verdict import Query, diagnose

from .world import FAST, REGION, A, Accounts, B, C, World

CONSUMER = f"arn:aws:iam::{B}:role/consumer"
QUEUE = f"arn:aws:sqs:{REGION}:{A}:orders"
ACCESS_KEY = "AKIAABCDEFGHIJKLMNOP"
SESSION_KEY = "ASIAQWERTYUIOPASDFGH"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampletokenexampletokenexampletoken=="
LEAKY_BODY = (
    f"b'<AssumeRoleResponse><Credentials><AccessKeyId>{SESSION_KEY}</AccessKeyId>"
    f"<SecretAccessKey>{SECRET}</SecretAccessKey><SessionToken>{TOKEN}</SessionToken>'"
)
LEAKY_MESSAGE = f"key {ACCESS_KEY} SecretAccessKey>{SECRET}< token {TOKEN} body {LEAKY_BODY}"
SECRETS = (ACCESS_KEY, SESSION_KEY, SECRET, TOKEN, "wJalrXUtnFEMI", "AssumeRoleResponse")


class _Response:
    def __init__(self, status: int = 200) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""


def answering(operation: str, body: dict[str, Any], *, account: str | None = None) -> Callable[[Any, str], None]:
    """A collector-client hook: ``operation`` answers HTTP 200 with the parsed ``body`` (what botocore makes of
    a truncated, empty or garbage body), without reaching moto."""

    def hook(client: Any, in_account: str) -> None:
        if operation not in client.meta.service_model.operation_names or (account and in_account != account):
            return

        def respond(**_: Any) -> Any:
            return _Response(200), {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}

        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-call.{service}.{operation}", respond)

    return hook


def raising(operation: str, error: Exception) -> Callable[[Any, str], None]:
    """A collector-client hook: ``operation`` raises ``error`` (as botocore would) without reaching moto."""

    def hook(client: Any, _: str) -> None:
        if operation not in client.meta.service_model.operation_names:
            return

        def respond(**__: Any) -> Any:
            raise error

        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-call.{service}.{operation}", respond)

    return hook


def allowed_world(world: World) -> None:
    """Queue and key in A, role B:consumer allowed by every layer, organization run by C: allowed."""
    key_extra = {
        "Sid": "consumer",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    key = world.key(A, world.key_policy(A, key_extra), alias="alias/orders")
    queue_policy = world.doc(
        {"Effect": "Allow", "Principal": {"AWS": CONSUMER}, "Action": "sqs:ReceiveMessage", "Resource": QUEUE}
    )
    world.queue(A, KmsMasterKeyId=key["Arn"], Policy=json.dumps(queue_policy))
    managed = world.policy(B, "decrypt", world.doc({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}))
    world.role(
        B,
        "consumer",
        inline={"receive": world.doc({"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": QUEUE})},
        managed=(managed,),
    )
    world.org(C, {A: "", B: "apps", C: ""})


def decision(snapshot: Snapshot) -> tuple[Decision, str]:
    verdict = diagnose(snapshot, Query(queue_arn=QUEUE, principal=CONSUMER, action=parse_action("ReceiveMessage")))
    return verdict.decision, " | ".join(str(u) for u in verdict.unknowns)


def test_the_world_is_allowed_when_every_read_answers(aws: Accounts, world: World) -> None:
    allowed_world(world)
    snapshot = collect_snapshot(QUEUE, [CONSUMER], options=FAST, sessions=aws)
    assert snapshot.gaps == ()
    assert decision(snapshot)[0] is Decision.ALLOWED


# (operation, 200 body, layer of the gap); every one of these reads is needed for the verdict.
MALFORMED_READS = [
    ("GetQueueAttributes", {}, "queue"),
    ("GetQueueAttributes", {"Attributes": {}}, "queue"),
    ("GetQueueAttributes", {"Attributes": "garbage"}, "queue"),
    ("DescribeKey", {}, "key"),
    ("DescribeKey", {"KeyMetadata": {"KeyId": "k"}}, "key"),
    ("GetKeyPolicy", {}, "key-policy"),
    ("GetKeyPolicy", {"Policy": "{not json"}, "key-policy"),
    ("GetRole", {}, "identity-policy"),
    ("GetRole", {"Role": {"RoleName": "consumer"}}, "identity-policy"),
    ("ListRolePolicies", {}, "identity-policy"),
    ("ListRolePolicies", {"PolicyNames": [7]}, "identity-policy"),
    ("GetRolePolicy", {}, "identity-policy"),
    ("ListAttachedRolePolicies", {"AttachedPolicies": "x"}, "identity-policy"),
    ("GetPolicy", {"Policy": {"Arn": "x"}}, "identity-policy"),
    ("GetPolicyVersion", {"PolicyVersion": {}}, "identity-policy"),
    ("DescribeOrganization", {}, "scp"),
    ("DescribeOrganization", {"Organization": {"Id": "o-x"}}, "rcp"),
    ("ListParents", {}, "scp"),
    ("ListParents", {"Parents": [{"Id": "ou-x"}]}, "rcp"),
    ("ListPoliciesForTarget", {}, "scp"),
    ("ListPoliciesForTarget", {"Policies": [{}]}, "rcp"),
    ("DescribePolicy", {}, "scp"),
    ("DescribePolicy", {"Policy": {"PolicySummary": {"Id": "p-x"}}}, "rcp"),
]


@pytest.mark.parametrize(("operation", "body", "layer"), MALFORMED_READS, ids=lambda v: str(v)[:40])
def test_a_200_without_what_the_read_needs_is_a_gap_and_never_allowed(
    aws: Accounts, world: World, operation: str, body: dict[str, Any], layer: str
) -> None:
    allowed_world(world)
    aws.hooks.append(answering(operation, body))
    snapshot = collect_snapshot(QUEUE, [CONSUMER], options=FAST, sessions=aws)
    gaps = [g for g in snapshot.gaps if g.operation.endswith(f":{operation}") and g.error == MALFORMED]
    assert gaps, snapshot.gaps
    assert layer in {g.layer for g in gaps}
    assert all("malformed response" in g.message for g in gaps)
    verdict, unknowns = decision(snapshot)
    assert verdict is not Decision.ALLOWED
    if layer == "queue":
        assert verdict is Decision.INCONCLUSIVE
        assert "sqs:GetQueueAttributes" in unknowns and MALFORMED in unknowns
        assert snapshot.queues == ()


def test_unreadable_queue_attributes_are_not_read_as_no_policy_no_encryption(aws: Accounts, world: World) -> None:
    allowed_world(world)
    aws.hooks.append(answering("GetQueueAttributes", {}))
    snapshot = collect_snapshot(QUEUE, [CONSUMER], options=FAST, sessions=aws)
    assert snapshot.queues == ()
    (gap,) = snapshot.gaps_for("queue", QUEUE)
    assert (gap.operation, gap.error, gap.account) == ("sqs:GetQueueAttributes", MALFORMED, A)
    assert gap.message == "malformed response: missing Attributes"


def test_malformed_key_reads_leave_the_key_unknown_not_open(aws: Accounts, world: World) -> None:
    allowed_world(world)
    aws.hooks.append(answering("GetKeyPolicy", {"Policy": "<html>oops</html>"}))
    aws.hooks.append(answering("ListGrants", {"Grants": None}))
    snapshot = collect_snapshot(QUEUE, [CONSUMER], options=FAST, sessions=aws)
    (key,) = snapshot.keys
    assert key.policy is None and key.grants is None
    assert {(g.layer, g.operation) for g in snapshot.gaps} == {
        ("key-policy", "kms:GetKeyPolicy"),
        ("grant", "kms:ListGrants"),
    }


def test_malformed_scp_list_is_not_no_scp_at_this_level(aws: Accounts, world: World) -> None:
    allowed_world(world)
    aws.hooks.append(answering("ListPoliciesForTarget", {"Policies": None}))
    snapshot = collect_snapshot(QUEUE, [CONSUMER], options=FAST, sessions=aws)
    accounts = {a.id: a for a in snapshot.accounts}
    assert set(accounts) == {A, B}
    for account in accounts.values():
        assert account.path and all(node.scps is None and node.rcps is None for node in account.path)
    listed = [g for g in snapshot.gaps if g.operation == "organizations:ListPoliciesForTarget"]
    assert {(g.layer, g.resource, g.error, g.account) for g in listed} == {
        (layer, account, MALFORMED, C) for layer in ("scp", "rcp") for account in (A, B)
    }


def test_malformed_user_and_group_reads_are_gaps(aws: Accounts, world: World) -> None:
    world.queue(A)
    iam = aws.admin(B, "iam")
    iam.create_user(UserName="alice")
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    alice = f"arn:aws:iam::{B}:user/alice"
    for op, body in (("GetUser", {"User": {}}), ("ListGroupsForUser", {"Groups": [{"GroupName": "devs"}]})):
        aws.hooks[:] = [answering(op, body)]
        aws._clients.clear()
        snapshot = collect_snapshot(QUEUE, [alice], options=FAST, sessions=aws)
        assert {g.operation for g in snapshot.gaps if g.error == MALFORMED} == {f"iam:{op}"}
        assert all(p.policies is None for p in snapshot.principals)


def test_malformed_endpoint_and_identity_reads(aws: Accounts, world: World) -> None:
    world.queue(A)
    aws.hooks.append(
        answering("DescribeVpcEndpoints", {"VpcEndpoints": [{"VpcEndpointId": "vpce-1", "PolicyDocument": "{"}]})
    )
    aws.hooks.append(answering("GetCallerIdentity", {}))
    aws.hooks.append(answering("DescribeOrganizationalUnit", {}))
    result = collect(QUEUE, [CONSUMER], options=FAST, sessions=aws, vpc_endpoint="vpce-1")
    assert result.snapshot.vpc_endpoints == ()
    (gap,) = [g for g in result.snapshot.gaps if g.layer == "vpc-endpoint-policy"]
    assert (gap.operation, gap.error) == ("ec2:DescribeVpcEndpoints", MALFORMED)
    assert result.identities == {}  # not a KeyError


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("DescribeKey", {}),
        ("GetKeyPolicy", {}),
        ("DescribeOrganization", {}),
        ("DescribeOrganizationalUnit", {}),
        ("DescribePolicy", {}),
        ("DescribePolicy", {"Policy": {}}),
        ("GetPolicy", {}),
        ("GetCallerIdentity", {}),
    ],
)
def test_missing_fields_never_raise(aws: Accounts, world: World, operation: str, body: dict[str, Any]) -> None:
    allowed_world(world)
    aws.hooks.append(answering(operation, body))
    snapshot = collect_snapshot(QUEUE, [CONSUMER], options=FAST, sessions=aws)
    assert any(g.operation.endswith(f":{operation}") and g.error == MALFORMED for g in snapshot.gaps) or operation in (
        "DescribeOrganizationalUnit",  # only names the OU
        "GetCallerIdentity",  # only says who collected
    )
    assert decision(snapshot)[0] is not Decision.ALLOWED or operation in (
        "DescribeOrganizationalUnit",
        "GetCallerIdentity",
    )


def test_malformed_lists_that_only_add_permissions_or_names_are_still_gaps(aws: Accounts, world: World) -> None:
    """Unreadable grants can only hide allows, unreadable roots only a name: gaps, the rest still decided."""
    allowed_world(world)
    aws.hooks.append(answering("ListGrants", {"Grants": [{"Name": "no id"}]}))
    aws.hooks.append(answering("ListRoots", {"Roots": [{"Name": "no id"}]}))
    snapshot = collect_snapshot(QUEUE, [CONSUMER], options=FAST, sessions=aws)
    assert snapshot.keys[0].grants is None
    assert [(g.layer, g.operation, g.error) for g in snapshot.gaps] == [("grant", "kms:ListGrants", MALFORMED)]
    assert all(node.name is None for a in snapshot.accounts for node in a.path if node.type == "ROOT")


# --------------------------------------------------------------------------- the helper


def test_require_names_the_missing_field() -> None:
    assert require({"A": {"B": "x"}}, "A.B", str, A, "s:Op") == "x"
    assert require({"P": '{"Version": "2012-10-17"}'}, "P", POLICY, A, "s:Op")
    for value, path, kind, why in [
        ({}, "A", dict, "malformed response: missing A"),
        ({"A": {}}, "A.B", str, "malformed response: missing A.B"),
        ({"A": "x"}, "A.B", str, "malformed response: missing A.B"),
        ({"A": 1}, "A", str, "malformed response: A is not a str"),
        ({"A": True}, "A", int, "malformed response: A is not a int"),
        ({"P": "not json"}, "P", POLICY, "malformed response: P is not a policy document"),
        ({"P": "[1]"}, "P", POLICY, "malformed response: P is not a policy document"),
    ]:
        with pytest.raises(ReadError) as caught:
            require(value, path, kind, A, "s:Op")
        assert (caught.value.code, caught.value.operation, caught.value.message) == (MALFORMED, "s:Op", why)


# --------------------------------------------------------------------------- sanitizing error texts


def test_sanitize_keeps_the_sense_and_drops_credentials_and_bodies() -> None:
    clean = sanitize(f"Unable to parse response (invalid XML received). Further retries may succeed:\n{LEAKY_BODY}")
    assert clean.startswith("Unable to parse response (invalid XML received).")
    assert "<response body omitted>" in clean
    for text in (clean, sanitize(LEAKY_MESSAGE), redact(LEAKY_MESSAGE), sanitize('{"AccessKeyId": "x"}')):
        assert not any(s in text for s in SECRETS), text
    assert sanitize(f"aws_secret_access_key = {SECRET}") == "aws_secret_access_key = <redacted>"
    assert sanitize(f"id {ACCESS_KEY}.") == "id <redacted key id>."
    assert len(sanitize("x" * 5000)) <= 200
    arn_message = f"User: {CONSUMER} is not authorized to perform: kms:GetKeyPolicy"
    assert sanitize(arn_message) == arn_message


LEAKY_ERRORS = [
    ClientError({"Error": {"Code": "AccessDenied", "Message": LEAKY_MESSAGE}}, "GetKeyPolicy"),
    ParamValidationError(report=LEAKY_MESSAGE),
    ResponseParserError(f"Unable to parse response, invalid XML received:\n{LEAKY_BODY}"),
]


@pytest.mark.parametrize("error", LEAKY_ERRORS, ids=lambda e: type(e).__name__)
def test_error_texts_reach_gaps_and_logs_sanitized(
    aws: Accounts, world: World, tmp_path: Path, error: Exception
) -> None:
    allowed_world(world)
    aws.hooks.append(raising("GetKeyPolicy", error))
    lines: list[str] = []
    result = collect(QUEUE, [CONSUMER], options=FAST, sessions=aws, log=lines.append)
    snapshot = result.snapshot
    path = tmp_path / "snapshot.json"
    save(snapshot, path, result.metadata())  # what `sqsdiag collect` writes
    (gap,) = [g for g in snapshot.gaps if g.operation == "kms:GetKeyPolicy"]
    expected = "AccessDenied" if isinstance(error, ClientError) else type(error).__name__
    assert gap.error == expected
    assert len(gap.message) <= 200
    text = path.read_text() + "\n".join(lines)
    assert not any(s in text for s in SECRETS), text
    assert any("kms:GetKeyPolicy" in line and expected in line for line in lines)


# --------------------------------------------------------------------------- the CLI, against a moto server


TRUNCATED_ASSUME_ROLE = (
    '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>'
    f"<AccessKeyId>{SESSION_KEY}</AccessKeyId><SecretAccessKey>{SECRET}</SecretAccessKey>"
    f"<SessionToken>{TOKEN}</SessionToken><Expir"
)


def test_a_malformed_assume_role_leaks_no_credentials_into_the_snapshot_or_stderr(
    server: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.sts.responses import TokenResponse
    from typer.testing import CliRunner

    from diagnose.cli import app

    server.queue(A)
    endpoint = server.aws.endpoint_url
    assert endpoint is not None
    monkeypatch.setattr(TokenResponse, "assume_role", lambda self: TRUNCATED_ASSUME_ROLE)
    out = tmp_path / "snapshot.json"
    args = ["collect", "--queue", QUEUE, "--principal", CONSUMER, "--endpoint-url", endpoint]
    args += ["--region", REGION, "--assume-role-name", "admin", "-v", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    written = out.read_text()
    gaps = json.loads(written)["gaps"]
    assert gaps and all(g["error"] for g in gaps)
    queue_gap = next(g for g in gaps if g["layer"] == "queue")
    assert queue_gap["operation"] == "sqs:GetQueueAttributes" and queue_gap["account"] == A
    assert "cannot assume" in queue_gap["message"] and len(queue_gap["message"]) <= 200
    stderr = result.stderr
    assert "sts:AssumeRole" in stderr  # the failure is logged with -v ...
    for text in (written, stderr, result.output):
        assert not any(s in text for s in SECRETS), text  # ... without what the body carried


def test_a_garbage_page_token_is_a_gap_not_a_crash(aws: Accounts, world: World) -> None:
    allowed_world(world)
    aws.hooks.append(answering("ListGrants", {"Grants": [], "NextMarker": {"not": "a token"}, "Truncated": True}))
    snapshot = collect_snapshot(QUEUE, [CONSUMER], options=FAST, sessions=aws)
    assert snapshot.keys[0].grants is None
    (gap,) = snapshot.gaps
    assert (gap.layer, gap.operation, gap.error) == ("grant", "kms:ListGrants", MALFORMED)
    assert gap.message == "malformed response: NextMarker is not a str"
