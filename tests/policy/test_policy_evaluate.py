"""``evaluate_statement`` / ``evaluate_policies``: agreement, compiled-form caching, evidence."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st
from policy_fixtures import QUEUE, make_caller, make_request

from diagnose.policy import (
    Condition,
    Policy,
    PolicyKind,
    PrincipalMatch,
    PrincipalSet,
    Request,
    RequestContext,
    Statement,
    evaluate_policies,
    evaluate_statement,
    parse_policy,
    tri_or,
)


def test_statements_built_without_parse_are_evaluated() -> None:
    st1 = Statement(index=0, sid="a", effect="Allow", actions=("sqs:Receive*",), resources=(QUEUE,))
    st2 = Statement(
        index=1,
        sid=None,
        effect="Deny",
        actions=("*",),
        principal=PrincipalSet(aws=("222222222222",)),
        conditions=(Condition("Bool", "Bool", None, False, "aws:SecureTransport", ("false",)),),
    )
    policy = Policy(origin="built", kind=PolicyKind.RESOURCE, statements=(st1, st2), version="2012-10-17")
    req = make_request("session-B", {"action": "sqs:ReceiveMessage", "context": {"aws:SecureTransport": "false"}})
    d = evaluate_policies([policy], req)
    # a statement without Principal in a kind that carries one applies to everyone
    assert d.allow is True
    assert d.allow_statements[0].principal_match is PrincipalMatch.WILDCARD
    assert d.deny is True
    assert d.deny_statements[0].principal_match is PrincipalMatch.ACCOUNT
    assert d.deny_statements[0].evidence == "built Statement[1]"


def test_replaced_statement_is_recompiled() -> None:
    policy = parse_policy(
        {"Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]},
        origin="p",
        kind=PolicyKind.IDENTITY,
    )
    req = make_request("session-A", {"action": "sqs:ReceiveMessage"})
    assert evaluate_policies([policy], req).allow is False
    changed = dataclasses.replace(policy.statements[0], actions=("sqs:ReceiveMessage",))
    fixed = dataclasses.replace(policy, statements=(changed,))
    assert evaluate_statement(fixed, changed, req).applies is True
    assert evaluate_policies([fixed], req).allow is True
    assert evaluate_policies([policy], req).allow is False
    # the compiled form never leaks into equality
    assert fixed == dataclasses.replace(policy, statements=(changed,))


def test_request_context_is_derived_once_and_reused() -> None:
    policy = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sqs:*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:PrincipalTag/team": "red"}},
                }
            ],
        },
        origin="p",
        kind=PolicyKind.IDENTITY,
    )
    req = make_request("session-A")
    assert evaluate_policies([policy], req).allow is True
    assert evaluate_policies([policy], req).allow is True
    other = Request(make_caller({"preset": "session-A", "tags": {"team": "blue"}}), req.action, req.resource)
    assert evaluate_policies([policy], other).allow is False


def test_evidence_names_sid() -> None:
    policy = parse_policy(
        {"Statement": [{"Sid": "AllowAll", "Effect": "Allow", "Action": "*", "Resource": "*"}]},
        origin="identity policy app-access",
        kind=PolicyKind.IDENTITY,
    )
    d = evaluate_policies([policy], make_request())
    assert [r.evidence for r in d.allow_statements] == ["identity policy app-access Sid 'AllowAll'"]


ACTIONS = ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "kms:Decrypt"]
RESOURCES = [QUEUE, "arn:aws:sqs:eu-west-1:111111111111:orders", "arn:aws:sqs:us-east-1:222222222222:jobs"]
statement_strategy = st.fixed_dictionaries(
    {
        "Effect": st.sampled_from(["Allow", "Deny"]),
        "Action": st.lists(st.sampled_from([*ACTIONS, "sqs:*", "sqs:Receive*", "*", "kms:*"]), min_size=1, max_size=2),
        "Resource": st.sampled_from(["*", QUEUE, "arn:aws:sqs:*:111111111111:*", "arn:aws:sqs:*:*:jobs"]),
        "Principal": st.sampled_from(
            ["*", {"AWS": "111111111111"}, {"AWS": "arn:aws:iam::222222222222:role/consumer"}]
        ),
    },
    optional={
        "Condition": st.sampled_from(
            [
                {"Bool": {"aws:SecureTransport": "true"}},
                {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
                {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-aaaa"}},
                {"ForAnyValue:StringEquals": {"aws:CalledVia": "sqs.amazonaws.com"}},
            ]
        )
    },
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(statement_strategy, min_size=1, max_size=6),
    st.sampled_from(ACTIONS),
    st.sampled_from(RESOURCES),
    st.sampled_from(["session-A", "session-B", "user-A", "sns"]),
    st.sampled_from(
        [{}, {"aws:securetransport": "true"}, {"aws:sourcevpce": "vpce-1", "aws:securetransport": "false"}]
    ),
)
def test_document_decision_is_or_of_statement_results(
    statements: list[dict[str, object]], action: str, resource: str, caller: str, values: dict[str, str]
) -> None:
    policy = parse_policy({"Version": "2012-10-17", "Statement": statements}, origin="p", kind=PolicyKind.RESOURCE)
    req = make_request(caller, {"action": action, "resource": resource, "context": values})
    results = [evaluate_statement(policy, s, req) for s in policy.statements]
    d = evaluate_policies([policy, policy], req)
    assert d.deny == tri_or(*(r.applies for r in results if r.statement.effect == "Deny"))
    assert d.allow == tri_or(*(r.applies for r in results if r.statement.effect == "Allow"))
    expected_allow = [r for r in results if r.statement.effect == "Allow" and r.applies is not False]
    assert list(d.allow_statements) == expected_allow * 2
    # a second evaluation (cached index) gives the same decision
    assert evaluate_policies([policy, policy], req) == d


def test_closed_context_removes_all_unknowns() -> None:
    policy = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sqs:*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
                }
            ],
        },
        origin="p",
        kind=PolicyKind.IDENTITY,
    )
    open_req = Request(make_caller("session-B"), "sqs:SendMessage", QUEUE)
    closed_req = Request(make_caller("session-B"), "sqs:SendMessage", QUEUE, RequestContext(closed=True))
    assert evaluate_policies([policy], open_req).allow is None
    assert evaluate_policies([policy], closed_req).allow is False
