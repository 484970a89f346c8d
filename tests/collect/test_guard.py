"""Read-only by construction: writes are refused before a request exists; a full collection reads only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from diagnose.collect import collect
from diagnose.collect.guard import WriteRefused, install, is_read
from diagnose.collect.reader import Reader
from diagnose.collect.tasks import TaskGroup

from .test_collect_world import build
from .world import FAST, REGION, A, Accounts, B, World


def test_reads_and_writes_are_told_apart() -> None:
    for service, op in [
        ("sqs", "GetQueueAttributes"),
        ("kms", "ListGrants"),
        ("organizations", "DescribePolicy"),
        ("sts", "GetCallerIdentity"),
        ("sts", "AssumeRole"),
        ("iam", "GetRole"),
    ]:
        assert is_read(service, op), op
    for service, op in [
        ("sqs", "SetQueueAttributes"),
        ("sqs", "ReceiveMessage"),
        ("kms", "CreateGrant"),
        ("kms", "Decrypt"),
        ("kms", "GenerateDataKey"),
        ("iam", "PutRolePolicy"),
        ("kms", "AssumeRole"),
        ("organizations", "AttachPolicy"),
    ]:
        assert not is_read(service, op), op


def test_a_write_through_a_guarded_client_never_reaches_aws(aws: Accounts, world: World) -> None:
    key = world.key(A)
    url = world.queue(A, KmsMasterKeyId=key["Arn"])
    sqs = install(aws.client(A, "sqs", REGION))
    kms = install(aws.client(A, "kms", REGION))
    sent: list[str] = []
    for client in (sqs, kms):
        client.meta.events.register("before-send", lambda request, **_: sent.append(request.url))

    with pytest.raises(WriteRefused, match="sqs:SetQueueAttributes"):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsMasterKeyId": ""})
    with pytest.raises(WriteRefused, match="kms:CreateGrant"):
        kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=f"arn:aws:iam::{B}:root", Operations=["Decrypt"])
    with pytest.raises(WriteRefused, match="sqs:ReceiveMessage"):
        sqs.receive_message(QueueUrl=url)

    assert sent == []
    admin_sqs, admin_kms = aws.admin(A, "sqs"), aws.admin(A, "kms")
    attrs = admin_sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["KmsMasterKeyId"] == key["Arn"]
    assert admin_kms.list_grants(KeyId=key["KeyId"])["Grants"] == []
    # reads still go through
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"].endswith(
        ":orders"
    )


def test_the_guard_runs_before_a_stub_could_answer(aws: Accounts) -> None:
    kms = install(aws.client(A, "kms", REGION))
    with Stubber(kms) as stub:
        stub.add_response("create_grant", {"GrantId": "g", "GrantToken": "t"})
        with pytest.raises(WriteRefused):
            kms.create_grant(KeyId="k", GranteePrincipal="p", Operations=["Decrypt"])


def test_the_collector_guards_clients_it_is_given(aws: Accounts, world: World) -> None:
    url = world.queue(A)
    reader = Reader(aws, TaskGroup(1), None)
    with pytest.raises(WriteRefused):
        reader.call(A, "sqs", "DeleteQueue", url, REGION, QueueUrl=url)
    assert aws.admin(A, "sqs").get_queue_url(QueueName="orders")["QueueUrl"] == url


def test_a_full_collection_makes_only_reads(aws: Accounts, world: World) -> None:
    w = build(world)
    made: list[tuple[str, str]] = []

    def record(client: Any, account: str) -> None:
        def note(model: Any, **_: Any) -> None:
            made.append((model.service_model.service_name, model.name))

        client.meta.events.register("before-parameter-build", note)

    aws.hooks.append(record)
    result = collect(
        w["url"],
        [f"arn:aws:iam::{B}:role/consumer", f"arn:aws:sts::{B}:assumed-role/consumer/s"],
        options=FAST,
        sessions=aws,
    )
    assert result.snapshot.gaps == ()
    assert len(made) == result.calls
    services = {s for s, _ in made}
    assert services == {"sqs", "kms", "iam", "organizations", "sts"}
    assert all(is_read(s, op) for s, op in made), sorted(set(made))
    assert ("sqs", "GetQueueAttributes") in made and ("organizations", "ListPoliciesForTarget") in made
    # the world is unchanged
    key = aws.admin(A, "kms").get_key_policy(KeyId=w["key"]["KeyId"], PolicyName="default")["Policy"]
    assert json.loads(key)["Statement"][1]["Sid"] == "consumer"
