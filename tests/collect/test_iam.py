"""Principals: roles (with paths, from a session ARN), users with groups, roots, service principals,
and what happens when IAM cannot be read."""

from __future__ import annotations

import json

import pytest

from diagnose.collect import collect_snapshot
from diagnose.collect.iam import PrincipalRef, parse_principal
from diagnose.snapshot import Document, Gap, Principal

from .world import FAST, A, Accounts, B, World, failing

RECEIVE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}]}
DECRYPT = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}
DENY = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "sqs:DeleteMessage", "Resource": "*"}]}


def test_parse_principal_forms() -> None:
    assert parse_principal(B) == PrincipalRef("root", f"arn:aws:iam::{B}:root", B)
    assert parse_principal(f"arn:aws:iam::{B}:root") == PrincipalRef("root", f"arn:aws:iam::{B}:root", B)
    assert parse_principal(f"arn:aws:iam::{B}:role/app/x/consumer").name == "consumer"
    assert parse_principal(f"arn:aws:iam::{B}:user/dev/bob") == PrincipalRef(
        "user", f"arn:aws:iam::{B}:user/dev/bob", B, "bob"
    )
    assert parse_principal(f"arn:aws:sts::{B}:assumed-role/consumer/worker-1") == PrincipalRef(
        "role", f"arn:aws:iam::{B}:role/consumer", B, "consumer"
    )
    assert parse_principal("sns.amazonaws.com").kind == "service"
    assert parse_principal("events.amazonaws.com.cn").kind == "service"


@pytest.mark.parametrize(
    "bad",
    [
        "consumer",
        "arn:aws:iam::222:role/x",
        f"arn:aws:iam::{B}:group/devs",
        f"arn:aws:sts::{B}:federated-user/bob",
        f"arn:aws:s3:::{B}",
        "sns.example.com",
        f"arn:aws:sts::{B}:assumed-role/consumer",
    ],
)
def test_parse_principal_rejects_what_it_cannot_collect(bad: str) -> None:
    with pytest.raises(ValueError, match=r"^principal .* is not a role, user") as err:
        parse_principal(bad)
    assert "\n" not in str(err.value)


def test_assumed_role_session_is_resolved_to_the_role_with_its_path(aws: Accounts, world: World) -> None:
    world.role(B, "consumer", path="/app/", inline={"receive": RECEIVE})
    url = world.queue(A)
    s = collect_snapshot(url, [f"arn:aws:sts::{B}:assumed-role/consumer/worker-1"], options=FAST, sessions=aws)
    (role,) = s.principals
    assert role.arn == f"arn:aws:iam::{B}:role/app/consumer"
    assert role.policies == (Document(name="receive", document=RECEIVE, source="inline"),)
    assert role.boundary is None and role.tags == {}


def test_user_with_groups_and_every_kind_of_policy(aws: Accounts, world: World) -> None:
    iam = aws.admin(B, "iam")
    user = iam.create_user(UserName="bob", Path="/dev/", Tags=[{"Key": "team", "Value": "orders"}])["User"]
    iam.put_user_policy(UserName="bob", PolicyName="own", PolicyDocument=json.dumps(RECEIVE))
    decrypt = world.policy(B, "decrypt", DECRYPT)
    deny = world.policy(B, "deny-delete", DENY)
    iam.attach_user_policy(UserName="bob", PolicyArn=decrypt)
    iam.create_group(GroupName="devs", Path="/teams/")
    iam.add_user_to_group(GroupName="devs", UserName="bob")
    iam.put_group_policy(GroupName="devs", PolicyName="group-inline", PolicyDocument=json.dumps(DENY))
    iam.attach_group_policy(GroupName="devs", PolicyArn=deny)
    iam.create_group(GroupName="empty")
    iam.add_user_to_group(GroupName="empty", UserName="bob")
    url = world.queue(A)

    s = collect_snapshot(url, [f"arn:aws:iam::{B}:user/bob"], options=FAST, sessions=aws)
    assert s.gaps == ()
    (bob,) = s.principals
    assert (bob.arn, bob.type, bob.unique_id) == (f"arn:aws:iam::{B}:user/dev/bob", "user", user["UserId"])
    assert bob.tags == {"team": "orders"}
    assert bob.groups == (f"arn:aws:iam::{B}:group/teams/devs", f"arn:aws:iam::{B}:group/empty")
    assert bob.policies == (
        Document(name="own", document=RECEIVE, source="inline"),
        Document(name="decrypt", document=DECRYPT, arn=decrypt, source="managed"),
        Document(name="group-inline", document=DENY, source="group-inline", group="devs"),
        Document(name="deny-delete", document=DENY, arn=deny, source="group-managed", group="devs"),
    )


