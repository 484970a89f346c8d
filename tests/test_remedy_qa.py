"""QA of the rewritten remedy engine: worlds where several layers block at once, fixes checked the way an
administrator would check them (the printed documents written into the snapshot JSON by hand, then
why-denied again), and why-denied against pre-flight for the same share.

Each test asserts the right outcome; the comment above it cites the rule (docs/reference.md)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from diagnose.managed_keys import aws_sqs_key_policy
from tests.helpers import ARTICLE, CONSUMER, run_cli

SHARED = ARTICLE / "3-sse-kms-key-shared.json"
MANAGED = ARTICLE / "4-aws-sqs-key-cross-account.json"
SSE_SQS = ARTICLE / "1-sse-sqs-queue-policy-only.json"
QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-customer"
KEY = "arn:aws:kms:ap-northeast-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC = "arn:aws:sns:ap-northeast-1:333333333333:topic"
ALLOW_ALL_ENDPOINT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}


# --------------------------------------------------------------------------- helpers


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _write(tmp_path: Path, name: str, data: dict[str, Any]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def _why(
    capsys: pytest.CaptureFixture[str], snapshot: str, principal: str, *extra: str, queue: str = QUEUE
) -> dict[str, Any]:
    before = Path(snapshot).read_text(encoding="utf-8")
    run = run_cli(
        capsys, "why-denied", "-s", snapshot, "--queue", queue, "--principal", principal, "-f", "json", *extra
    )
    assert "Traceback" not in run.err, run.err
    assert Path(snapshot).read_text(encoding="utf-8") == before  # the input snapshot is never modified
    out: dict[str, Any] = json.loads(run.out)
    return out


def _set_context(extra: list[str], key: str, value: str) -> list[str]:
    """The request flags with ``key`` given this one value (a repeated -c would add a second value)."""
    out: list[str] = []
    i = 0
    while i < len(extra):
        if extra[i] == "-c" and extra[i + 1].lower().startswith(key.lower() + "="):
            i += 2
            continue
        out.append(extra[i])
        i += 1
    return [*out, "-c", f"{key}={value}"]


def _by_hand(data: dict[str, Any], changes: list[dict[str, Any]], extra: list[str]) -> tuple[dict[str, Any], list[str]]:
    """What an administrator does with a printed fix: write each printed document where it lives."""
    data = copy.deepcopy(data)
    for c in changes:
        layer, kind, doc, res = c["layer"], c["kind"], c.get("document"), c.get("resource")
        if kind == "request" and layer != "session-policy":
            if "HTTPS" in c["description"]:
                extra = _set_context(extra, "aws:SecureTransport", "true")
            if m := re.search(r"VPC endpoint (vpce-[\w-]+)", c["description"]):
                extra = _set_context(extra, "aws:SourceVpce", m.group(1))
        elif layer == "resource-policy":
            queue = next(q for q in data["queues"] if q["arn"] == res)
            if kind == "remove-document":
                queue["attributes"].pop("Policy", None)
            else:
                queue["attributes"]["Policy"] = json.dumps(doc)
        elif layer == "key-policy":
            key = next(k for k in data["keys"] if k["arn"] == res)
            key["policy"] = doc
        elif layer == "identity-policy":
            principal = next(
                p
                for p in data["principals"]
                if p["arn"] == res or any(d.get("arn") == res for d in p.get("policies") or ())
            )
            if kind == "new-policy":
                name = re.search(r"'([^']+)'", c["target"])
                assert name is not None
                principal["policies"].append({"name": name.group(1), "source": "inline", "document": doc})
            else:
                for policy in list(principal["policies"]):
                    statements = policy["document"]["Statement"]
                    statements = [statements] if isinstance(statements, dict) else statements
                    if c["statement"] in statements:
                        if kind == "remove-document":
                            principal["policies"].remove(policy)
                        else:
                            policy["document"] = doc
        elif layer == "vpc-endpoint-policy":
            endpoint = next(v for v in data["vpc_endpoints"] if v["id"] == res)
            endpoint["policy"] = doc
        else:
            raise AssertionError(f"this helper does not place {layer} {kind}")
    return data, extra


def _vpce_perimeter(data: dict[str, Any]) -> None:
    """The caller's own data perimeter: its SQS and KMS calls only through its VPC endpoint vpce-1."""
    data["vpc_endpoints"] = [{"id": "vpce-1", "policy": ALLOW_ALL_ENDPOINT}]
    data["principals"][0]["policies"].append(
        {
            "name": "perimeter",
            "source": "inline",
            "document": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "OnlyThroughVpce",
                        "Effect": "Deny",
                        "Action": ["sqs:*", "kms:*"],
                        "Resource": "*",
                        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
                    }
                ],
            },
        }
    )


