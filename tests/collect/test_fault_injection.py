"""FAULT INJECTION: ``sqsdiag why-denied`` live, through a proxy in front of the moto server that breaks one
AWS operation at a time (200 with an empty / truncated / garbage body, throttling, connection reset, a stall
past ``--cli-read-timeout``).

On two worlds whose fault-free answer is known (the e2e article world: denied by the key policy; the
allowed world of test_malformed, with an organization) every fault must give a verdict, never a traceback,
with exit code 0/1/3; a fault that does not recover is never read as "allowed"; a fault that recovers
(throttled twice, then answered, within the 3 standard attempts) gives the fault-free answer.

The CLI runs in-process (as tests/collect/cli_run.py does) so the retry backoff can be made zero: the
tests are then deterministic and fast. Every other setting (retries, timeouts) is sqsdiag's own.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.retries import standard

from . import test_malformed
from .cli_run import Run, run
from .faultproxy import FaultProxy
from .test_e2e_cli import article_world, live_args
from .world import REGION, A, Accounts, World, base_environment

pytestmark = pytest.mark.e2e

QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{A}/orders"
READ_TIMEOUT = "1"


def allowed_world(world: World) -> str:
    test_malformed.allowed_world(world)
    return QUEUE_URL


WORLDS: dict[str, Callable[[World], str]] = {"denied": article_world, "allowed": allowed_world}


# Reads the allowed world's verdict uses (test_malformed: every one of these is needed for "allowed").
ON_PATH = [
    "GetQueueAttributes",
    "DescribeKey",
    "GetKeyPolicy",
    "GetRole",
    "ListRolePolicies",
    "GetRolePolicy",
    "ListAttachedRolePolicies",
    "GetPolicy",
    "GetPolicyVersion",
    "DescribeOrganization",
    "ListParents",
    "ListPoliciesForTarget",
    "DescribePolicy",
]
# Read but not on the allowed path: grants only add allows, and the key policy already allows the consumer.
OFF_PATH = ["ListGrants"]
BAD_BODIES = ("empty", "truncated", "garbage")


def _cases() -> list[tuple[str, str, str]]:
    """(world, operation, fault): every on-path read of the allowed world gets a bad body (rotating kind) and
    either a reset or throttling; two get a stall (3 attempts x the read timeout each); the denied world gets
    a few of each."""
    cases = []
    for i, op in enumerate(ON_PATH + OFF_PATH):
        cases.append(("allowed", op, BAD_BODIES[i % 3]))
        cases.append(("allowed", op, "reset" if i % 2 == 0 else "throttle"))
    cases += [("allowed", "GetKeyPolicy", "stall"), ("allowed", "GetRolePolicy", "stall")]
    cases += [
        ("denied", "GetQueueAttributes", "throttle"),
        ("denied", "GetKeyPolicy", "throttle"),
        ("denied", "ListRolePolicies", "throttle"),
        ("denied", "GetKeyPolicy", "garbage"),
        ("denied", "GetRole", "reset"),
        ("denied", "DescribeKey", "empty"),
    ]
    return cases


CASES = sorted(_cases(), key=lambda c: c[0] != "denied")  # the denied world first, as the test above ends
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}


def _param(case: tuple[str, str, str]) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[case])] if case in KNOWN_BUGS else []
    return pytest.param(*case, id="-".join(case), marks=marks)


class Live:
    def __init__(self, name: str, url: str, proxy: FaultProxy, baseline: dict[str, Any]) -> None:
        self.name, self.url, self.proxy, self.baseline = name, url, proxy, baseline


class Worlds:
    """The world in moto now; rebuilt (moto reset) only when a test needs the other one (tests are ordered by
    world, so each is built once)."""

    def __init__(self, endpoint: str, proxy: FaultProxy) -> None:
        self.endpoint, self.proxy, self.current = endpoint, proxy, None
        self.live: Live | None = None

    def get(self, name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Live:
        from moto.organizations.models import organizations_backends

        if self.live is None or self.live.name != name:
            reset = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
            urllib.request.urlopen(reset).close()
            organizations_backends.master_accounts.clear()
            url = WORLDS[name](World(Accounts(endpoint_url=self.endpoint)))
            self.proxy.clear()
            baseline = answer(why_denied(capsys, monkeypatch, url, self.proxy.url))  # the fault-free answer
            baseline["_seen"] = dict(self.proxy.seen)
            self.live = Live(name, url, self.proxy, baseline)
        self.proxy.clear()
        return self.live


@pytest.fixture(scope="module")
def worlds(moto_endpoint: str) -> Iterator[Worlds]:
    from moto.organizations.models import organizations_backends

    with pytest.MonkeyPatch.context() as env, FaultProxy(moto_endpoint) as proxy:
        for var, value in base_environment().items():
            env.setenv(var, value)
        env.delenv("AWS_PROFILE", raising=False)
        env.delenv("AWS_SESSION_TOKEN", raising=False)
        # botocore's standard retries wait random() * 2**attempt s; zero keeps the tests fast and exact
        env.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
        yield Worlds(moto_endpoint, proxy)
    organizations_backends.master_accounts.clear()


def why_denied(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str, endpoint: str) -> Run:
    args = live_args(url, endpoint)
    return run(capsys, monkeypatch, "why-denied", *args, "--format", "json", "--cli-read-timeout", READ_TIMEOUT)


def answer(result: Run) -> dict[str, Any]:
    assert "Traceback" not in result.err, result.err
    assert result.code in (0, 1, 3), (result.code, result.out[:2000], result.err[-2000:])
    out: dict[str, Any] = json.loads(result.out)
    assert {"decision": 0, "denied": 1, "inconclusive": 3}.get(out["decision"], 1) == result.code or (
        out["decision"] == "allowed" and result.code == 0
    ), (out["decision"], result.code)
    return out


def essentials(out: dict[str, Any]) -> tuple[Any, Any, Any]:
    code = (out.get("error") or {}).get("code")
    blocking = sorted((b["step"], b["layer"], b["kind"]) for b in out.get("blocking") or [])
    return out["decision"], code, blocking


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_the_fault_free_answer_is_known(
    worlds: Worlds, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, world: str
) -> None:
    live = worlds.get(world, capsys, monkeypatch)
    expected = {"allowed": "allowed", "denied": "denied"}[live.name]
    assert live.baseline["decision"] == expected, live.baseline
    if live.name == "denied":
        assert live.baseline["error"]["code"] == "KMS.AccessDeniedException"
    seen = set(live.baseline["_seen"])
    needed = set(ON_PATH) if live.name == "allowed" else {op for w, op, _ in CASES if w == "denied"}
    assert needed <= seen, needed - seen


@pytest.mark.parametrize(("world", "operation", "fault"), [_param(c) for c in CASES])
def test_a_fault_on_one_read(
    worlds: Worlds,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    world: str,
    operation: str,
    fault: str,
) -> None:
    live = worlds.get(world, capsys, monkeypatch)
    recovers = fault == "throttle"
    live.proxy.set(operation, fault, times=2 if recovers else None, stall=3 * float(READ_TIMEOUT))
    out = answer(why_denied(capsys, monkeypatch, live.url, live.proxy.url))
    hits, passed = live.proxy.hits[operation], live.proxy.passed[operation]
    assert hits >= 1, f"the fault on {operation} was never triggered"
    if recovers:
        assert hits == 2 and passed >= 1, (hits, passed)
        assert essentials(out) == essentials(live.baseline), out
        return
    assert passed == 0, passed
    if live.name == "allowed" and operation in OFF_PATH:
        return  # any verdict with exit 0/1/3 and no traceback
    # the allowed world's verdict uses every ON_PATH read; the denied world's answer was not allowed
    assert out["decision"] != "allowed", (out["decision"], out.get("unknowns"))
