"""The VPC endpoint a call goes through, read in the caller's account."""

from __future__ import annotations

import json

import pytest

from diagnose.collect import collect_snapshot
from diagnose.snapshot import VpcEndpoint

from .world import FAST, REGION, A, Accounts, B, World


@pytest.fixture(autouse=True)
def no_default_amis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")  # an EC2 backend is 2 s faster without them


POLICY = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*"}]}


def test_endpoint_policy_is_read_in_the_principals_account(aws: Accounts, world: World) -> None:
    ec2 = aws.admin(B, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    vpce = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{REGION}.sqs",
        VpcEndpointType="Interface",
        PolicyDocument=json.dumps(POLICY),
    )["VpcEndpoint"]["VpcEndpointId"]
    s = collect_snapshot(world.queue(A), [f"arn:aws:iam::{B}:root"], options=FAST, vpc_endpoint=vpce, sessions=aws)
    assert s.vpc_endpoints == (VpcEndpoint(id=vpce, account=B, service=f"com.amazonaws.{REGION}.sqs", policy=POLICY),)
    assert s.gaps == ()


def test_missing_endpoint_is_a_gap(aws: Accounts, world: World) -> None:
    vpce = "vpce-0123456789abcdef0"
    s = collect_snapshot(world.queue(A), [B], options=FAST, vpc_endpoint=vpce, sessions=aws)
    assert s.vpc_endpoints == ()
    (gap,) = s.gaps
    assert (gap.layer, gap.resource, gap.error, gap.account) == (
        "vpc-endpoint-policy",
        vpce,
        "InvalidVpcEndpointId.NotFound",
        B,
    )