# --------------------------------------------------------------------------- findings (fail now)


# N2/O2/E9: the kms:Decrypt SQS makes for the caller is a forward-access call from the SQS service, so it never
# carries the caller's aws:SourceVpce, whatever endpoint the caller used. A Deny on StringNotEquals aws:SourceVpce
# that also covers kms:* therefore always denies the KMS hop of an SSE-KMS queue; "call through vpce-1" cannot
# lift it (the call already does). The lift is AWS's data-perimeter exemption,
# "BoolIfExists": {"aws:ViaAWSService": "false"} (O2). Today: no fix at all ("no change set could be proven").
def test_o2_n2_an_endpoint_perimeter_that_covers_kms_is_narrowed_for_the_kms_hop(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _read(SHARED)
    _vpce_perimeter(data)
    snapshot = _write(tmp_path, "perimeter.json", data)
    out = _why(capsys, snapshot, CONSUMER, "-c", "aws:SourceVpce=vpce-1")
    assert out["decision"] == "denied"
    assert [(b["step"], b["layer"], b["kind"]) for b in out["blocking"]] == [
        ("kms:Decrypt", "identity-policy", "explicit-deny")
    ]
    assert out["fixes"], "a verified fix exists: exempt the forward-access hop (O2)"
    (fix,) = out["fixes"]
    narrowed = [c for c in fix["changes"] if c["kind"] == "narrow-statement"]
    assert narrowed and narrowed[0]["statement"]["Sid"] == "OnlyThroughVpce"
    fixed, extra = _by_hand(data, fix["changes"], ["-c", "aws:SourceVpce=vpce-1"])
    assert _why(capsys, _write(tmp_path, "fixed.json", fixed), CONSUMER, *extra)["decision"] == "allowed"


# Same perimeter, the caller calling directly: the SQS step is met by calling through vpce-1 (N3), the KMS step
# only by the forward-access exemption (O2, N2). Both are needed; today neither is proposed.
def test_o2_n3_an_endpoint_perimeter_on_a_direct_call_needs_the_endpoint_and_the_kms_exemption(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _read(SHARED)
    _vpce_perimeter(data)
    snapshot = _write(tmp_path, "perimeter.json", data)
    out = _why(capsys, snapshot, CONSUMER)
    assert [(b["step"], b["kind"]) for b in out["blocking"]] == [
        ("sqs:ReceiveMessage", "explicit-deny"),
        ("kms:Decrypt", "explicit-deny"),
    ]
    assert out["fixes"] and out["fixes"][0]["verified"]
    fixed, extra = _by_hand(data, out["fixes"][0]["changes"], [])
    assert _why(capsys, _write(tmp_path, "fixed.json", fixed), CONSUMER, *extra)["decision"] == "allowed"


# N3 + N1: the queue policy denies calls not through vpce-1 and vpce-1's endpoint policy does not allow
# ReceiveMessage. The fix is to call through vpce-1 and allow the action in *vpce-1's* policy. The engine routes
# the call through vpce-1 but builds the endpoint-policy change from the original request's endpoint (none:
# EndpointPolicy("")), which edits nothing, so no fix is shown although one exists.
def test_n1_n3_the_endpoint_policy_changed_is_the_one_the_call_is_routed_through(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _read(SHARED)
    policy = json.loads(data["queues"][0]["attributes"]["Policy"])
    policy["Statement"].append(
        {
            "Sid": "OnlyVpce",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": QUEUE,
            "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
        }
    )
    data["queues"][0]["attributes"]["Policy"] = json.dumps(policy)
    data["vpc_endpoints"] = [
        {
            "id": "vpce-1",
            "policy": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}],
            },
        }
    ]
    snapshot = _write(tmp_path, "guard.json", data)
    out = _why(capsys, snapshot, CONSUMER)
    assert out["decision"] == "denied"
    assert out["fixes"], "calling through vpce-1 and allowing ReceiveMessage in its policy makes the call succeed"
    (fix,) = out["fixes"]
    endpoint_changes = [c for c in fix["changes"] if c["layer"] == "vpc-endpoint-policy" and c["kind"] != "request"]
    assert [c["resource"] for c in endpoint_changes] == ["vpce-1"]
    fixed, extra = _by_hand(data, fix["changes"], [])
    assert _why(capsys, _write(tmp_path, "fixed.json", fixed), CONSUMER, *extra)["decision"] == "allowed"


