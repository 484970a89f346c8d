"""Proven fixes (DESIGN principle 7): every fix shown has been applied to a copy and re-evaluated."""

from __future__ import annotations

import copy
import json
from typing import Any

from diagnose.remedy import propose
from diagnose.snapshot import from_json, load
from diagnose.sqs import parse_action
from diagnose.verdict import Query, diagnose
from tests.helpers import ARTICLE, CONSUMER

SHARED = ARTICLE / "3-sse-kms-key-shared.json"
QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-customer"
KEY = "arn:aws:kms:ap-northeast-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FULL_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _world(mutate: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SHARED.read_text())
    mutate(data)
    return data


def _in_org_with_scp(data: dict[str, Any], scp: dict[str, Any]) -> None:
    data["accounts"][1] = {
        "id": "222222222222",
        "organization": {"id": "o-example", "management_account": "999999999999"},
        "path": [
            {"id": "r-root", "type": "ROOT", "scps": [{"name": "FullAWSAccess", "document": FULL_ACCESS}], "rcps": []},
            {
                "id": "222222222222",
                "type": "ACCOUNT",
                "scps": [{"name": "FullAWSAccess", "document": FULL_ACCESS}, {"name": "deny-kms", "document": scp}],
                "rcps": [],
            },
        ],
    }


def _verdict_and_fixes(data: dict[str, Any], action: str = "ReceiveMessage") -> tuple[Any, Any]:
    snap = from_json(data, "test")
    verdict = diagnose(snap, Query(QUEUE, CONSUMER, parse_action(action)))
    return verdict, propose(snap, verdict)


def test_o2_scp_denying_kms_is_narrowed_with_the_forward_access_exemption() -> None:
    deny_kms = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "NoKms", "Effect": "Deny", "Action": "kms:*", "Resource": "*"}],
    }
    verdict, fixes = _verdict_and_fixes(_world(lambda d: _in_org_with_scp(d, deny_kms)))
    assert verdict.decision.value == "denied"
    assert verdict.error.code == "KMS.AccessDeniedException"
    assert "kms:Decrypt on the resource associated with this ciphertext" in verdict.error.message  # X6
    assert [(b.step, b.block.layer, b.block.explicit) for b in verdict.blocking] == [("kms:Decrypt", "scp", True)]
    (fix,) = fixes.fixes
    (change,) = fix.changes
    assert (change.layer, change.kind, change.account) == (
        "scp",
        "narrow-statement",
        "the organization's management account",
    )
    assert change.document["Statement"][0]["Condition"] == {"BoolIfExists": {"aws:ViaAWSService": "false"}}
    assert fix.verified and fix.decision_after == "allowed"


def test_e1_explicit_deny_in_the_queue_policy_is_removed_and_proven() -> None:
    def add_deny(data: dict[str, Any]) -> None:
        policy = json.loads(data["queues"][0]["attributes"]["Policy"])
        policy["Statement"].append(
            {
                "Sid": "DenyConsumer",
                "Effect": "Deny",
                "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                "Action": "sqs:ReceiveMessage",
                "Resource": QUEUE,
            }
        )
        data["queues"][0]["attributes"]["Policy"] = json.dumps(policy)

    verdict, fixes = _verdict_and_fixes(_world(add_deny))
    assert verdict.error.code == "AccessDenied"
    assert verdict.error.message.endswith("with an explicit deny in a resource-based policy")
    (fix,) = fixes.fixes
    (change,) = fix.changes
    assert (change.layer, change.kind, change.account) == ("resource-policy", "remove-statement", "111111111111")
    assert [s.get("Sid") for s in change.document["Statement"]] == ["AllowConsumerAccount"]
    assert fix.verified


