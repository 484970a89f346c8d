"""A VPC endpoint the call goes through (aws:SourceVpce), read in the caller's account."""

from __future__ import annotations

from typing import Any

from diagnose.collect.documents import policy_json
from diagnose.collect.reader import POLICY, Reader, require
from diagnose.snapshot import Gap, VpcEndpoint


class VpcEndpointCollector:
    def __init__(self, reader: Reader, endpoint_id: str, account: str, region: str) -> None:
        self._reader, self._id, self._account, self._region = reader, endpoint_id, account, region
        self._key = ("ec2", account, endpoint_id)

    def start(self) -> None:
        def read() -> list[Any]:
            endpoints = self._reader.pages(
                self._account,
                "ec2",
                "DescribeVpcEndpoints",
                self._id,
                self._region,
                "VpcEndpoints",
                each={"VpcEndpointId": str},
                VpcEndpointIds=[self._id],
            )
            for endpoint in endpoints:
                if endpoint.get("PolicyDocument") is not None:
                    require(endpoint, "PolicyDocument", POLICY, self._account, "ec2:DescribeVpcEndpoints")
            return endpoints

        self._reader.fetch(self._key, read)

    def build(self) -> tuple[list[VpcEndpoint], list[Gap]]:
        outcome = self._reader.outcome(self._key)
        if outcome is None:
            return [], []
        if outcome.error is not None:
            return [], [outcome.error.gap("vpc-endpoint-policy", self._id)]
        found = [e for e in outcome.value if e.get("VpcEndpointId") == self._id]
        if not found:
            gap = Gap(
                "vpc-endpoint-policy",
                self._id,
                "ec2:DescribeVpcEndpoints",
                "InvalidVpcEndpointId.NotFound",
                self._account,
                f"the VPC endpoint {self._id} does not exist",
                "ec2:DescribeVpcEndpoints",
            )
            return [], [gap]
        endpoint = found[0]
        policy = endpoint.get("PolicyDocument")
        return [
            VpcEndpoint(
                id=self._id,
                account=str(endpoint.get("OwnerId") or self._account),
                service=endpoint.get("ServiceName"),
                policy=None if policy is None else policy_json(policy),
            )
        ], []