# S10: the key behind alias/aws/sqs is the AWS managed key; its key policy cannot be edited (the alias/aws/ prefix
# is reserved for AWS managed keys, and the queue names the key by that alias). A snapshot may leave `manager`
# null (docs/snapshot.md), but a fix that adds a statement to that key policy can never be applied, so it must not
# be shown as verified; the ways out (SSE-SQS, a new customer managed key: S11) are the answer.
def test_s10_the_alias_aws_sqs_key_policy_is_never_edited_even_when_the_manager_is_not_recorded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _read(MANAGED)
    key = data["keys"][0]
    key.update(manager=None, policy=aws_sqs_key_policy("111111111111", "ap-northeast-1"), policy_source="GetKeyPolicy")
    queue = data["queues"][0]["arn"]
    out = _why(capsys, _write(tmp_path, "managed.json", data), CONSUMER, queue=queue)
    assert out["decision"] == "denied"
    edited = [
        c for f in out["fixes"] for c in f["changes"] if c["layer"] == "key-policy" and c["resource"] == key["arn"]
    ]
    assert edited == []
    assert [f["title"] for f in out["fixes"]] == [
        "move the queue to SSE-SQS",
        "re-encrypt with a new customer managed key",
    ]


# C7/Q6: when SNS delivers for a topic, the request carries aws:SourceArn (the topic) and aws:SourceAccount (the
# topic's account, read off its ARN). Pre-flight derives the account from --source-arn and says the share works;
# why-denied given the same source ARN leaves aws:SourceAccount unknown and answers "inconclusive". The same
# question must get the same answer.
def test_c7_why_denied_knows_the_source_account_of_a_source_arn_as_preflight_does(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _read(SSE_SQS)
    queue = data["queues"][0]["arn"]
    data["queues"][0]["attributes"]["Policy"] = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Sns",
                    "Effect": "Allow",
                    "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue,
                    "Condition": {"StringEquals": {"aws:SourceAccount": "333333333333"}},
                }
            ],
        }
    )
    snapshot = _write(tmp_path, "sns.json", data)
    run = run_cli(
        capsys,
        "preflight",
        "-s",
        snapshot,
        "--queue",
        queue,
        "--producer",
        "sns.amazonaws.com",
        "--source-arn",
        TOPIC,
        "-f",
        "json",
    )
    assert json.loads(run.out)["status"] == "works"
    out = _why(
        capsys, snapshot, "sns.amazonaws.com", "--action", "SendMessage", "-c", f"aws:SourceArn={TOPIC}", queue=queue
    )
    assert out["decision"] == "allowed"