def test_k8_a_key_pending_import_gets_the_ways_out_not_a_state_change() -> None:
    # A key pending import needs its key material, which no policy change provides (K8): the fixes are the
    # ways out of the key itself, SSE-SQS or a new customer managed key, each verified.
    verdict, fixes = _verdict_and_fixes(_world(lambda d: d["keys"][0].update(state="PendingImport")))
    assert verdict.error.code == "KMS.InvalidStateException"
    assert [f.title for f in fixes.fixes] == ["move the queue to SSE-SQS", "re-encrypt with a new customer managed key"]
    assert all(f.verified for f in fixes.fixes)
    assert not any("alias/aws/sqs" in t for f in fixes.fixes for t in f.trade_offs)


def test_o1_an_scp_level_without_an_allow_gets_one() -> None:
    only_s3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}

    def allow_list_scp(data: dict[str, Any]) -> None:
        _in_org_with_scp(data, FULL_ACCESS)
        data["accounts"][1]["path"][1]["scps"] = [{"name": "s3-only", "document": only_s3}]

    verdict, fixes = _verdict_and_fixes(_world(allow_list_scp))
    assert [(b.step, b.block.layer, b.block.explicit) for b in verdict.blocking] == [
        ("sqs:ReceiveMessage", "scp", False),
        ("kms:Decrypt", "scp", False),
    ]
    (fix,) = fixes.fixes
    assert [(c.kind, c.target, c.statement["Action"]) for c in fix.changes] == [
        ("attach-policy", "SCPs attached at account 222222222222", "sqs:ReceiveMessage"),
        ("attach-policy", "SCPs attached at account 222222222222", "kms:Decrypt"),
    ]
    assert fix.verified


def test_fixes_never_modify_the_snapshot_they_start_from() -> None:
    snap = load(ARTICLE / "2-sse-kms-queue-policy-only.json")
    before = copy.deepcopy(snap)
    verdict = diagnose(snap, Query(QUEUE, CONSUMER, parse_action("ReceiveMessage")))
    assert propose(snap, verdict).verified
    assert snap == before


def test_n3_a_lone_deny_statement_is_removed_with_its_policy_then_the_grant_added() -> None:
    # Row 15: the queue policy's only statement denies calls that do not come through vpce-1 (C2: the
    # absent aws:SourceVpce makes StringNotEquals true). Removing it removes the policy (AWS rejects an
    # empty one), which uncovers the next blocker: nothing grants the cross-account consumer (E5). The fix
    # gathers both, in rounds, and is shown because together they make the call succeed.
    def lone_deny(data: dict[str, Any]) -> None:
        data["queues"][0]["attributes"]["Policy"] = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": QUEUE,
                    "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
                },
            }
        )

    verdict, fixes = _verdict_and_fixes(_world(lone_deny))
    assert verdict.error.code == "AccessDenied"
    assert verdict.error.message.endswith("with an explicit deny in a resource-based policy")
    assert [(b.block.layer, b.block.explicit) for b in verdict.blocking] == [("resource-policy", True)]
    (fix,) = fixes.fixes
    assert [(c.layer, c.kind) for c in fix.changes] == [
        ("resource-policy", "remove-document"),
        ("resource-policy", "add-statement"),
    ]
    assert fix.verified and fix.decision_after == "allowed"


def test_anonymous_callers_get_no_public_queue_fix() -> None:
    data = json.loads(SHARED.read_text())
    snap = from_json(data, "test")
    verdict = diagnose(snap, Query(QUEUE, "anonymous", parse_action("ReceiveMessage")))
    assert verdict.decision.value == "denied"
    assert verdict.error.code == "InvalidSecurity"  # Q8/N4: an SSE queue needs SigV4
    fixes = propose(snap, verdict)
    assert fixes.fixes == () and "public" in fixes.unfixable[0]


S3_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def test_e7_a_permissions_boundary_gets_the_missing_actions() -> None:
    def bounded(data: dict[str, Any]) -> None:
        data["principals"][0]["boundary"] = {"name": "s3-only", "source": "boundary", "document": S3_ONLY}

    verdict, fixes = _verdict_and_fixes(_world(bounded))
    assert [(b.step, b.block.layer) for b in verdict.blocking] == [
        ("sqs:ReceiveMessage", "permissions-boundary"),
        ("kms:Decrypt", "permissions-boundary"),
    ]
    assert verdict.error.message.endswith("because no permissions boundary allows the sqs:receivemessage action")
    (fix,) = fixes.fixes
    assert [(c.layer, c.statement["Action"]) for c in fix.changes] == [
        ("permissions-boundary", "sqs:ReceiveMessage"),
        ("permissions-boundary", "kms:Decrypt"),
    ]
    assert fix.verified


