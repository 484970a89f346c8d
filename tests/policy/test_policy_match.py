"""Action, resource, ARN and principal matching, with property tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from policy_fixtures import make_caller

from diagnose.policy import (
    PrincipalMatch,
    PrincipalSet,
    match_action,
    match_arn,
    match_principal,
    match_resource,
    not_principal_applies,
)

names = st.text(alphabet=st.characters(blacklist_characters="*?", blacklist_categories=["Cs"]), max_size=20)
action_names = st.from_regex(r"[a-z0-9-]{1,10}:[A-Za-z0-9]{1,20}", fullmatch=True)


@given(action_names)
def test_literal_action_matches_itself_in_any_case(action: str) -> None:
    assert match_action(action, action)
    assert match_action(action.upper(), action.lower())
    assert match_action(action.lower(), action.swapcase())


@given(action_names, action_names)
def test_distinct_literal_actions_do_not_match(a: str, b: str) -> None:
    assert match_action(a, b) == (a.lower() == b.lower())


@given(names)
def test_star_matches_everything(s: str) -> None:
    assert match_action("*", s)
    assert match_resource("*", s)


@given(names, st.integers(min_value=0, max_value=20))
def test_prefix_star_matches_extensions(s: str, cut: int) -> None:
    cut = min(cut, len(s))
    assert match_resource(s[:cut] + "*", s)
    assert match_resource("*" + s[cut:], s)
    assert match_resource(s[:cut] + "*" + s[cut:], s)


@given(names)
def test_question_marks_match_same_length_only(s: str) -> None:
    assert match_resource("?" * len(s), s)
    assert not match_resource("?" * (len(s) + 1), s)


@given(names, names)
def test_resource_literal_equality_is_case_sensitive(a: str, b: str) -> None:
    assert match_resource(a, b) == (a == b)


@given(st.from_regex(r"[a-z]{1,5}:[a-z0-9-]{0,9}:[0-9]{0,12}:[a-z/._-]{1,20}", fullmatch=True))
def test_arn_star_per_field(tail: str) -> None:
    arn = "arn:aws:" + tail
    assert match_arn("arn:aws:*:*:*:*", arn)
    assert match_arn(arn, arn)
    # a single star never spans the colons of the first five fields
    assert not match_arn("arn:aws:*", arn)


def test_regex_metacharacters_are_literal() -> None:
    assert match_resource("arn:aws:s3:::b.c/(x)+[y]", "arn:aws:s3:::b.c/(x)+[y]")
    assert not match_resource("arn:aws:s3:::b.c", "arn:aws:s3:::bxc")
    assert match_action("sqs:Get*", "SQS:GetQueueUrl")
    assert not match_action("sqs:Get*", "sqs:ReceiveMessage")
    assert match_action("sqs:*Message?", "sqs:SendMessages")


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("arn:aws:sqs:*:111111111111:orders", "arn:aws:sqs:eu-west-1:111111111111:orders", True),
        ("arn:aws:sqs:*:111111111111:orders", "arn:aws:sqs:eu-west-1:111111111111:Orders", False),
        ("arn:aws:sqs:us-east-1:*", "arn:aws:sqs:us-east-1:111111111111:orders", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b", True),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket2/a", False),
    ],
)
def test_resource_examples(pattern: str, arn: str, expected: bool) -> None:
    assert match_resource(pattern, arn) is expected


def test_c5_arn_example() -> None:
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert not match_arn(pattern, value)
    assert match_resource(pattern, value)  # a whole-string glob (StringLike) matches it


# --------------------------------------------------------------------------- principals

A = "111111111111"


def test_principal_preference_order() -> None:
    session = make_caller("session-A")
    full = PrincipalSet(
        wildcard=True,
        aws=(A, f"arn:aws:iam::{A}:role/team/app", "AROAAPPROLEEXAMPLE01", f"arn:aws:sts::{A}:assumed-role/app/sess"),
    )
    assert match_principal(full, session) is PrincipalMatch.SESSION
    steps = [
        (f"arn:aws:sts::{A}:assumed-role/app/sess", PrincipalMatch.UNIQUE_ID),
        ("AROAAPPROLEEXAMPLE01", PrincipalMatch.ROLE),
        (f"arn:aws:iam::{A}:role/team/app", PrincipalMatch.ACCOUNT),
        (A, PrincipalMatch.WILDCARD),
    ]
    aws = list(full.aws)
    for removed, expected in steps:
        aws.remove(removed)
        assert match_principal(PrincipalSet(wildcard=True, aws=tuple(aws)), session) is expected
    assert match_principal(PrincipalSet(), session) is None


def test_unique_id_unknown_is_no_match() -> None:
    caller = make_caller("session-B")
    assert match_principal(PrincipalSet(aws=("AROACONSUMEREXAMPLE2",)), caller) is None


def test_root_arn_and_account_id_equivalent() -> None:
    for caller in ("session-A", "user-A", "root-A", "federated-A"):
        c = make_caller(caller)
        assert match_principal(PrincipalSet(aws=(A,)), c) is PrincipalMatch.ACCOUNT
        assert match_principal(PrincipalSet(aws=(f"arn:aws:iam::{A}:root",)), c) is PrincipalMatch.ACCOUNT


@pytest.mark.parametrize("caller", ["sns", "anonymous"])
def test_account_forms_never_match_services_or_anonymous(caller: str) -> None:
    assert match_principal(PrincipalSet(aws=(A, f"arn:aws:iam::{A}:root")), make_caller(caller)) is None
    assert match_principal(PrincipalSet(wildcard=True), make_caller(caller)) is PrincipalMatch.WILDCARD


def test_service_name_compared_case_insensitively() -> None:
    assert match_principal(PrincipalSet(service=("SNS.amazonaws.com",)), make_caller("sns")) is PrincipalMatch.SERVICE


@pytest.mark.parametrize(
    ("listed", "deny_applies", "allow_applies"),
    [
        ((), True, True),
        ((A,), True, False),
        ((f"arn:aws:iam::{A}:role/team/app",), True, False),
        ((f"arn:aws:iam::{A}:role/team/app", A), True, False),
        ((f"arn:aws:sts::{A}:assumed-role/app/sess", f"arn:aws:iam::{A}:role/team/app", A), False, False),
        ((f"arn:aws:sts::{A}:assumed-role/app/sess", "AROAAPPROLEEXAMPLE01", f"arn:aws:iam::{A}:root"), False, False),
    ],
)
def test_not_principal_chain(listed: tuple[str, ...], deny_applies: bool, allow_applies: bool) -> None:
    session = make_caller("session-A")
    pset = PrincipalSet(aws=listed)
    assert not_principal_applies(pset, session, "Deny") is deny_applies
    assert not_principal_applies(pset, session, "Allow") is allow_applies


def test_not_principal_wildcard_excepts_everyone() -> None:
    for caller in ("session-A", "anonymous", "sns"):
        assert not not_principal_applies(PrincipalSet(wildcard=True), make_caller(caller), "Deny")


def test_principal_arns_compare_exactly() -> None:
    caller = make_caller({"preset": "session-A", "role_arn": f"arn:aws:iam::{A}:role/team/app-extra"})
    assert match_principal(PrincipalSet(aws=(f"arn:aws:iam::{A}:role/team/app",)), caller) is None
    assert match_principal(PrincipalSet(aws=(f"arn:aws:iam::{A}:role/team/app-extra",)), caller) is PrincipalMatch.ROLE


action_patterns = st.lists(
    st.sampled_from(
        ["sqs:*", "sqs:Send*", "SQS:ReceiveMessage", "kms:Decrypt", "*:Get?", "iam:*AccessKey*", "s3:Get*"]
    ),
    min_size=1,
    max_size=4,
)


@given(action_patterns, st.sampled_from(["sqs:SendMessage", "sqs:receivemessage", "KMS:Decrypt", "ec2:GetX", "s3:Put"]))
def test_pattern_union_is_any_of_the_patterns(patterns: list[str], action: str) -> None:
    from diagnose.policy.match import glob_union

    union = glob_union(tuple(patterns), ignore_case=True)
    assert union(action.lower()) is any(match_action(p, action) for p in patterns)