# A fix is a list of things to do: one change per thing. A plain-HTTP call denied both by the SSE queue's
# transport rule (N4) and by a TLS-only Deny on the caller's identity policy (N4) needs one change, "call over
# HTTPS"; today it is listed twice.
def test_n4_calling_over_https_is_listed_once_when_two_layers_need_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _read(SHARED)
    data["principals"][0]["policies"].append(
        {
            "name": "tls-only",
            "source": "inline",
            "document": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "TlsOnly",
                        "Effect": "Deny",
                        "Action": ["sqs:*", "kms:*"],
                        "Resource": "*",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        }
    )
    out = _why(capsys, _write(tmp_path, "tls.json", data), CONSUMER, "-c", "aws:SecureTransport=false")
    (fix,) = out["fixes"]
    assert fix["verified"]
    printed = [json.dumps(c, sort_keys=True) for c in fix["changes"]]
    assert len(printed) == len(set(printed)), fix["changes"]


# --------------------------------------------------------------------------- robustness (pass now)


# E1/E2/O1-O3/E7/E8/N1: several layers block at once; every fix shown is verified and, written into the snapshot
# by hand, makes the call succeed. Kept as coverage of the multi-layer paths the other tests reach one at a time.
def _org(account: str, scps: list[dict[str, Any]], rcps: list[dict[str, Any]]) -> dict[str, Any]:
    full = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    full_rcp = copy.deepcopy(ALLOW_ALL_ENDPOINT)
    return {
        "id": account,
        "organization": {"id": "o-1", "management_account": "999999999999"},
        "path": [
            {
                "id": "r-root",
                "type": "ROOT",
                "scps": [{"name": "FullAWSAccess", "document": full}],
                "rcps": [{"name": "RCPFullAWSAccess", "document": full_rcp}],
            },
            {
                "id": account,
                "type": "ACCOUNT",
                "scps": [{"name": "FullAWSAccess", "document": full}, *scps],
                "rcps": [{"name": "RCPFullAWSAccess", "document": full_rcp}, *rcps],
            },
        ],
    }


def test_e1_o3_a_deny_in_an_scp_and_another_in_an_rcp_are_both_lifted_and_proven(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _read(SHARED)
    scp = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "NoSqs", "Effect": "Deny", "Action": "sqs:*", "Resource": "*"}],
    }
    rcp = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "NoKms", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}],
    }
    data["accounts"] = [
        _org("111111111111", [], [{"name": "deny-kms", "document": rcp}]),
        _org("222222222222", [{"name": "deny-sqs", "document": scp}], []),
    ]
    out = _why(capsys, _write(tmp_path, "org.json", data), CONSUMER)
    assert [(b["layer"], b["kind"]) for b in out["blocking"]] == [("scp", "explicit-deny"), ("rcp", "explicit-deny")]
    (fix,) = out["fixes"]
    assert fix["verified"]
    assert [(c["layer"], c["kind"]) for c in fix["changes"]] == [
        ("scp", "remove-document"),
        ("rcp", "narrow-statement"),  # the KMS hop: the forward-access exemption (O2)
    ]


def test_e7_e8_n1_boundary_session_and_endpoint_missing_the_action_are_all_widened_least_privilege(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _read(SHARED)
    s3_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    data["principals"][0]["boundary"] = {"name": "s3-only", "source": "boundary", "document": s3_only}
    data["vpc_endpoints"] = [
        {
            "id": "vpce-1",
            "policy": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}],
            },
        }
    ]
    session = _write(tmp_path, "session.json", s3_only)
    out = _why(
        capsys,
        _write(tmp_path, "limits.json", data),
        CONSUMER,
        "-c",
        "aws:SourceVpce=vpce-1",
        "--session-policy",
        session,
    )
    (fix,) = out["fixes"]
    assert fix["verified"]
    by_layer = {(c["layer"], c["statement"]["Action"]): c["statement"] for c in fix["changes"]}
    assert set(by_layer) == {
        ("permissions-boundary", "sqs:ReceiveMessage"),
        ("session-policy", "sqs:ReceiveMessage"),
        ("vpc-endpoint-policy", "sqs:ReceiveMessage"),  # N2: the KMS hop does not cross the SQS endpoint
        ("permissions-boundary", "kms:Decrypt"),
        ("session-policy", "kms:Decrypt"),
    }
    # least privilege: the endpoint statement names the caller's role (not "*"), each statement one resource
    assert by_layer[("vpc-endpoint-policy", "sqs:ReceiveMessage")]["Principal"] == {"AWS": CONSUMER}
    assert by_layer[("permissions-boundary", "kms:Decrypt")]["Resource"] == KEY


