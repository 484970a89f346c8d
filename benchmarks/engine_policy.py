"""Benchmark of the policy engine: requests per second over four documents with conditions.

Generates (seeded) an identity policy, a queue policy, an SCP and an RCP, ~40 statements in all,
and 10,000 requests from several callers, then times ``evaluate_policies`` over all four documents
for each request. Run: ``python benchmarks/engine_policy.py [--requests N] [--seed S] [--cold]``.
``--cold`` clears the per-policy (action, resource) index before each request, to time the
statement-by-statement path.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diagnose.policy import (
    Caller,
    Policy,
    PolicyKind,
    PrincipalType,
    Request,
    RequestContext,
    evaluate_policies,
    parse_policy,
)
from diagnose.policy.compiled import compiled_policy

ACCOUNTS = ["111111111111", "222222222222", "333333333333"]
ACTIONS = [
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueUrl",
    "sqs:PurgeQueue",
    "kms:Decrypt",
    "kms:GenerateDataKey",
    "s3:GetObject",
]
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]


def _queues(rng: random.Random) -> list[str]:
    return [f"arn:aws:sqs:{rng.choice(REGIONS)}:{rng.choice(ACCOUNTS)}:queue-{i}" for i in range(60)]


def _condition(rng: random.Random) -> dict[str, Any]:
    choices: list[dict[str, Any]] = [
        {"StringEquals": {"aws:PrincipalTag/team": rng.choice(["red", "blue", "green"])}},
        {"StringLike": {"aws:PrincipalArn": f"arn:aws:iam::{rng.choice(ACCOUNTS)}:role/app-*"}},
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:111111111111:topic-*"}},
        {"Bool": {"aws:SecureTransport": "true"}},
        {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}},
        {"StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-1234"}},
        {"ForAnyValue:StringEquals": {"aws:CalledVia": ["sqs.amazonaws.com"]}},
        {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
        {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        {"StringEquals": {"aws:ResourceTag/env": "${aws:PrincipalTag/env}"}},
    ]
    out: dict[str, Any] = {}
    for c in rng.sample(choices, rng.randint(1, 3)):
        for op, kv in c.items():
            out.setdefault(op, {}).update(kv)
    return out


def _statement(rng: random.Random, queues: list[str], principal: bool, deny_share: float) -> dict[str, Any]:
    st: dict[str, Any] = {
        "Sid": f"S{rng.randrange(10**6)}",
        "Effect": "Deny" if rng.random() < deny_share else "Allow",
        "Action": rng.sample([*ACTIONS, "sqs:*", "sqs:Get*", "kms:*", "*"], rng.randint(1, 3)),
        "Resource": rng.choice([rng.choice(queues), "arn:aws:sqs:*:111111111111:queue-*", "*", rng.sample(queues, 3)]),
    }
    if principal:
        st["Principal"] = rng.choice(
            [
                "*",
                {"AWS": rng.choice(ACCOUNTS)},
                {"AWS": f"arn:aws:iam::{rng.choice(ACCOUNTS)}:role/app/app-{rng.randrange(5)}"},
                {"Service": "sns.amazonaws.com"},
            ]
        )
    if rng.random() < 0.8:
        st["Condition"] = _condition(rng)
    return st


def build_policies(rng: random.Random) -> tuple[list[Policy], list[str]]:
    queues = _queues(rng)
    specs = [
        (PolicyKind.IDENTITY, False, 12, 0.15),
        (PolicyKind.RESOURCE, True, 12, 0.2),
        (PolicyKind.SCP, False, 8, 0.5),
        (PolicyKind.RCP, True, 8, 0.5),
    ]
    policies = []
    for kind, principal, n, deny_share in specs:
        stmts = [_statement(rng, queues, principal, deny_share) for _ in range(n)]
        if kind is PolicyKind.RCP:
            for s in stmts:
                s["Principal"] = "*"
        doc = {"Version": "2012-10-17", "Statement": stmts}
        policies.append(parse_policy(doc, origin=f"{kind.value} policy", kind=kind))
    return policies, queues


def _callers(rng: random.Random) -> list[Caller]:
    callers = []
    for i in range(20):
        acct = rng.choice(ACCOUNTS)
        role = f"app-{i % 5}"
        callers.append(
            Caller(
                type=PrincipalType.ROLE_SESSION,
                arn=f"arn:aws:sts::{acct}:assumed-role/{role}/s{i}",
                account=acct,
                role_arn=f"arn:aws:iam::{acct}:role/app/{role}",
                session_name=f"s{i}",
                unique_id=f"AROAEXAMPLE{i:08d}",
                tags={"team": rng.choice(["red", "blue"]), "env": "prod"} if i % 3 else None,
                org_id="o-abc123",
                org_known=bool(i % 2),
            )
        )
    callers.append(Caller(type=PrincipalType.SERVICE, arn="sns.amazonaws.com", service="sns.amazonaws.com"))
    callers.append(Caller(type=PrincipalType.ROOT, arn="arn:aws:iam::111111111111:root", account="111111111111"))
    return callers


def build_requests(rng: random.Random, queues: list[str], n: int) -> list[Request]:
    callers = _callers(rng)
    out = []
    for _ in range(n):
        values: dict[str, tuple[str, ...]] = {
            "aws:securetransport": (rng.choice(["true", "false"]),),
            "aws:currenttime": ("2024-05-01T12:00:00Z",),
        }
        if rng.random() < 0.7:
            values["aws:sourceip"] = (f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",)
        if rng.random() < 0.3:
            values["aws:sourcearn"] = (f"arn:aws:sns:us-east-1:111111111111:topic-{rng.randrange(9)}",)
        if rng.random() < 0.3:
            values["aws:calledvia"] = ("sqs.amazonaws.com",)
        ctx = RequestContext(values=values, absent=frozenset({"aws:sourcevpce"}))
        out.append(Request(rng.choice(callers), rng.choice(ACTIONS), rng.choice(queues), ctx))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cold", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    policies, queues = build_policies(rng)
    requests = build_requests(rng, queues, args.requests)
    statements = sum(len(p.statements) for p in policies)
    compiled = [compiled_policy(p) for p in policies]
    outcomes = {"allow": 0, "deny": 0, "unknown": 0}
    start = time.perf_counter()
    for req in requests:
        if args.cold:
            for cp in compiled:
                cp.index.clear()
        d = evaluate_policies(policies, req)
        if d.deny is True:
            outcomes["deny"] += 1
        elif d.deny is None or d.allow is None:
            outcomes["unknown"] += 1
        elif d.allow:
            outcomes["allow"] += 1
        else:
            outcomes["deny"] += 1
    elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"documents: {len(policies)}, statements: {statements}, requests: {len(requests)}")
    print(f"mode: {'cold (index cleared per request)' if args.cold else 'warm index'}")
    print(f"elapsed: {elapsed:.3f} s  ->  {len(requests) / elapsed:,.0f} requests/s")
    print(f"peak resident memory of the process: {peak_kib / 1024:.1f} MiB")
    print(f"outcomes: {outcomes}")
    print(f"parsing one 5,000-statement document: {_parse_large() * 1000:.0f} ms")


def _parse_large() -> float:
    """Seconds to parse and validate a 5,000-statement identity policy (issue: huge documents)."""
    statements = [
        {
            "Sid": f"S{i}",
            "Effect": "Allow" if i % 3 else "Deny",
            "Action": ["sqs:SendMessage", f"sqs:Get*{i % 7}"],
            "Resource": f"arn:aws:sqs:*:111111111111:queue-{i}-*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": f"t{i}"}},
        }
        for i in range(5000)
    ]
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    start = time.perf_counter()
    parse_policy(text, origin="large", kind=PolicyKind.IDENTITY)
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