def test_e8_a_session_policy_is_widened_by_assuming_the_role_again() -> None:
    snap = load(SHARED)
    verdict = diagnose(snap, Query(QUEUE, CONSUMER, parse_action("ReceiveMessage"), session_policy=S3_ONLY))
    assert [(b.step, b.block.layer) for b in verdict.blocking] == [
        ("sqs:ReceiveMessage", "session-policy"),
        ("kms:Decrypt", "session-policy"),
    ]
    (fix,) = propose(snap, verdict).fixes
    assert {c.kind for c in fix.changes} == {"request"} and fix.verified


def test_n1_a_vpc_endpoint_policy_gets_the_missing_action() -> None:
    def through_endpoint(data: dict[str, Any]) -> None:
        data["vpc_endpoints"] = [
            {
                "id": "vpce-1",
                "policy": {
                    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "*"}]
                },
            }
        ]

    snap = from_json(_world(through_endpoint), "test")
    query = Query(QUEUE, CONSUMER, parse_action("ReceiveMessage"), context={"aws:sourcevpce": ("vpce-1",)})
    verdict = diagnose(snap, query)
    assert [(b.step, b.block.layer) for b in verdict.blocking] == [("sqs:ReceiveMessage", "vpc-endpoint-policy")]
    assert verdict.error.message.endswith("because no VPC endpoint policy allows the sqs:receivemessage action")
    (fix,) = propose(snap, verdict).fixes
    (change,) = fix.changes
    # Least privilege: the endpoint statement names the caller's role, not "*".
    assert (change.layer, change.statement["Principal"], fix.verified) == (
        "vpc-endpoint-policy",
        {"AWS": CONSUMER},
        True,
    )
    assert change.document is not None and len(change.document["Statement"]) == 2  # the endpoint policy after it


def test_k8_a_disabled_or_deleting_key_is_enabled_again() -> None:
    for state, code, kind in (
        ("Disabled", "KMS.DisabledException", "enable-key"),
        ("PendingDeletion", "KMS.InvalidStateException", "cancel-key-deletion"),
    ):
        verdict, fixes = _verdict_and_fixes(_world(lambda d, s=state: d["keys"][0].update(state=s)))
        assert verdict.error.code == code
        (fix,) = fixes.fixes
        assert [c.kind for c in fix.changes] == [kind] and fix.verified


def test_n4_an_sse_queue_over_http_needs_https() -> None:
    snap = load(SHARED)
    query = Query(QUEUE, CONSUMER, parse_action("ReceiveMessage"), context={"aws:securetransport": ("false",)})
    verdict = diagnose(snap, query)
    assert verdict.error.code == "InvalidSecurity"
    assert [(b.block.layer, b.reached) for b in verdict.blocking] == [("transport", True)]
    (fix,) = propose(snap, verdict).fixes
    assert [c.layer for c in fix.changes] == ["transport"] and fix.verified


def test_several_edits_to_one_policy_touch_only_their_own_statements() -> None:
    # Two denies in one identity policy with an unrelated allow between them: removing one must not shift
    # the other edit onto the wrong statement, and each printed document builds on the change before it.
    keep = {"Sid": "KeepMe", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}

    def denies(data: dict[str, Any]) -> None:
        statements = data["principals"][0]["policies"][0]["document"]["Statement"]
        statements += [
            {"Sid": "DenyRecv", "Effect": "Deny", "Action": "sqs:ReceiveMessage", "Resource": "*"},
            keep,
            {"Sid": "DenyKms", "Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*"},
        ]

    _, fixes = _verdict_and_fixes(_world(denies))
    (fix,) = fixes.fixes
    assert [(c.kind, c.statement["Sid"]) for c in fix.changes] == [
        ("remove-statement", "DenyRecv"),
        ("narrow-statement", "DenyKms"),
    ]
    final = fix.changes[-1].document
    assert [s["Sid"] for s in final["Statement"]] == ["ConsumeOrders", "DecryptOrders", "KeepMe", "DenyKms"]
    assert final["Statement"][2] == keep
    assert final["Statement"][3]["Condition"] == {"BoolIfExists": {"aws:ViaAWSService": "false"}}
    assert fix.verified