def test_e1_denies_in_managed_and_group_policies_are_edited_where_they_live(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _read(SHARED)
    user = "arn:aws:iam::222222222222:user/alice"
    consume = copy.deepcopy(data["principals"][0]["policies"][0])
    data["principals"].append(
        {
            "arn": user,
            "type": "user",
            "tags": {},
            "groups": ["devs"],
            "policies": [
                consume,
                {
                    "name": "devs-deny",
                    "source": "group-inline",
                    "group": "devs",
                    "document": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Sid": "NoRecv", "Effect": "Deny", "Action": "sqs:ReceiveMessage", "Resource": "*"}
                        ],
                    },
                },
                {
                    "name": "GroupMgd",
                    "source": "group-managed",
                    "group": "devs",
                    "arn": "arn:aws:iam::222222222222:policy/GroupMgd",
                    "document": {
                        "Version": "2012-10-17",
                        "Statement": [{"Sid": "NoKms", "Effect": "Deny", "Action": "kms:*", "Resource": "*"}],
                    },
                },
            ],
        }
    )
    out = _why(capsys, _write(tmp_path, "groups.json", data), user)
    (fix,) = out["fixes"]
    assert fix["verified"]
    assert [(c["kind"], c["resource"]) for c in fix["changes"]] == [
        ("remove-document", "devs"),  # a group's policy: every member is affected, so the group is named
        ("narrow-statement", "arn:aws:iam::222222222222:policy/GroupMgd"),  # a managed policy, by its ARN
    ]


def test_q6_s12_a_service_producer_is_scoped_to_its_source_on_the_queue_and_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = _why(capsys, str(SHARED), "sns.amazonaws.com", "--action", "SendMessage", "-c", f"aws:SourceArn={TOPIC}")
    (fix,) = out["fixes"]
    assert fix["verified"]
    for change in fix["changes"]:
        assert change["statement"]["Principal"] == {"Service": "sns.amazonaws.com"}
        assert change["statement"]["Condition"] == {"ArnEquals": {"aws:SourceArn": TOPIC}}


# E1: an explicit deny can only be removed or narrowed where it lives. A policy whose ARN is
# arn:aws:iam::aws:policy/... is an AWS managed IAM policy: AWS owns it and no customer can change its statements
# (IAM user guide, "AWS managed policies"; no rule id in docs/reference.md yet). When its deny blocks, the only
# change the caller's administrator can make is to detach it, so the fix must not be "remove-statement" inside it.
def test_e1_a_deny_in_an_aws_managed_iam_policy_is_detached_not_edited(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = _read(SHARED)
    data["principals"][0]["policies"].append(
        {
            "name": "AWSSomething",
            "arn": "arn:aws:iam::aws:policy/AWSSomething",
            "source": "managed",
            "document": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                    {"Effect": "Deny", "Action": "sqs:*", "Resource": "*"},
                ],
            },
        }
    )
    out = _why(capsys, _write(tmp_path, "aws-managed-iam.json", data), CONSUMER)
    (fix,) = out["fixes"]
    edits = [c for c in fix["changes"] if c["resource"] == "arn:aws:iam::aws:policy/AWSSomething"]
    assert edits, "the deny is lifted by detaching that policy"
    # detaching (the whole document goes), never an edit of its statements
    assert not [c["kind"] for c in edits if c["kind"] in ("remove-statement", "narrow-statement")]
