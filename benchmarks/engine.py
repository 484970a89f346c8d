"""Policy-engine throughput: 10,000 generated requests, each through the full layer combination
(``authz.authorize``) against ~40 statements spread over identity, resource (queue), SCP and RCP documents,
with conditions. Target: at least 15,000 evaluations per second in one process, peak memory under 200 MB.

    python benchmarks/engine.py [--requests 10000] [--repeat 5] [--seed 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import resource
import statistics
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from diagnose.authz import AuthzInput, Docs, OrgLevels, authorize
from diagnose.policy import (
    Caller,
    Policy,
    PolicyKind,
    PrincipalType,
    Request,
    RequestContext,
    derive_context,
    parse_policy,
)

ACCOUNTS = ["111111111111", "222222222222", "333333333333", "444444444444"]
ACTIONS = [
    "sqs:SendMessage",
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
    "sqs:PurgeQueue",
    "sqs:SetQueueAttributes",
]
QUEUES = [f"arn:aws:sqs:us-east-1:111111111111:q{i}" for i in range(20)]


def _condition(rng: random.Random) -> dict[str, Any]:
    choices: list[dict[str, Any]] = [
        {"StringEquals": {"aws:PrincipalTag/team": rng.choice(["red", "blue", "green"])}},
        {"StringLike": {"aws:PrincipalArn": f"arn:aws:iam::{rng.choice(ACCOUNTS)}:role/app-*"}},
        {"Bool": {"aws:SecureTransport": "true"}},
        {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}},
        {"StringNotEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ops/*"}},
        {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
        {"ForAnyValue:StringEquals": {"aws:CalledVia": ["sqs.amazonaws.com"]}},
        {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1234"}},
        {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
    ]
    return rng.choice(choices)


def _statements(rng: random.Random, n: int, *, principal: bool, effect_deny: float) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        st: dict[str, Any] = {
            "Sid": f"s{i}",
            "Effect": "Deny" if rng.random() < effect_deny else "Allow",
            "Action": rng.sample([*ACTIONS, "sqs:*", "sqs:Get*", "sqs:*Message"], rng.randint(1, 3)),
            "Resource": rng.choice(["*", rng.choice(QUEUES), "arn:aws:sqs:us-east-1:111111111111:q1*"]),
        }
        if principal:
            st["Principal"] = rng.choice(
                [
                    "*",
                    {"AWS": f"arn:aws:iam::{rng.choice(ACCOUNTS)}:root"},
                    {"AWS": f"arn:aws:iam::{rng.choice(ACCOUNTS)}:role/app-{i % 5}"},
                ]
            )
        if rng.random() < 0.7:
            st["Condition"] = _condition(rng)
        out.append(st)
    return out


def _doc(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


# The documents of every request: (origin, kind) of each, in the order ``documents`` makes them.
SLOTS: tuple[tuple[str, PolicyKind], ...] = (
    ("identity", PolicyKind.IDENTITY),
    ("queue policy", PolicyKind.RESOURCE),
    ("scp root", PolicyKind.SCP),
    ("scp ou", PolicyKind.SCP),
    ("rcp", PolicyKind.RCP),
)


def documents(rng: random.Random) -> tuple[dict[str, Any], ...]:
    """The five documents (JSON objects) of ``SLOTS``: identity, queue policy, SCP root, SCP OU, RCP."""
    identity = _doc(_statements(rng, 10, principal=False, effect_deny=0.1))
    queue = _doc(_statements(rng, 10, principal=True, effect_deny=0.1))
    scp_root = _doc(
        [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            *_statements(rng, 4, principal=False, effect_deny=0.8),
        ]
    )
    scp_ou = _doc(
        [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            *_statements(rng, 4, principal=False, effect_deny=0.8),
        ]
    )
    rcp = _doc(
        [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
            *_statements(rng, 9, principal=True, effect_deny=0.9),
        ]
    )
    return identity, queue, scp_root, scp_ou, rcp


def parse_documents(docs: Sequence[Any]) -> tuple[Policy, ...]:
    """``parse_policy`` of each document of ``SLOTS`` (objects or JSON text)."""
    return tuple(parse_policy(d, origin=origin, kind=kind) for d, (origin, kind) in zip(docs, SLOTS, strict=True))


def with_policies(inp: AuthzInput, policies: Sequence[Policy]) -> AuthzInput:
    """``inp`` with its layers made of ``policies`` (parsed from the documents of ``SLOTS``)."""
    identity, queue, scp_root, scp_ou, rcp = policies
    return dataclasses.replace(
        inp,
        resource_policy=Docs((queue,)),
        identity=Docs((identity,)),
        scp=OrgLevels((("root", Docs((scp_root,))), ("ou", Docs((scp_ou,))))),
        rcp=OrgLevels((("root", Docs((rcp,))),)),
    )


@dataclass(frozen=True)
class Workload:
    documents: tuple[dict[str, Any], ...]  # of SLOTS, shared by every request
    inputs: list[AuthzInput]  # each with the documents parsed once, shared


def generate(seed: int, count: int) -> Workload:
    """The seeded documents and ``count`` requests against them."""
    rng = random.Random(seed)
    docs = documents(rng)
    identity, queue, scp_root, scp_ou, rcp = parse_documents(docs)
    scps = OrgLevels((("root", Docs((scp_root,))), ("ou", Docs((scp_ou,)))))
    rcps = OrgLevels((("root", Docs((rcp,))),))
    inputs = []
    for i in range(count):
        account = rng.choice(ACCOUNTS)
        role = f"app-{rng.randint(0, 6)}"
        caller = Caller(
            PrincipalType.ROLE_SESSION,
            f"arn:aws:sts::{account}:assumed-role/{role}/s{i}",
            account=account,
            role_arn=f"arn:aws:iam::{account}:role/{role}",
            session_name=f"s{i}",
            tags={"team": rng.choice(["red", "blue"])},
            org_id="o-abc123",
            org_known=True,
        )
        given = RequestContext(
            values={
                "aws:securetransport": ("true",),
                "aws:currenttime": ("2026-11-28T00:00:00Z",),
                "aws:sourceip": (f"10.1.{rng.randint(0, 255)}.{rng.randint(0, 255)}",),
            },
            absent=frozenset({"aws:sourcevpce", "aws:calledvia"}),
        )
        inputs.append(
            AuthzInput(
                request=Request(caller, rng.choice(ACTIONS), rng.choice(QUEUES), derive_context(caller, given)),
                resource_account="111111111111",
                resource_policy=Docs((queue,)),
                identity=Docs((identity,)),
                scp=scps,
                rcp=rcps,
            )
        )
    return Workload(docs, inputs)


def build(seed: int, count: int) -> list[AuthzInput]:
    return generate(seed, count).inputs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    work = generate(args.seed, args.requests)
    inputs = work.inputs
    statements = sum(len(p.statements) for p in parse_documents(work.documents))
    rates: list[float] = []
    decisions: dict[str, int] = {}
    for _ in range(args.repeat):
        start = time.perf_counter()
        for inp in inputs:
            authorize(inp)
        rates.append(len(inputs) / (time.perf_counter() - start))
    # Memory in a separate pass: tracing allocations slows evaluation several-fold.
    tracemalloc.start()
    for inp in inputs:
        result = authorize(inp)
        decisions[result.decision.value] = decisions.get(result.decision.value, 0) + 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{len(inputs)} requests x {args.repeat} runs, {statements} statements over identity, queue policy, "
        f"2 SCP levels and 1 RCP level"
    )
    print(
        f"median {statistics.median(rates):,.0f} evaluations/s (min {min(rates):,.0f}, max {max(rates):,.0f}); "
        f"peak memory allocated while evaluating {peak / 1e3:.0f} kB, peak RSS of the process {rss:.0f} MB"
    )
    print(f"decisions: {decisions}")
    print(f"target >= 15,000/s: {'met' if statistics.median(rates) >= 15_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