def test_new_sids_and_policy_names_never_collide_with_existing_ones() -> None:
    def taken(data: dict[str, Any]) -> None:
        policy = json.loads(data["queues"][0]["attributes"]["Policy"])
        policy["Statement"] = [
            dict(
                policy["Statement"][0],
                Sid="SqsdiagConsumerAccess",
                Principal={"AWS": "arn:aws:iam::333333333333:root"},
            )
        ]
        data["queues"][0]["attributes"]["Policy"] = json.dumps(policy)
        data["principals"][0]["policies"][0]["name"] = "sqsdiag-consumer-hoge-sse-customer"
        data["principals"][0]["policies"][0]["document"]["Statement"] = [
            {
                "Effect": "Allow",
                "Action": "sqs:ReceiveMessage",
                "Resource": "arn:aws:sqs:ap-northeast-1:111111111111:x",
            },
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY},
        ]

    _, fixes = _verdict_and_fixes(_world(taken))
    (fix,) = fixes.fixes
    queue_change = next(c for c in fix.changes if c.layer == "resource-policy")
    assert queue_change.statement["Sid"] == "SqsdiagConsumerAccess2"
    sids = [s["Sid"] for s in queue_change.document["Statement"]]
    assert len(sids) == len(set(sids))
    identity_change = next(c for c in fix.changes if c.layer == "identity-policy")
    assert identity_change.target.startswith("new inline policy 'sqsdiag-consumer-hoge-sse-customer-2'")
    assert fix.verified


def test_n4_a_deny_on_plain_http_is_met_by_calling_over_https_not_by_removing_it() -> None:
    def tls_only(data: dict[str, Any]) -> None:
        policy = json.loads(data["queues"][0]["attributes"]["Policy"])
        policy["Statement"].append(
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": QUEUE,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
        data["queues"][0]["attributes"]["Policy"] = json.dumps(policy)

    snap = from_json(_world(tls_only), "test")
    query = Query(QUEUE, CONSUMER, parse_action("ReceiveMessage"), context={"aws:securetransport": ("false",)})
    verdict = diagnose(snap, query)
    (fix,) = propose(snap, verdict).fixes
    assert {c.kind for c in fix.changes} == {"request"} and fix.verified


def test_n3_an_endpoint_guard_that_catches_a_service_exempts_services_instead_of_going() -> None:
    def guarded(data: dict[str, Any]) -> None:
        policy = json.loads(data["queues"][0]["attributes"]["Policy"])
        policy["Statement"] = [
            {
                "Sid": "Sns",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": QUEUE,
            },
            {
                "Sid": "OnlyViaVpce",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": QUEUE,
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
            },
        ]
        data["queues"][0]["attributes"]["Policy"] = json.dumps(policy)
        data["queues"][0]["attributes"]["KmsMasterKeyId"] = ""
        data["queues"][0]["attributes"]["SqsManagedSseEnabled"] = "true"

    snap = from_json(_world(guarded), "test")
    verdict = diagnose(snap, Query(QUEUE, "sns.amazonaws.com", parse_action("SendMessage")))
    assert verdict.decision.value == "denied" and verdict.delivery_side
    (fix,) = propose(snap, verdict).fixes
    (change,) = fix.changes
    assert change.kind == "narrow-statement"
    assert change.document["Statement"][1]["Condition"]["BoolIfExists"] == {"aws:PrincipalIsAWSService": "false"}
    assert fix.verified