def test_managed_policy_default_version_is_the_one_read(aws: Accounts, world: World) -> None:
    arn = world.policy(B, "p", RECEIVE)
    aws.admin(B, "iam").create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(DECRYPT), SetAsDefault=True)
    world.role(B, "r", managed=(arn,))
    s = collect_snapshot(world.queue(A), [f"arn:aws:iam::{B}:role/r"], options=FAST, sessions=aws)
    assert s.principals[0].policies == (Document(name="p", document=DECRYPT, arn=arn, source="managed"),)


def test_role_that_does_not_exist(aws: Accounts, world: World) -> None:
    url = world.queue(A)
    s = collect_snapshot(url, [f"arn:aws:iam::{B}:role/app/ghost"], options=FAST, sessions=aws)
    assert s.principals == ()
    identity = [g for g in s.gaps if g.layer == "identity-policy"]
    assert [(g.resource, g.operation, g.error, g.account) for g in identity] == [
        (f"arn:aws:iam::{B}:role/app/ghost", "iam:GetRole", "NoSuchEntity", B)
    ]
    assert not [g for g in s.gaps if g.layer == "permissions-boundary"]


def test_principal_in_an_account_without_credentials(aws: Accounts, world: World) -> None:
    url = world.queue(A)
    aws.visible = {A}
    s = collect_snapshot(url, [f"arn:aws:iam::{B}:role/consumer"], options=FAST, sessions=aws)
    assert s.principals == ()
    assert {(g.layer, g.resource, g.error) for g in s.gaps} == {
        ("identity-policy", f"arn:aws:iam::{B}:role/consumer", "NoCredentials"),
        ("permissions-boundary", f"arn:aws:iam::{B}:role/consumer", "NoCredentials"),
        ("scp", B, "NoCredentials"),
        ("rcp", B, "NoCredentials"),
    }
    assert [a.id for a in s.accounts] == [A]


def test_one_unreadable_inline_policy_makes_the_policies_unknown(aws: Accounts, world: World) -> None:
    world.role(B, "consumer", path="/app/", inline={"receive": RECEIVE, "decrypt": DECRYPT})
    aws.hooks.append(failing("GetRolePolicy"))
    s = collect_snapshot(world.queue(A), [f"arn:aws:iam::{B}:role/consumer"], options=FAST, sessions=aws)
    (role,) = s.principals
    assert role.arn == f"arn:aws:iam::{B}:role/app/consumer"
    assert role.policies is None  # never a partial list: a missing Deny must not look like no Deny
    assert [(g.layer, g.resource, g.operation, g.needs) for g in s.gaps] == [
        ("identity-policy", role.arn, "iam:GetRolePolicy", "iam:GetRolePolicy")
    ] * 2
    assert sorted(g.message.split(":")[0] for g in s.gaps) == [
        "role consumer inline policy decrypt",
        "role consumer inline policy receive",
    ]


def test_unreadable_boundary_is_a_boundary_gap(aws: Accounts, world: World) -> None:
    boundary = world.policy(B, "boundary", RECEIVE)
    world.role(B, "consumer", boundary=boundary, inline={"receive": RECEIVE})
    aws.hooks.append(failing("GetPolicyVersion"))
    s = collect_snapshot(world.queue(A), [f"arn:aws:iam::{B}:role/consumer"], options=FAST, sessions=aws)
    (role,) = s.principals
    assert role.policies == (Document(name="receive", document=RECEIVE, source="inline"),)
    assert role.boundary is None
    assert s.gaps == (
        Gap(
            "permissions-boundary",
            role.arn,
            "iam:GetPolicyVersion",
            "AccessDeniedException",
            B,
            f"{boundary}: User is not authorized to perform: GetPolicyVersion",
            "iam:GetPolicyVersion",
        ),
    )


def test_account_and_root_principals_have_no_policies(aws: Accounts, world: World) -> None:
    s = collect_snapshot(world.queue(A), [B, f"arn:aws:iam::{A}:root"], options=FAST, sessions=aws)
    assert s.principals == (
        Principal(arn=f"arn:aws:iam::{B}:root", type="root", policies=()),
        Principal(arn=f"arn:aws:iam::{A}:root", type="root", policies=()),
    )
    assert [a.id for a in s.accounts] == [A, B]


def test_service_principal_reads_nothing_in_iam(aws: Accounts, world: World) -> None:
    lines: list[str] = []
    s = collect_snapshot(world.queue(A), ["sns.amazonaws.com"], options=FAST, sessions=aws, log=lines.append)
    assert s.principals == () and s.gaps == ()
    assert not any(" iam:" in line for line in lines)
    assert [a.id for a in s.accounts] == [A]


def test_policy_documents_as_url_encoded_text_are_decoded() -> None:
    from diagnose.collect.documents import policy_json

    text = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D"
    assert policy_json(text) == {"Version": "2012-10-17", "Statement": []}
    assert policy_json('{"a": 1}') == {"a": 1}
    assert policy_json({"a": 1}) == {"a": 1}
    assert policy_json("not json") == "not json"
