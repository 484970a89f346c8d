"""``parse_policy`` parses a document once: reuse by content, never stale, bounded, errors never cached."""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from policy_fixtures import QUEUE, make_request

from diagnose.policy import (
    PolicyError,
    PolicyKind,
    clear_parse_cache,
    evaluate_policies,
    parse_cache_info,
    parse_policy,
)
from diagnose.policy import parse as parse_module
from diagnose.policy.parse import ParseCache


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_parse_cache()
    yield
    clear_parse_cache()


def _queue_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "consumer",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::222222222222:role/consumer"},
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                "Resource": QUEUE,
                "Condition": {"Bool": {"aws:SecureTransport": "true"}},
            },
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": QUEUE,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def _identity(action: str = "sqs:SendMessage") -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [action], "Resource": "*"}]}


def test_same_document_two_origins_own_origins_and_identical_decisions() -> None:
    doc = _queue_policy()
    a = parse_policy(doc, origin="queue policy of orders", kind=PolicyKind.RESOURCE)
    b = parse_policy(copy.deepcopy(doc), origin="snapshot.json: queues[0].attributes.Policy", kind=PolicyKind.RESOURCE)
    assert parse_cache_info().hits == 1
    assert (a.origin, b.origin) == ("queue policy of orders", "snapshot.json: queues[0].attributes.Policy")
    assert a.statements is b.statements  # the parsed body is shared, not copied
    assert (a.kind, a.version, a.id) == (b.kind, b.version, b.id)
    for action, context in (
        ("sqs:ReceiveMessage", {"aws:SecureTransport": "true"}),
        ("sqs:ReceiveMessage", {"aws:SecureTransport": "false"}),
        ("sqs:ReceiveMessage", {}),
        ("sqs:SendMessage", {"aws:SecureTransport": "true"}),
    ):
        req = make_request("session-B", {"action": action, "context": context})
        da, db = evaluate_policies([a], req), evaluate_policies([b], req)
        assert (da.deny, da.allow) == (db.deny, db.allow)
        for ra, rb in zip(
            da.deny_statements + da.allow_statements, db.deny_statements + db.allow_statements, strict=True
        ):
            assert (ra.statement, ra.applies, ra.principal_match, ra.residuals) == (
                rb.statement,
                rb.applies,
                rb.principal_match,
                rb.residuals,
            )
            assert ra.policy is a and rb.policy is b  # evidence names each policy's own origin
            assert ra.evidence.startswith("queue policy of orders ")
            assert rb.evidence.startswith("snapshot.json: ")


def test_a_hit_equals_a_fresh_parse() -> None:
    doc = _queue_policy()
    cached = parse_policy(doc, origin="x", kind=PolicyKind.RESOURCE)
    again = parse_policy(doc, origin="x", kind=PolicyKind.RESOURCE)
    clear_parse_cache()
    fresh = parse_policy(doc, origin="x", kind=PolicyKind.RESOURCE)
    assert again is not cached  # a new Policy each time, as before
    assert cached == again == fresh


def test_text_is_cached_by_its_text() -> None:
    text = json.dumps(_queue_policy())
    a = parse_policy(text, origin="a", kind=PolicyKind.RESOURCE)
    b = parse_policy(text, origin="b", kind=PolicyKind.RESOURCE)
    assert a.statements is b.statements and b.origin == "b"
    assert parse_policy(_queue_policy(), origin="c", kind=PolicyKind.RESOURCE).statements == a.statements


def test_mutating_the_source_after_parsing_gives_the_new_content() -> None:
    doc = _identity("sqs:SendMessage")
    first = parse_policy(doc, origin="p", kind=PolicyKind.IDENTITY)
    doc["Statement"][0]["Action"].append("sqs:ReceiveMessage")  # nested, in place
    second = parse_policy(doc, origin="p", kind=PolicyKind.IDENTITY)
    assert first.statements[0].actions == ("sqs:SendMessage",)  # the first result is untouched
    assert second.statements[0].actions == ("sqs:SendMessage", "sqs:ReceiveMessage")
    req = make_request("session-A", {"action": "sqs:ReceiveMessage"})
    assert evaluate_policies([first], req).allow is False
    assert evaluate_policies([second], req).allow is True

    doc["Statement"][0]["Effect"] = "Deny"
    assert parse_policy(doc, origin="p", kind=PolicyKind.IDENTITY).statements[0].effect == "Deny"
    doc["Statement"][0]["Action"] = 5  # now invalid: must raise, not return the cached valid form
    with pytest.raises(PolicyError, match=r"Statement\[0\]\.Action: Action must be a string or a list"):
        parse_policy(doc, origin="p", kind=PolicyKind.IDENTITY)


