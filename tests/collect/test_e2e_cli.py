"""END-TO-END: the installed ``sqsdiag`` against a moto server, on the article's cross-account world.

Queue in A encrypted with a customer managed key whose policy only enables IAM for A; the queue
policy lets role B:consumer receive; the role may receive but has no KMS permission. The consumer's
ReceiveMessage must be denied by the key policy (KMS.AccessDeniedException, kms:Decrypt).
Skipped until the ``sqsdiag`` console script is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from diagnose import snapshot as snap

from .world import REGION, A, B, World, base_environment
from .world import doc as world_doc

CONSUMER = f"arn:aws:iam::{B}:role/consumer"
SQSDIAG = shutil.which("sqsdiag") or shutil.which("sqsdiag", path=str(Path(sys.executable).parent))

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(SQSDIAG is None, reason="the sqsdiag console script is not installed (pip install -e .)"),
]


def article_world(world: World) -> str:
    key = world.key(A)  # default key policy: "Enable IAM User Permissions" for A only
    queue_arn = f"arn:aws:sqs:{REGION}:{A}:orders"
    queue_policy = world.doc(
        {
            "Sid": "consumer",
            "Effect": "Allow",
            "Principal": {"AWS": CONSUMER},
            "Action": "sqs:ReceiveMessage",
            "Resource": queue_arn,
        }
    )
    url = world.queue(A, KmsMasterKeyId=key["Arn"], Policy=json.dumps(queue_policy))
    world.role(
        B,
        "consumer",
        inline={"receive": world.doc({"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": queue_arn})},
    )
    return url


# What a credential looks like in any output: an access key id, or the names of the secret parts.
_SECRET = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|SecretAccessKey|SessionToken|aws_secret_access_key")


def sqsdiag(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI; no credential it used may appear on stdout, stderr or in a file it wrote."""
    assert SQSDIAG is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(base_environment())
    result = subprocess.run([SQSDIAG, *args, "-v"], capture_output=True, text=True, env=env, timeout=120, check=False)
    written = [Path(args[i + 1]) for i, a in enumerate(args[:-1]) if a in ("-o", "--output")]
    for name, text in (
        ("stdout", result.stdout),
        ("stderr", result.stderr),
        *((str(p), p.read_text(encoding="utf-8")) for p in written if p.exists()),
    ):
        leak = _SECRET.search(text)
        assert leak is None, (name, text[max(0, leak.start() - 80) : leak.end() + 80])
    return result


def verdict(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def assert_article_denial(out: dict[str, Any]) -> None:
    assert out["decision"] == "denied"
    assert out["error"]["code"] == "KMS.AccessDeniedException"
    assert any(b["step"] == "kms:Decrypt" and b["layer"] == "key-policy" for b in out["blocking"]), out["blocking"]


def live_args(url: str, endpoint: str) -> list[str]:
    return [
        "--queue",
        url,
        "--principal",
        CONSUMER,
        "--endpoint-url",
        endpoint,
        "--region",
        REGION,
        "--assume-role-name",
        "admin",
    ]


def test_why_denied_live_against_moto(server: World) -> None:
    url = article_world(server)
    endpoint = server.aws.endpoint_url
    assert endpoint is not None
    out = verdict(sqsdiag("why-denied", *live_args(url, endpoint), "--format", "json"))
    assert_article_denial(out)


def test_collect_then_diagnose_offline_gives_the_live_verdict(server: World, tmp_path: Path) -> None:
    url = article_world(server)
    endpoint = server.aws.endpoint_url
    assert endpoint is not None
    live = verdict(sqsdiag("why-denied", *live_args(url, endpoint), "--format", "json"))

    path = tmp_path / "out.json"
    collected = sqsdiag("collect", *live_args(url, endpoint), "-o", str(path))
    assert collected.returncode == 0, (collected.stdout, collected.stderr)
    saved = snap.load(path)
    assert [q.arn for q in saved.queues] == [f"arn:aws:sqs:{REGION}:{A}:orders"]
    assert [p.arn for p in saved.principals] == [CONSUMER]
    assert len(saved.keys) == 1 and saved.keys[0].policy_source == "GetKeyPolicy"
    assert {a.id: a.org_id for a in saved.accounts} == {A: None, B: None}  # no organization in this world
    assert saved.gaps == ()
    stamp = json.loads(path.read_text())["collected"]
    assert stamp["tool"].startswith("sqsdiag ")
    assert stamp.get("by", "arn:aws:sts::").startswith("arn:aws:sts::")

    offline = verdict(
        sqsdiag(
            "why-denied",
            "--snapshot",
            str(path),
            "--queue",
            url,
            "--principal",
            CONSUMER,
            "--region",
            REGION,
            "--format",
            "json",
        )
    )
    assert_article_denial(offline)
    for field in ("decision", "error", "blocking"):
        assert offline[field] == live[field], field


def test_preflight_on_a_template_reads_what_exists_live(server: World) -> None:
    """The cdk.out of tests/iac against a live world: the consumer role of B is read from B (not declared in the
    code), and B's organization status is read, so the check is decided as it is on the snapshot."""
    server.role(
        B,
        "consumer",
        inline={
            "consume": world_doc(
                {"Effect": "Allow", "Action": "sqs:*", "Resource": f"arn:aws:sqs:{REGION}:{A}:*"},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": f"arn:aws:kms:{REGION}:{A}:key/*"},
            )
        },
    )
    endpoint = server.aws.endpoint_url
    assert endpoint is not None
    cdk_out = Path(__file__).resolve().parent.parent / "iac" / "cdk.out"
    result = sqsdiag(
        "preflight",
        "--template",
        str(cdk_out),
        "--endpoint-url",
        endpoint,
        "--region",
        REGION,
        "--assume-role-name",
        "admin",
        "--format",
        "json",
    )
    assert result.returncode == 1, (result.stdout, result.stderr)
    out = json.loads(result.stdout)
    (check,) = out["checks"]
    assert check["subject"] == CONSUMER and check["status"] == "changes-needed"
    before = check["preflight"]["before"]
    assert [b["action"] for b in before if b["decision"] == "denied"] == ["ReceiveMessage"]
    assert before[0]["error"]["code"] == "KMS.AccessDeniedException"
    (change,) = check["code_changes"]
    assert change["resource"] == "OrdersKey1A2B3C4D" and change["property"] == "KeyPolicy"
