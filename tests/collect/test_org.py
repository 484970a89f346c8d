"""Organizations: membership from each account, the path and SCPs/RCPs from the management account."""

from __future__ import annotations

from diagnose.collect import collect_snapshot
from diagnose.snapshot import Account

from .world import FAST, A, Accounts, B, C, World, failing

DENY_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}


def test_accounts_in_no_organization(aws: Accounts, world: World) -> None:
    s = collect_snapshot(world.queue(A), [f"arn:aws:iam::{B}:root"], options=FAST, sessions=aws)
    assert s.accounts == (Account(id=A), Account(id=B))
    assert s.gaps == ()


def test_member_directly_under_the_root_and_the_management_account(aws: Accounts, world: World) -> None:
    org = world.org(A, {B: ""})
    world.attach(org, B, "deny-all", "SERVICE_CONTROL_POLICY", DENY_ALL)
    s = collect_snapshot(world.queue(A), [B], options=FAST, sessions=aws)
    assert s.gaps == ()
    mgmt, member = s.accounts
    assert mgmt.is_management and not member.is_management
    assert [(n.type, n.id) for n in member.path] == [("ROOT", org["root"]), ("ACCOUNT", B)]
    leaf = member.path[-1]
    assert [d.name for d in leaf.scps or ()] == ["FullAWSAccess", "deny-all"]
    assert leaf.scps is not None and leaf.scps[1].document == DENY_ALL
    assert [d.name for d in leaf.rcps or ()] == ["RCPFullAWSAccess"]
    assert leaf.rcps is not None and leaf.rcps[0].document["Statement"][0]["Principal"] == "*"


def test_nested_ous_are_walked_to_the_root(aws: Accounts, world: World) -> None:
    org = world.org(C, {A: "prod"})
    client = org["client"]
    inner = client.create_organizational_unit(ParentId=org["ous"]["prod"], Name="queues")["OrganizationalUnit"]["Id"]
    client.move_account(AccountId=A, SourceParentId=org["ous"]["prod"], DestinationParentId=inner)
    s = collect_snapshot(world.queue(A), [], options=FAST, sessions=aws)
    (acct,) = s.accounts
    assert [(n.type, n.name) for n in acct.path] == [
        ("ROOT", "Root"),
        ("ORGANIZATIONAL_UNIT", "prod"),
        ("ORGANIZATIONAL_UNIT", "queues"),
        ("ACCOUNT", None),
    ]


def test_unreadable_management_account_leaves_the_account_unknown(aws: Accounts, world: World) -> None:
    world.org(C, {A: "prod", B: ""})
    aws.visible = {A, B}
    s = collect_snapshot(world.queue(A), [B], options=FAST, sessions=aws)
    assert s.accounts == ()
    assert sorted((g.layer, g.resource, g.error, g.account, g.operation) for g in s.gaps) == [
        ("rcp", A, "NoCredentials", C, "organizations:ListParents"),
        ("rcp", B, "NoCredentials", C, "organizations:ListParents"),
        ("scp", A, "NoCredentials", C, "organizations:ListParents"),
        ("scp", B, "NoCredentials", C, "organizations:ListParents"),
    ]


def test_management_account_that_denies_list_parents(aws: Accounts, world: World) -> None:
    world.org(C, {A: "prod"})
    aws.hooks.append(failing("ListParents", "AccessDeniedException", account=C))
    s = collect_snapshot(world.queue(A), [], options=FAST, sessions=aws)
    assert s.accounts == ()
    assert {(g.layer, g.resource, g.error, g.needs) for g in s.gaps} == {
        ("scp", A, "AccessDeniedException", "organizations:ListParents"),
        ("rcp", A, "AccessDeniedException", "organizations:ListParents"),
    }


def test_membership_unreadable_from_the_account(aws: Accounts, world: World) -> None:
    world.org(C, {A: "prod"})
    aws.hooks.append(failing("DescribeOrganization", "AccessDeniedException", account=A))
    s = collect_snapshot(world.queue(A), [], options=FAST, sessions=aws)
    assert s.accounts == ()
    assert {(g.layer, g.operation, g.account) for g in s.gaps} == {
        ("scp", "organizations:DescribeOrganization", A),
        ("rcp", "organizations:DescribeOrganization", A),
    }


def test_one_unreadable_policy_makes_that_level_unknown(aws: Accounts, world: World) -> None:
    org = world.org(C, {A: "prod"})
    world.attach(org, org["ous"]["prod"], "deny-all", "SERVICE_CONTROL_POLICY", DENY_ALL)
    aws.hooks.append(failing("DescribePolicy", account=C))
    s = collect_snapshot(world.queue(A), [], options=FAST, sessions=aws)
    (acct,) = s.accounts
    assert all(n.scps is None and n.rcps is None for n in acct.path)
    assert {(g.layer, g.resource, g.operation) for g in s.gaps} == {
        ("scp", A, "organizations:DescribePolicy"),
        ("rcp", A, "organizations:DescribePolicy"),
    }
