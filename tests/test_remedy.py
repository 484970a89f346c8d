"""The one remedy engine: why-denied and pre-flight propose the same statements for the same share; two
changes to one document compose; a deny that blocks two steps is one change, proven, never a crash."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnose.authz import Layer
from diagnose.docref import IdentityPolicy, OrgPolicy, PolicyRef, QueuePolicy
from diagnose.preflight import preflight
from diagnose.remedy import Change, ChangeKind, ChangeSet, propose
from diagnose.remedy.apply import apply_all, document_at, normalised
from diagnose.remedy.model import AddStatement, Edit, NarrowStatement, RemoveStatement
from diagnose.render.changes import change_json
from diagnose.snapshot import Snapshot, from_json, load, to_json
from diagnose.sqs import parse_action
from diagnose.subject import subject_of
from diagnose.verdict import Query, diagnose
from tests.helpers import ARTICLE, CONSUMER, ROOT

QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-customer"
FULL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
RCP_FULL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}


def _proposed(change_set: ChangeSet) -> list[str]:
    """What an administrator would apply: layer, account, statement or document (not the prose)."""
    out = []
    for c in change_set.changes:
        data = change_json(c)
        out.append(json.dumps({k: data.get(k) for k in ("layer", "account", "kind", "statement", "document")}))
    return sorted(out)


# --------------------------------------------------------------------------- one share, one answer


def _shares() -> list[tuple[str, Path | dict[str, Any], str, str, str, str | None]]:
    """(id, snapshot, queue, role, principal, source ARN) for every share that names one principal or service."""
    out: list[tuple[str, Path | dict[str, Any], str, str, str, str | None]] = []
    for path in sorted((ROOT / "tests" / "cases" / "preflight").glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        args = case["args"]
        who = args.get("consumer") or args.get("producer")
        if who.isdigit() or who.endswith(":root") or case["expect"]["status"] != "changes-needed":
            continue  # an account is a hypothetical role of it; why-denied asks about one principal
        snapshot = ROOT / case["snapshot_file"] if "snapshot_file" in case else case["snapshot"]
        role = "consumer" if "consumer" in args else "producer"
        out.append((case["id"], snapshot, args["queue"], role, who, args.get("source_arn")))
    for path in sorted(ARTICLE.glob("[0-9]-*.json")):
        if ".fix" in path.name:
            continue
        snap = load(path)
        for queue in snap.queues:
            out.append((f"{path.stem}/{queue.name}/recv", path, queue.arn, "consumer", CONSUMER, None))
            out.append((f"{path.stem}/{queue.name}/send", path, queue.arn, "producer", CONSUMER, None))
    return out


SHARES = _shares()


def _snapshot(source: Path | dict[str, Any]) -> Snapshot:
    return load(source) if isinstance(source, Path) else from_json(copy.deepcopy(source), "case")


@pytest.mark.parametrize("share", SHARES, ids=[s[0] for s in SHARES])
def test_why_denied_and_preflight_propose_the_same_statements_for_a_one_action_share(
    share: tuple[str, Path | dict[str, Any], str, str, str, str | None],
) -> None:
    _, source, queue_text, role, who, source_arn = share
    snap = _snapshot(source)
    queue = next(q for q in snap.queues if q.arn == queue_text or q.url == queue_text or q.name in queue_text)
    subject = subject_of(who, "consumer" if role == "consumer" else "producer", source_arn)
    actions = ("ReceiveMessage",) if role == "consumer" else ("SendMessage",)
    compared = 0
    for action in actions:
        result = preflight(snap, queue.arn, subject, (parse_action(action),))
        verdict = diagnose(snap, Query(queue.arn, subject.evaluated_as, parse_action(action), subject.context))
        fixes = propose(snap, verdict)
        if result.status == "works":
            assert verdict.decision.value == "allowed" and fixes.fixes == ()
            continue
        sets = [s for s in (result.change_set, *result.alternatives) if s is not None and s.verified]
        assert [s.title for s in sets] == [f.title for f in fixes.fixes]
        for planned, fix in zip(sets, fixes.fixes, strict=True):
            assert _proposed(planned) == _proposed(fix), planned.title
            compared += 1
    if compared == 0:
        pytest.skip("works as is: nothing to compare")


def test_the_article_consumer_gets_the_least_privilege_statements_from_both_commands() -> None:
    """The case the issue named: the same Sid, policy name and kms:ViaService condition from both."""
    snap = load(ARTICLE / "2-sse-kms-queue-policy-only.json")
    verdict = diagnose(snap, Query(QUEUE, CONSUMER, parse_action("ReceiveMessage")))
    (fix,) = propose(snap, verdict).fixes
    key_change = next(c for c in fix.changes if c.layer is Layer.KEY_POLICY)
    identity = next(c for c in fix.changes if c.layer is Layer.IDENTITY)
    assert key_change.statement is not None and identity.document is not None
    assert key_change.statement["Sid"] == "SqsdiagConsumerUseKeyViaSqs"
    assert key_change.statement["Condition"] == {"StringEquals": {"kms:ViaService": "sqs.ap-northeast-1.amazonaws.com"}}
    assert identity.target == f"new inline policy 'sqsdiag-consumer-hoge-sse-customer' on {CONSUMER}"
    assert identity.document["Statement"][0]["Condition"] == key_change.statement["Condition"]
    result = preflight(snap, QUEUE, subject_of(CONSUMER, "consumer", None), (parse_action("ReceiveMessage"),))
    assert result.change_set is not None and _proposed(result.change_set) == _proposed(fix)


# --------------------------------------------------------------------------- one deny, two steps


def _rcp_world(statements: list[dict[str, Any]]) -> Snapshot:
    data: dict[str, Any] = json.loads((ARTICLE / "3-sse-kms-key-shared.json").read_text(encoding="utf-8"))
    data["accounts"][0] = {
        "id": "111111111111",
        "organization": {"id": "o-aaaa1111", "management_account": "999999999999"},
        "path": [
            {
                "id": "r-root",
                "type": "ROOT",
                "scps": [{"name": "FullAWSAccess", "document": FULL}],
                "rcps": [
                    {"name": "RCPFullAWSAccess", "document": RCP_FULL},
                    {"name": "perimeter", "document": {"Version": "2012-10-17", "Statement": statements}},
                ],
            },
            {
                "id": "111111111111",
                "type": "ACCOUNT",
                "scps": [{"name": "FullAWSAccess", "document": FULL}],
                "rcps": [],
            },
        ],
    }
    return from_json(data, "rcp world")


def test_one_rcp_statement_blocking_the_sqs_step_and_the_unreached_kms_step_gets_a_verified_fix() -> None:
    # Regression: the SQS step asked to remove the statement (detaching the one-statement RCP), the KMS step
    # to narrow the same statement; the second edit indexed the detached policy and the command died.
    perimeter = {
        "Sid": "OnlyOurOrg",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["sqs:*", "kms:*"],
        "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-aaaa1111"}},
    }
    snap = _rcp_world([perimeter])
    verdict = diagnose(snap, Query(QUEUE, CONSUMER, parse_action("ReceiveMessage")))
    assert [(b.step, b.block.layer, b.block.explicit, b.reached) for b in verdict.blocking] == [
        ("sqs:ReceiveMessage", Layer.RCP, True, True),
        ("kms:Decrypt", Layer.RCP, True, False),
    ]
    remedy = propose(snap, verdict)
    (fix,) = remedy.fixes
    (change,) = fix.changes  # one statement, one change: removing it serves both steps
    assert (change.layer, change.kind, change.account) == (
        Layer.RCP,
        ChangeKind.REMOVE_DOCUMENT,
        "the organization's management account",
    )
    assert change.ref == OrgPolicy(Layer.RCP, "111111111111", 0, "perimeter")
    assert fix.verified and fix.decision_after == "allowed"


def test_a_deny_kept_for_other_statements_is_removed_alone_and_the_rest_of_its_policy_stays() -> None:
    keep = {"Sid": "NoDeleteQueue", "Effect": "Deny", "Principal": "*", "Action": "sqs:DeleteQueue", "Resource": "*"}
    perimeter = {
        "Sid": "OnlyOurOrg",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["sqs:*", "kms:*"],
        "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-aaaa1111"}},
    }
    snap = _rcp_world([perimeter, keep])
    verdict = diagnose(snap, Query(QUEUE, CONSUMER, parse_action("ReceiveMessage")))
    (fix,) = propose(snap, verdict).fixes
    (change,) = fix.changes
    assert change.kind is ChangeKind.REMOVE_STATEMENT and change.document == {
        "Version": "2012-10-17",
        "Statement": [keep],
    }
    assert fix.verified


# --------------------------------------------------------------------------- composition


_STATEMENTS = st.sampled_from(
    [
        {"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": QUEUE},
        {"Sid": "B", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": QUEUE},
        {
            "Sid": "C",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:ReceiveMessage",
            "Resource": QUEUE,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {"Sid": "D", "Effect": "Allow", "Principal": {"AWS": CONSUMER}, "Action": "sqs:*", "Resource": QUEUE},
    ]
)
_NEW = {"Sid": "New", "Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": QUEUE}


def _edit(kind: str, statement: dict[str, Any], identity: bool) -> Edit:
    if kind == "add":
        return AddStatement(dict(_NEW) if identity else {**_NEW, "Principal": {"AWS": CONSUMER}})
    if kind == "remove":
        return RemoveStatement(statement)
    return NarrowStatement(statement, "BoolIfExists", "aws:ViaAWSService", "false")


def _world_with(ref: PolicyRef, statements: list[dict[str, Any]]) -> Snapshot:
    data: dict[str, Any] = json.loads((ARTICLE / "3-sse-kms-key-shared.json").read_text(encoding="utf-8"))
    document = {"Version": "2012-10-17", "Statement": statements}
    if isinstance(ref, QueuePolicy):
        data["queues"][0]["attributes"]["Policy"] = json.dumps(document)
    else:  # an identity policy: no Principal element there
        plain = [{k: v for k, v in s.items() if k != "Principal"} for s in statements]
        data["principals"][0]["policies"].append({"name": "extra", "document": {**document, "Statement": plain}})
    return from_json(data, "composition")


@settings(max_examples=60, deadline=None)
@given(
    statements=st.lists(_STATEMENTS, min_size=1, max_size=4, unique_by=lambda s: s["Sid"]),
    kinds=st.tuples(*[st.sampled_from(["add", "remove", "narrow"])] * 2),
    picks=st.tuples(st.integers(0, 3), st.integers(0, 3)),
    identity=st.booleans(),
)
def test_any_two_changes_to_one_document_in_one_round_give_a_valid_world(
    statements: list[dict[str, Any]], kinds: tuple[str, str], picks: tuple[int, int], identity: bool
) -> None:
    ref: PolicyRef = IdentityPolicy(CONSUMER, "extra") if identity else QueuePolicy(QUEUE)
    snap = _world_with(ref, statements)
    query = Query(QUEUE, CONSUMER, parse_action("ReceiveMessage"))
    current = normalised(document_at(snap, query, ref))["Statement"]
    changes = []
    for kind, pick in zip(kinds, picks, strict=True):
        statement = current[pick % len(current)]
        edit = _edit(kind, statement, identity)
        layer = Layer.IDENTITY if identity else Layer.RESOURCE
        changes.append(
            Change(
                layer=layer,
                account="111111111111",
                target="t",
                kind=ChangeKind.ADD_STATEMENT,
                description="d",
                ref=ref,
                edit=edit,
            )
        )
    after, after_query = apply_all((snap, query), changes)
    # Valid: the changed world survives the snapshot format's own validation, and is decided without error.
    reloaded = from_json(json.loads(json.dumps(to_json(after))), "after")
    diagnose(reloaded, after_query)
    doc = document_at(after, after_query, ref)
    left = normalised(doc)["Statement"] if doc is not None else []
    assert left or doc is None  # AWS rejects an empty policy: the last statement removed removes the document
    for kind, change in zip(kinds, changes, strict=True):
        edit = change.edit
        if kind == "remove":
            assert isinstance(edit, RemoveStatement) and edit.statement not in left
        if kind == "add":
            # An add lands, except on an identity policy an earlier change removed (a queue policy is
            # created again: SetQueueAttributes with a new Policy; an inline policy is not re-attached).
            gone = identity and doc is None
            assert gone or sum(1 for s in left if s.get("Sid") == "New") >= 1
    originals = [s for s in current if all(s != getattr(c.edit, "statement", None) for c in changes)]
    assert all(s in left for s in originals)  # untouched statements stay, whatever the order of the edits
