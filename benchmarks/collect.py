"""Live collection with 100 ms per AWS call: concurrent versus sequential.

Starts an in-process moto server, builds a full cross-account world (queue in A with SSE-KMS and a
queue policy; key with policy, alias and grant; role in B with inline and managed policies and a
boundary; an organization run by C with an OU, SCPs and RCPs), then collects it with a fixed
client-side latency per call, concurrently and with one worker.

    python benchmarks/collect.py [--runs 5] [--latency 0.1] [--alias]
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import statistics
import threading
import time
import urllib.request
from typing import Any
from unittest import mock

import boto3
from botocore.config import Config

from diagnose.collect import CollectOptions, collect

A, B, C = "111111111111", "222222222222", "333333333333"
REGION = "us-east-1"
NO_RETRY = Config(retries={"total_max_attempts": 1})


class Sessions:
    """Per-account clients from STS assume_role, created once; collector clients get the latency."""

    def __init__(self, endpoint: str, latency: float) -> None:
        self.endpoint, self.latency = endpoint, latency
        self.default_region = REGION
        self._session = boto3.Session(region_name=REGION)
        self._lock = threading.Lock()
        self._creds: dict[str, dict[str, str]] = {}
        self._clients: dict[tuple[str, str, str, bool], Any] = {}

    def _credentials(self, account: str) -> dict[str, str]:
        if account not in self._creds:
            boot = self._session.client(
                "sts",
                endpoint_url=self.endpoint,
                config=NO_RETRY,
                aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                aws_secret_access_key="x",
            )
            c = boot.assume_role(RoleArn=f"arn:aws:iam::{account}:role/admin", RoleSessionName="bench")["Credentials"]
            self._creds[account] = {
                "aws_access_key_id": c["AccessKeyId"],
                "aws_secret_access_key": c["SecretAccessKey"],
                "aws_session_token": c["SessionToken"],
            }
        return self._creds[account]

    def _client(self, account: str, service: str, region: str, slow: bool) -> Any:
        with self._lock:
            key = (account, service, region, slow)
            if key not in self._clients:
                client = self._session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint,
                    config=NO_RETRY,
                    **self._credentials(account),
                )
                if slow:
                    client.meta.events.register_first("before-send", self._delay)
                self._clients[key] = client
            return self._clients[key]

    def _delay(self, **_: Any) -> None:
        time.sleep(self.latency)

    def admin(self, account: str, service: str) -> Any:
        return self._client(account, service, REGION, False)

    def client(self, account: str, service: str, region: str) -> Any:
        return self._client(account, service, region, True)


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def build_world(s: Sessions, alias: bool) -> str:
    kms = s.admin(A, "kms")
    key_policy = doc(
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{A}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "consumer",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
            "Action": "kms:Decrypt",
            "Resource": "*",
        },
    )
    key = kms.create_key(Policy=key_policy, KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    kms.create_alias(AliasName="alias/orders", TargetKeyId=key["KeyId"])
    kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=f"arn:aws:iam::{B}:role/app/consumer", Operations=["Decrypt"])
    queue_arn = f"arn:aws:sqs:{REGION}:{A}:orders"
    queue_policy = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{B}:role/app/consumer"},
            "Action": "sqs:ReceiveMessage",
            "Resource": queue_arn,
        }
    )
    url = s.admin(A, "sqs").create_queue(
        QueueName="orders",
        Attributes={"KmsMasterKeyId": "alias/orders" if alias else key["Arn"], "Policy": queue_policy},
    )["QueueUrl"]

    iam = s.admin(B, "iam")
    boundary = iam.create_policy(
        PolicyName="boundary", PolicyDocument=doc({"Effect": "Allow", "Action": ["sqs:*", "kms:*"], "Resource": "*"})
    )["Policy"]["Arn"]
    managed = iam.create_policy(
        PolicyName="kms-decrypt",
        Path="/app/",
        PolicyDocument=doc({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"]}),
    )["Policy"]["Arn"]
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{B}:root"}, "Action": "sts:AssumeRole"})
    iam.create_role(RoleName="consumer", Path="/app/", AssumeRolePolicyDocument=trust, PermissionsBoundary=boundary)
    iam.put_role_policy(
        RoleName="consumer",
        PolicyName="receive",
        PolicyDocument=doc({"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": queue_arn}),
    )
    iam.attach_role_policy(RoleName="consumer", PolicyArn=managed)

    org = s.admin(C, "organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="RESOURCE_CONTROL_POLICY")
    ou = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    for account in (A, B):  # moto gives members random ids; pin them
        with mock.patch("moto.organizations.utils.make_random_account_id", return_value=account):
            org.create_account(AccountName=account, Email=f"{account}@example.com")
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
    scp = org.create_policy(
        Name="deny-delete",
        Description="",
        Type="SERVICE_CONTROL_POLICY",
        Content=doc({"Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*"}),
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=scp, TargetId=ou)
    rcp = org.create_policy(
        Name="org-only",
        Description="",
        Type="RESOURCE_CONTROL_POLICY",
        Content=doc({"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"}),
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=rcp, TargetId=root)
    return str(url)


def run(sessions: Sessions, url: str, workers: int) -> tuple[float, int]:
    options = CollectOptions(region=REGION, max_workers=workers)
    started = time.perf_counter()
    result = collect(url, [f"arn:aws:iam::{B}:role/consumer"], options=options, sessions=sessions)
    elapsed = time.perf_counter() - started
    s = result.snapshot
    assert not s.gaps, s.gaps
    assert len(s.queues) == len(s.keys) == len(s.principals) == 1 and len(s.accounts) == 2, s
    assert s.principals[0].boundary is not None and all(len(a.path) == 3 for a in s.accounts)
    return elapsed, result.calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every AWS call")
    parser.add_argument("--alias", action="store_true", help="the queue names its key by alias (one wave more)")
    args = parser.parse_args()

    from moto.kms.utils import generate_private_key
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # moto makes an RSA key for every KMS key (~50 ms); one per key spec will do
    mock.patch("moto.kms.models.generate_private_key", functools.lru_cache(maxsize=None)(generate_private_key)).start()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()
        sessions = Sessions(endpoint, args.latency)
        url = build_world(sessions, args.alias)
        run(sessions, url, 16)  # warm-up: clients and service models are created once, as in a real run
        concurrent = [run(sessions, url, 16) for _ in range(args.runs)]
        sequential = [run(sessions, url, 1) for _ in range(args.runs)]
    finally:
        server.stop()

    con = statistics.median(t for t, _ in concurrent)
    seq = statistics.median(t for t, _ in sequential)
    calls = concurrent[0][1]
    print(
        f"world: queue+key in {A}, role in {B}, org run by {C} with an OU, SCP and RCP; "
        f"key named by {'alias' if args.alias else 'ARN'}; {args.latency * 1000:.0f} ms per call"
    )
    print(f"AWS calls per collection: {calls}")
    print(f"concurrent (16 workers): median {con:.3f} s over {args.runs} runs")
    print(f"sequential (1 worker):   median {seq:.3f} s over {args.runs} runs")
    print(f"speed-up: {seq / con:.1f}x")


if __name__ == "__main__":
    main()
