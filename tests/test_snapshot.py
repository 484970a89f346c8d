"""The snapshot format: validation with JSON paths, save/load round trip, merging two accounts' halves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from diagnose.snapshot import SnapshotError, from_json, load, merge, save
from diagnose.sqs import parse_action
from diagnose.verdict import Query, diagnose
from tests.helpers import ARTICLE, CONSUMER

CASE2 = ARTICLE / "2-sse-kms-queue-policy-only.json"
QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-customer"


def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CASE2.read_text())
    return data


def test_round_trip_keeps_every_fact(tmp_path: Path) -> None:
    snap = load(CASE2)
    save(snap, tmp_path / "out.json")
    again = load(tmp_path / "out.json")
    assert again.queues == snap.queues and again.keys == snap.keys and again.principals == snap.principals
    assert again.accounts == snap.accounts and again.gaps == snap.gaps


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(schema="other"), "schema"),
        (lambda d: d["queues"][0].pop("attributes"), "queues[0].attributes"),
        (lambda d: d["queues"][0]["attributes"].update(Policy="{oops"), "queues[0].attributes.Policy"),
        (lambda d: d["keys"][0].update(manager="aws"), "keys[0].manager"),
        (lambda d: d["principals"][0].update(type="group"), "principals[0].type"),
        (lambda d: d["principals"][0]["policies"][0].pop("document"), "principals[0].policies[0].document"),
        (lambda d: d["accounts"][0].update(id="1111"), "accounts[0].id"),
        (lambda d: d["accounts"][0].pop("organization"), "accounts[0].organization"),
        (
            lambda d: d.update(gaps=[{"layer": "nope", "resource": "x", "operation": "y", "error": "z"}]),
            "gaps[0].layer",
        ),
        (lambda d: d["queues"][0].update(colour="blue"), "queues[0].colour"),
        (lambda d: d.update(queues={}), "queues"),
    ],
)
def test_errors_name_the_json_path(mutate: Any, path: str) -> None:
    data = _data()
    mutate(data)
    with pytest.raises(SnapshotError) as err:
        from_json(data, "side-a.json")
    assert str(err.value).startswith(f"side-a.json: {path}:"), str(err.value)


def _halves() -> tuple[dict[str, Any], dict[str, Any]]:
    """Account A's half (queue, key, A) and account B's half (the consumer role, B), as each side collects."""
    data = _data()
    a = {
        **data,
        "principals": [],
        "accounts": [data["accounts"][0]],
        "gaps": [
            {
                "layer": "identity-policy",
                "resource": CONSUMER,
                "operation": "iam:GetRole",
                "error": "NoCredentials",
                "account": "222222222222",
            }
        ],
    }
    b = {**data, "queues": [], "keys": [], "accounts": [data["accounts"][1]]}
    return a, b


def test_one_half_alone_is_inconclusive_and_says_what_is_missing() -> None:
    a, _ = _halves()
    verdict = diagnose(from_json(a, "a.json"), Query(QUEUE, CONSUMER, parse_action("ReceiveMessage")))
    # The key policy already denies B (K3), which settles the KMS step even though B's IAM is unknown.
    assert verdict.decision.value == "denied"
    assert any("identity policies of" in u and "NoCredentials" in u for u in verdict.unknowns)


def test_merged_halves_give_the_same_verdict_as_the_whole() -> None:
    a, b = _halves()
    merged = merge([from_json(a, "a.json"), from_json(b, "b.json")])
    assert merged.gaps == ()  # B's half filled A's gap
    whole = diagnose(load(CASE2), Query(QUEUE, CONSUMER, parse_action("ReceiveMessage")))
    halves = diagnose(merged, Query(QUEUE, CONSUMER, parse_action("ReceiveMessage")))
    assert (halves.decision, halves.error, [(x.step, x.block.layer) for x in halves.blocking]) == (
        whole.decision,
        whole.error,
        [(x.step, x.block.layer) for x in whole.blocking],
    )


def test_a_boundary_read_as_none_closes_the_other_halfs_boundary_gap() -> None:
    # Real collect output of the queue owner's half carries a boundary gap beside the identity-policy
    # gap; the consumer's half read the role and found no boundary ("boundary": null, no gap).
    a, b = _halves()
    a["gaps"].append({**a["gaps"][0], "layer": "permissions-boundary"})
    assert all(p.get("boundary") is None for p in b["principals"])
    halves = [from_json(a, "a.json"), from_json(b, "b.json")]
    for order in (halves, halves[::-1]):
        merged = merge(order)
        assert merged.gaps == ()
        assert merge([merged, *order]).gaps == ()  # idempotent
    # A half that could not read the boundary either leaves the gap open.
    b_unread = {**b, "gaps": [{**a["gaps"][1], "error": "AccessDenied"}]}
    left = merge([from_json(a, "a.json"), from_json(b_unread, "b.json")]).gaps
    assert {g.layer for g in left} == {"permissions-boundary"}


def test_merge_fills_unknown_fields_and_rejects_conflicts() -> None:
    data = _data()
    unread = json.loads(json.dumps(data))
    unread["keys"][0]["policy"] = None
    merged = merge([from_json(unread, "x.json"), from_json(data, "y.json")])
    assert merged.keys[0].policy == data["keys"][0]["policy"]
    other = json.loads(json.dumps(data))
    other["keys"][0]["state"] = "Disabled"
    with pytest.raises(SnapshotError, match=r"conflicting facts for key .*: field 'state'"):
        merge([from_json(data, "x.json"), from_json(other, "y.json")])


def test_an_unreadable_queue_is_inconclusive_and_says_who_can_read_it() -> None:
    data = {
        "schema": "sqsdiag/snapshot",
        "version": 1,
        "gaps": [
            {
                "layer": "queue",
                "resource": QUEUE,
                "operation": "sqs:GetQueueAttributes",
                "error": "AccessDenied",
                "account": "111111111111",
                "needs": "sqs:GetQueueAttributes",
            }
        ],
    }
    verdict = diagnose(from_json(data), Query(QUEUE, CONSUMER, parse_action("ReceiveMessage")))
    assert verdict.decision.value == "inconclusive" and verdict.encryption.mode == "unknown"
    assert verdict.unknowns == (
        "sqs:ReceiveMessage: the queue's attributes (sqs:GetQueueAttributes in account 111111111111 failed: "
        "AccessDenied; needs sqs:GetQueueAttributes)",
    )
    assert "ask account 111111111111 to run `sqsdiag collect" in verdict.notes[0]