def test_condition_order_is_part_of_the_content() -> None:
    def doc(*ops: str) -> dict[str, Any]:
        blocks = {"StringEquals": {"aws:username": "a"}, "Bool": {"aws:SecureTransport": "true"}}
        statement = {"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {o: blocks[o] for o in ops}}
        return {"Version": "2012-10-17", "Statement": [statement]}

    one = parse_policy(doc("StringEquals", "Bool"), origin="p", kind=PolicyKind.IDENTITY)
    two = parse_policy(doc("Bool", "StringEquals"), origin="p", kind=PolicyKind.IDENTITY)
    assert [c.base for c in one.statements[0].conditions] == ["StringEquals", "Bool"]
    assert [c.base for c in two.statements[0].conditions] == ["Bool", "StringEquals"]


@pytest.mark.parametrize(
    ("good", "bad", "path"),
    [
        # what json.dumps would not tell apart, and the parser must
        ({"Action": ["sqs:SendMessage"]}, {"Action": ("sqs:SendMessage",)}, "Statement[0].Action"),
        (
            {"Condition": {"StringEquals": {"1": "x"}}},
            {"Condition": {"StringEquals": {1: "x"}}},
            "Statement[0].Condition.StringEquals.1",
        ),
    ],
)
def test_a_look_alike_of_an_accepted_document_is_still_rejected(
    good: dict[str, Any], bad: dict[str, Any], path: str
) -> None:
    base = {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}
    parse_policy({"Statement": [{**base, **good}]}, origin="p", kind=PolicyKind.IDENTITY)
    with pytest.raises(PolicyError) as err:
        parse_policy({"Statement": [{**base, **bad}]}, origin="p", kind=PolicyKind.IDENTITY)
    assert err.value.path == path


def test_the_kind_is_part_of_the_key() -> None:
    doc = _queue_policy()
    parse_policy(doc, origin="queue", kind=PolicyKind.RESOURCE)
    with pytest.raises(PolicyError, match="Principal is not allowed in a identity policy"):
        parse_policy(doc, origin="identity", kind=PolicyKind.IDENTITY)


def test_errors_are_raised_on_every_parse_and_never_cached() -> None:
    bad = {"Statement": [{"Effect": "allow", "Action": "sqs:*", "Resource": "*"}]}
    for origin in ("first", "second", "third"):
        with pytest.raises(PolicyError) as err:
            parse_policy(bad, origin=origin, kind=PolicyKind.IDENTITY)
        assert str(err.value) == f'{origin}: Statement[0].Effect: Effect must be exactly "Allow" or "Deny", not "allow"'
    for _ in range(2):
        with pytest.raises(PolicyError, match="malformed JSON"):
            parse_policy('{"Statement": [', origin="t", kind=PolicyKind.IDENTITY)
    assert parse_cache_info().entries == 0


def test_the_cache_is_bounded_and_least_recently_used_goes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    small = ParseCache(max_entries=8, max_chars=1_000_000)
    monkeypatch.setattr(parse_module, "_CACHE", small)
    docs = [_identity(f"sqs:Action{i}") for i in range(40)]
    parse_policy(docs[0], origin="p", kind=PolicyKind.IDENTITY)
    for i, doc in enumerate(docs[1:], 1):
        parse_policy(doc, origin="p", kind=PolicyKind.IDENTITY)
        parse_policy(docs[0], origin="p", kind=PolicyKind.IDENTITY)  # keep the first one in use
        assert small.info().entries == min(i + 1, 8)
    before = small.info()
    parse_policy(docs[0], origin="p", kind=PolicyKind.IDENTITY)
    parse_policy(docs[-1], origin="p", kind=PolicyKind.IDENTITY)
    assert small.info().hits == before.hits + 2
    parse_policy(docs[1], origin="p", kind=PolicyKind.IDENTITY)  # evicted long ago: parsed again
    assert small.info().misses == before.misses + 1


def test_the_cache_is_bounded_in_size(monkeypatch: pytest.MonkeyPatch) -> None:
    size = len(json.dumps(_identity("sqs:Action00")))
    small = ParseCache(max_entries=1000, max_chars=5 * size)
    monkeypatch.setattr(parse_module, "_CACHE", small)
    for i in range(50):
        parse_policy(json.dumps(_identity(f"sqs:Action{i:02}")), origin="p", kind=PolicyKind.IDENTITY)
    info = small.info()
    assert info.entries == 5 and info.chars <= info.max_chars
    huge = json.dumps(_identity("sqs:" + "A" * (6 * size)))
    parse_policy(huge, origin="p", kind=PolicyKind.IDENTITY)  # larger than the whole budget: not kept
    assert small.info().entries == 5


def test_default_bounds() -> None:
    info = parse_cache_info()
    assert (info.max_entries, info.max_chars) == (parse_module.CACHE_ENTRIES, parse_module.CACHE_CHARS)
    assert 1000 <= info.max_entries <= 10_000


def test_documents_the_cache_does_not_take_are_parsed_every_time() -> None:
    class Doc(dict[str, Any]):
        pass

    deep: list[Any] = []
    for _ in range(5000):
        deep = [deep]
    for document in (Doc(_identity()), {**_identity(), "Id": deep}):
        for _ in range(2):
            with contextlib.suppress(PolicyError):
                parse_policy(document, origin="p", kind=PolicyKind.IDENTITY)
    assert parse_cache_info().entries == 0


def test_snapshot_load_warms_the_cache_for_the_verdict() -> None:
    from diagnose.snapshot import load
    from diagnose.sqs import parse_action
    from diagnose.verdict import Query, diagnose
    from tests.helpers import ARTICLE, CONSUMER

    snap = load(ARTICLE / "2-sse-kms-queue-policy-only.json")
    loaded = parse_cache_info()
    assert loaded.misses > 0 and loaded.entries == loaded.misses  # every document validated once
    queue = "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-customer"
    diagnose(snap, Query(queue, CONSUMER, parse_action("ReceiveMessage")))
    after = parse_cache_info()
    assert after.hits > loaded.hits
    assert after.misses == loaded.misses  # nothing the snapshot holds is parsed a second time
