"""The queue's key: every way KmsMasterKeyId can name it, a key elsewhere, a missing or unreadable key,
the AWS managed alias/aws/sqs key, and ListGrants pagination."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from diagnose.collect import collect_snapshot
from diagnose.collect.kms import KeyCollector, KeyRef, key_ref
from diagnose.collect.reader import Reader
from diagnose.collect.tasks import TaskGroup
from diagnose.managed_keys import aws_sqs_key_policy
from diagnose.snapshot import Gap, Grant

from .world import FAST, REGION, A, Accounts, B, C, World, failing


@pytest.mark.parametrize("form", ["id", "arn", "alias", "alias-arn"])
def test_every_form_of_kms_master_key_id_resolves_to_the_key(aws: Accounts, world: World, form: str) -> None:
    key = world.key(A, alias="alias/orders")
    configured = {
        "id": key["KeyId"],
        "arn": key["Arn"],
        "alias": "alias/orders",
        "alias-arn": f"arn:aws:kms:{REGION}:{A}:alias/orders",
    }[form]
    url = world.queue(A, KmsMasterKeyId=configured)
    lines: list[str] = []
    s = collect_snapshot(url, [], options=FAST, sessions=aws, log=lines.append)
    assert s.gaps == ()
    (found,) = s.keys
    assert found.arn == key["Arn"]
    assert found.aliases == ("alias/orders",)
    assert found.policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{A}:root"}
    assert found.grants == ()
    assert any(f"{A} kms:DescribeKey" in line and "-> ok" in line for line in lines)


def test_key_ref_names_the_account_that_owns_the_key() -> None:
    assert key_ref("1234abcd-12ab", A, REGION) == KeyRef(
        A, REGION, "1234abcd-12ab", f"arn:aws:kms:{REGION}:{A}:key/1234abcd-12ab", None
    )
    assert key_ref("alias/x", A, REGION).arn == f"arn:aws:kms:{REGION}:{A}:alias/x"
    other = key_ref(f"arn:aws:kms:eu-west-1:{C}:alias/x", A, REGION)
    assert (other.account, other.region, other.alias) == (C, "eu-west-1", "alias/x")
    assert key_ref(f"arn:aws:kms:{REGION}:{C}:key/k", A, REGION).account == C


def test_key_in_a_third_account_is_read_there(aws: Accounts, world: World) -> None:
    key = world.key(C, alias="alias/shared")
    url = world.queue(A, KmsMasterKeyId=key["Arn"])
    lines: list[str] = []
    s = collect_snapshot(url, [f"arn:aws:iam::{B}:root"], options=FAST, sessions=aws, log=lines.append)
    assert s.gaps == ()
    (found,) = s.keys
    assert found.arn == key["Arn"] and found.account == C
    assert found.aliases == ("alias/shared",)
    assert found.policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{C}:root"}
    assert all(line.startswith(f"{C} ") for line in lines if " kms:" in line)
    assert [a.id for a in s.accounts] == [A, B, C]  # the key's account is collected too
    assert all(a.org_id is None for a in s.accounts)


def test_key_that_does_not_exist_is_a_not_found_gap_and_no_key(aws: Accounts, world: World) -> None:
    missing = f"arn:aws:kms:{REGION}:{A}:key/0b5e9c1e-0000-4000-8000-000000000000"
    url = world.queue(A, KmsMasterKeyId=missing)
    s = collect_snapshot(url, [], options=FAST, sessions=aws)
    assert s.keys == ()
    (gap,) = s.gaps
    assert (gap.layer, gap.resource, gap.operation, gap.error, gap.account) == (
        "key",
        missing,
        "kms:DescribeKey",
        "NotFoundException",
        A,
    )


def test_alias_that_does_not_exist_is_a_not_found_gap_on_the_alias(aws: Accounts, world: World) -> None:
    url = world.queue(A, KmsMasterKeyId="alias/gone")
    s = collect_snapshot(url, [], options=FAST, sessions=aws)
    assert s.keys == ()
    assert [(g.layer, g.resource, g.error) for g in s.gaps] == [
        ("key", f"arn:aws:kms:{REGION}:{A}:alias/gone", "NotFoundException")
    ]


def test_key_in_an_account_without_credentials(aws: Accounts, world: World) -> None:
    key = world.key(C)
    url = world.queue(A, KmsMasterKeyId=key["Arn"])
    aws.visible = {A}
    s = collect_snapshot(url, [], options=FAST, sessions=aws)
    assert s.keys == ()
    gaps = {(g.layer, g.resource, g.error, g.account) for g in s.gaps}
    assert ("key", key["Arn"], "NoCredentials", C) in gaps
    assert ("scp", C, "NoCredentials", C) in gaps and ("rcp", C, "NoCredentials", C) in gaps
    key_gap = next(g for g in s.gaps if g.layer == "key")
    assert key_gap.needs == "kms:DescribeKey" and C in key_gap.message


def test_unreadable_policy_and_grants_are_gaps_and_unknown(aws: Accounts, world: World) -> None:
    key = world.key(A, alias="alias/orders")
    url = world.queue(A, KmsMasterKeyId="alias/orders")
    aws.hooks += [failing("GetKeyPolicy"), failing("ListGrants")]
    s = collect_snapshot(url, [], options=FAST, sessions=aws)
    (found,) = s.keys
    assert (found.arn, found.policy, found.policy_source, found.grants) == (key["Arn"], None, None, None)
    assert s.gaps == (
        Gap(
            "grant",
            key["Arn"],
            "kms:ListGrants",
            "AccessDeniedException",
            A,
            "User is not authorized to perform: ListGrants",
            "kms:ListGrants",
        ),
        Gap(
            "key-policy",
            key["Arn"],
            "kms:GetKeyPolicy",
            "AccessDeniedException",
            A,
            "User is not authorized to perform: GetKeyPolicy",
            "kms:GetKeyPolicy",
        ),
    )


def test_describe_key_denied_is_an_access_gap_and_no_key(aws: Accounts, world: World) -> None:
    key = world.key(A)
    url = world.queue(A, KmsMasterKeyId=key["KeyId"])
    aws.hooks.append(failing("DescribeKey"))
    s = collect_snapshot(url, [], options=FAST, sessions=aws)
    assert s.keys == ()
    assert [(g.layer, g.resource, g.error) for g in s.gaps] == [("key", key["Arn"], "AccessDeniedException")]


def aws_managed_sqs_key(world: World, account: str) -> Any:
    from moto.kms.models import kms_backends

    key = world.key(account, policy=aws_sqs_key_policy(account, REGION), alias="alias/aws/sqs")
    kms_backends[account][REGION].keys[key["KeyId"]].key_manager = "AWS"
    return key


def test_aws_managed_key_with_unreadable_policy_gets_its_documented_policy(aws: Accounts, world: World) -> None:
    key = aws_managed_sqs_key(world, A)
    url = world.queue(A, KmsMasterKeyId="alias/aws/sqs")
    aws.hooks.append(failing("GetKeyPolicy"))
    lines: list[str] = []
    s = collect_snapshot(url, [f"arn:aws:iam::{B}:root"], options=FAST, sessions=aws, log=lines.append)
    (found,) = s.keys
    assert (found.arn, found.manager, found.aliases) == (key["Arn"], "AWS", ("alias/aws/sqs",))
    assert found.policy == aws_sqs_key_policy(A, REGION)
    assert found.policy_source == "documented"
    assert s.gaps == ()
    assert any("documented alias/aws/sqs policy" in line for line in lines)


def test_aws_managed_key_with_readable_policy_keeps_what_was_read(aws: Accounts, world: World) -> None:
    aws_managed_sqs_key(world, A)
    url = world.queue(A, KmsMasterKeyId="alias/aws/sqs")
    (found,) = collect_snapshot(url, [], options=FAST, sessions=aws).keys
    assert found.policy_source == "GetKeyPolicy"
    assert found.policy["Id"] == "auto-sqs-1"


def test_customer_key_with_unreadable_policy_gets_no_documented_policy(aws: Accounts, world: World) -> None:
    key = world.key(A, alias="alias/aws/sqs")  # the alias alone does not make it AWS managed
    url = world.queue(A, KmsMasterKeyId="alias/aws/sqs")
    aws.hooks.append(failing("GetKeyPolicy"))
    s = collect_snapshot(url, [], options=FAST, sessions=aws)
    assert s.keys[0].policy is None
    assert [(g.layer, g.resource) for g in s.gaps] == [("key-policy", key["Arn"])]


def test_list_grants_follows_every_page(aws: Accounts) -> None:
    kms = aws.client(A, "kms", REGION)
    key_arn = f"arn:aws:kms:{REGION}:{A}:key/k1"
    grant = {"KeyId": key_arn, "GranteePrincipal": f"arn:aws:iam::{B}:role/r", "Operations": ["Decrypt"]}
    with Stubber(kms) as stub:
        stub.add_response(
            "describe_key",
            {"KeyMetadata": {"KeyId": "k1", "Arn": key_arn, "KeyManager": "CUSTOMER", "KeyState": "Enabled"}},
            {"KeyId": "k1"},
        )
        stub.add_response("get_key_policy", {"Policy": '{"Statement": []}'}, {"KeyId": "k1", "PolicyName": "default"})
        stub.add_response(
            "list_grants",
            {"Grants": [{**grant, "GrantId": "g1"}, {**grant, "GrantId": "g2"}], "Truncated": True, "NextMarker": "m1"},
            {"KeyId": "k1", "Limit": 100},
        )
        stub.add_response(
            "list_grants",
            {
                "Grants": [
                    {**grant, "GrantId": "g3", "Name": "n", "Constraints": {"EncryptionContextEquals": {"a": "b"}}}
                ],
                "Truncated": True,
                "NextMarker": "m2",
            },
            {"KeyId": "k1", "Limit": 100, "Marker": "m1"},
        )
        stub.add_response(
            "list_grants", {"Grants": [], "Truncated": False}, {"KeyId": "k1", "Limit": 100, "Marker": "m2"}
        )
        stub.add_response(
            "list_aliases", {"Aliases": [{"AliasName": "alias/a"}], "Truncated": False}, {"KeyId": "k1", "Limit": 100}
        )
        tasks = TaskGroup(1)  # one worker: the stub's responses are consumed in order
        reader = Reader(aws, tasks, None)
        keys = KeyCollector(reader)
        keys.start(key_ref("k1", A, REGION))
        tasks.wait()
        stub.assert_no_pending_responses()
    (found,), gaps = keys.build()
    assert gaps == []
    assert found.grants is not None
    assert [g.grant_id for g in found.grants] == ["g1", "g2", "g3"]
    assert found.grants[2] == Grant(
        "g3", f"arn:aws:iam::{B}:role/r", ("Decrypt",), encryption_context_equals={"a": "b"}, name="n"
    )
    assert found.aliases == ("alias/a",)
    assert reader.calls == 6
