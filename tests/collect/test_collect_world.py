"""A full cross-account world collected end to end (decorator mode): queue and key in A, role in B,
organization run by C with an OU, SCPs and RCPs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from diagnose import snapshot as snap
from diagnose.collect import CollectOptions, collect, collect_snapshot, collected_metadata
from diagnose.snapshot import Document, Grant

from .world import FAST, REGION, A, Accounts, B, C, World

QUEUE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "consumer",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{B}:role/app/consumer"},
            "Action": "sqs:ReceiveMessage",
            "Resource": f"arn:aws:sqs:{REGION}:{A}:orders",
        }
    ],
}
SCP_DENY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*"}],
}
RCP_ORG = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": "*",
            "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-example"}},
        }
    ],
}


def build(world: World) -> dict[str, Any]:
    key_extra = {
        "Sid": "consumer",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
        "Action": "kms:Decrypt",
        "Resource": "*",
    }
    key = world.key(A, world.key_policy(A, key_extra), alias="alias/orders")
    kms = world.aws.admin(A, "kms")
    grant = kms.create_grant(
        KeyId=key["KeyId"],
        GranteePrincipal=f"arn:aws:iam::{B}:role/app/consumer",
        Operations=["Decrypt"],
        Name="consumer-decrypt",
        Constraints={"EncryptionContextSubset": {"aws:sqs:arn": f"arn:aws:sqs:{REGION}:{A}:orders"}},
    )
    url = world.queue(A, KmsMasterKeyId=key["Arn"], Policy=json.dumps(QUEUE_POLICY))
    boundary = world.policy(
        B, "boundary", world.doc({"Effect": "Allow", "Action": ["sqs:*", "kms:*"], "Resource": "*"})
    )
    managed = world.policy(
        B,
        "kms-decrypt",
        world.doc({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"]}),
        path="/app/",
    )
    role = world.role(
        B,
        "consumer",
        path="/app/",
        boundary=boundary,
        managed=(managed,),
        tags={"team": "orders"},
        inline={
            "receive": world.doc(
                {
                    "Effect": "Allow",
                    "Action": "sqs:ReceiveMessage",
                    "Resource": f"arn:aws:sqs:{REGION}:{A}:orders",
                }
            )
        },
    )
    org = world.org(C, {A: "workloads", B: "workloads"})
    ou = org["ous"]["workloads"]
    scp = world.attach(org, ou, "deny-delete", "SERVICE_CONTROL_POLICY", SCP_DENY)
    rcp = world.attach(org, org["root"], "org-only", "RESOURCE_CONTROL_POLICY", RCP_ORG)
    return {
        "key": key,
        "grant": grant,
        "url": url,
        "role": role,
        "managed": managed,
        "boundary": boundary,
        "org": org,
        "ou": ou,
        "scp": scp,
        "rcp": rcp,
    }


def test_full_cross_account_world(world: World) -> None:
    w = build(world)
    lines: list[str] = []
    result = collect(w["url"], [f"arn:aws:iam::{B}:role/consumer"], options=FAST, sessions=world.aws, log=lines.append)
    s = result.snapshot
    assert s.gaps == ()

    (queue,) = s.queues
    assert queue.arn == f"arn:aws:sqs:{REGION}:{A}:orders"
    assert queue.url == w["url"]
    assert queue.attributes["KmsMasterKeyId"] == w["key"]["Arn"]
    assert json.loads(queue.attributes["Policy"]) == QUEUE_POLICY

    (key,) = s.keys
    assert key.arn == w["key"]["Arn"]
    assert key.aliases == ("alias/orders",)
    assert (key.manager, key.state, key.spec, key.usage) == (
        "CUSTOMER",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
    )
    assert key.policy_source == "GetKeyPolicy"
    assert [st["Sid"] for st in key.policy["Statement"]] == ["Enable IAM User Permissions", "consumer"]
    assert key.grants == (
        Grant(
            grant_id=w["grant"]["GrantId"],
            grantee=f"arn:aws:iam::{B}:role/app/consumer",
            operations=("Decrypt",),
            encryption_context_subset={"aws:sqs:arn": f"arn:aws:sqs:{REGION}:{A}:orders"},
            name="consumer-decrypt",
        ),
    )

    (role,) = s.principals
    assert role.arn == f"arn:aws:iam::{B}:role/app/consumer"  # the path comes from GetRole
    assert role.type == "role"
    assert role.unique_id == w["role"]["RoleId"]
    assert role.tags == {"team": "orders"}
    assert role.policies is not None
    inline, managed = role.policies
    assert (inline.name, inline.source, inline.arn) == ("receive", "inline", None)
    assert inline.document["Statement"][0]["Action"] == "sqs:ReceiveMessage"
    assert (managed.name, managed.source, managed.arn) == ("kms-decrypt", "managed", w["managed"])
    assert managed.document["Statement"][0]["Resource"] == w["key"]["Arn"]
    assert role.boundary == Document(
        name="boundary",
        arn=w["boundary"],
        source="boundary",
        document=world.doc({"Effect": "Allow", "Action": ["sqs:*", "kms:*"], "Resource": "*"}),
    )

    assert [a.id for a in s.accounts] == [A, B]
    for account in s.accounts:
        assert (account.org_id, account.management_account) == (w["org"]["id"], C)
        assert [(n.type, n.id, n.name) for n in account.path] == [
            ("ROOT", w["org"]["root"], "Root"),
            ("ORGANIZATIONAL_UNIT", w["ou"], "workloads"),
            ("ACCOUNT", account.id, None),
        ]
        root, ou, leaf = account.path
        assert [d.name for d in root.scps or ()] == ["FullAWSAccess"]
        assert [d.name for d in root.rcps or ()] == ["RCPFullAWSAccess", "org-only"]
        assert [d.name for d in ou.scps or ()] == ["FullAWSAccess", "deny-delete"]
        assert ou.scps is not None and ou.scps[1].document == SCP_DENY and ou.scps[1].source == "scp"
        assert root.rcps is not None and root.rcps[1].document == RCP_ORG and root.rcps[1].source == "rcp"
        assert [d.name for d in leaf.scps or ()] == ["FullAWSAccess"]

    assert result.identities[A].startswith(f"arn:aws:sts::{A}:assumed-role/admin/")
    assert result.by == result.identities[A]
    assert result.calls == len([line for line in lines if " -> " in line])
    assert any(line.startswith(f"{A} kms:GetKeyPolicy {w['key']['Arn']} -> ok (") for line in lines)


def test_round_trip_through_the_snapshot_file(world: World, tmp_path: Path) -> None:
    w = build(world)
    collected = collect(w["url"], [f"arn:aws:iam::{B}:role/app/consumer", B], options=FAST, sessions=world.aws)
    path = tmp_path / "snap.json"
    snap.save(collected.snapshot, path, collected.metadata())
    loaded = snap.load(path)
    assert loaded.sources == (str(path),)
    assert loaded.__class__(**{**vars(loaded), "sources": ()}) == collected.snapshot
    assert json.loads(path.read_text())["collected"]["by"] == collected.by


def test_sequential_collection_gives_the_same_snapshot(world: World) -> None:
    w = build(world)
    principals = [f"arn:aws:iam::{B}:role/consumer"]
    concurrent = collect_snapshot(w["url"], principals, options=FAST, sessions=world.aws)
    sequential = collect_snapshot(
        w["url"], principals, options=CollectOptions(region=REGION, max_workers=1), sessions=world.aws
    )
    assert sequential == concurrent


def test_queue_by_arn_uses_the_owners_url(world: World) -> None:
    w = build(world)
    arn = f"arn:aws:sqs:{REGION}:{A}:orders"
    s = collect_snapshot(arn, [], options=FAST, sessions=world.aws)
    assert s.queues[0].url == f"https://sqs.{REGION}.amazonaws.com/{A}/orders"
    assert s.keys[0].arn == w["key"]["Arn"]
    assert s.principals == ()
    assert [a.id for a in s.accounts] == [A]


def test_metadata_shape() -> None:
    from datetime import datetime, timezone

    meta = collected_metadata("arn:aws:sts::1:x", at=datetime(2026, 11, 28, 10, 0, 0, 123, tzinfo=timezone.utc))
    assert meta["at"] == "2026-11-28T10:00:00Z"
    assert meta["by"] == "arn:aws:sts::1:x"
    assert meta["tool"].startswith("sqsdiag ")


@pytest.mark.parametrize("sse", [{}, {"KmsMasterKeyId": ""}, {"SqsManagedSseEnabled": "true"}])
def test_queue_without_a_kms_key_reads_no_key(aws: Accounts, world: World, sse: dict[str, str]) -> None:
    url = world.queue(A, **sse)
    lines: list[str] = []
    s = collect_snapshot(url, [], options=FAST, sessions=aws, log=lines.append)
    assert s.keys == () and s.gaps == ()
    assert not any(" kms:" in line for line in lines)
