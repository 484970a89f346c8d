"""Parsing: accepted forms, rejected forms with their JSON paths, size and unicode."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnose.policy import Condition, PolicyError, PolicyKind, PrincipalSet, parse_policy


def _doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    doc: dict[str, Any] = {"Statement": list(statements)}
    if version:
        doc["Version"] = version
    return doc


ALLOW = {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}


def _error(document: Any, kind: PolicyKind = PolicyKind.IDENTITY) -> PolicyError:
    with pytest.raises(PolicyError) as err:
        parse_policy(document, origin="doc", kind=kind)
    return err.value


# --------------------------------------------------------------------------- accepted


def test_json_string_and_single_statement_object() -> None:
    text = json.dumps({"Version": "2008-10-17", "Id": "x", "Statement": {"Sid": "one", **ALLOW}})
    p = parse_policy(text, origin="doc", kind=PolicyKind.IDENTITY)
    assert p.version == "2008-10-17"
    assert p.id == "x"
    assert len(p.statements) == 1
    s = p.statements[0]
    assert (s.sid, s.effect, s.actions, s.resources, s.index) == ("one", "Allow", ("sqs:*",), ("*",), 0)
    assert s.label == "Sid 'one'"


def test_version_absent_and_lists() -> None:
    p = parse_policy(
        {"Statement": [{"Effect": "Deny", "NotAction": ["sqs:A", "sqs:B"], "NotResource": ["arn:aws:sqs:*:*:x"]}]},
        origin="doc",
        kind=PolicyKind.SCP,
    )
    s = p.statements[0]
    assert p.version is None
    assert s.not_actions == ("sqs:A", "sqs:B")
    assert s.not_resources == ("arn:aws:sqs:*:*:x",)
    assert s.actions is None and s.resources is None
    assert s.label == "Statement[0]"


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ("*", PrincipalSet(wildcard=True)),
        ({"AWS": "*"}, PrincipalSet(wildcard=True)),
        ({"AWS": "123456789012"}, PrincipalSet(aws=("123456789012",))),
        (
            {"AWS": ["123456789012", "arn:aws:iam::123456789012:root"]},
            PrincipalSet(aws=("123456789012", "arn:aws:iam::123456789012:root")),
        ),
        (
            {"AWS": "arn:aws:iam::123456789012:role/a/b/Role-1"},
            PrincipalSet(aws=("arn:aws:iam::123456789012:role/a/b/Role-1",)),
        ),
        (
            {"AWS": "arn:aws:iam::123456789012:user/Bob.smith@x"},
            PrincipalSet(aws=("arn:aws:iam::123456789012:user/Bob.smith@x",)),
        ),
        (
            {"AWS": "arn:aws:sts::123456789012:assumed-role/R/sess-1"},
            PrincipalSet(aws=("arn:aws:sts::123456789012:assumed-role/R/sess-1",)),
        ),
        (
            {"AWS": "arn:aws:sts::123456789012:federated-user/bob"},
            PrincipalSet(aws=("arn:aws:sts::123456789012:federated-user/bob",)),
        ),
        ({"AWS": "arn:aws-cn:iam::123456789012:root"}, PrincipalSet(aws=("arn:aws-cn:iam::123456789012:root",))),
        (
            {"AWS": ["AROAEXAMPLEID123456", "AIDAEXAMPLEID123456"]},
            PrincipalSet(aws=("AROAEXAMPLEID123456", "AIDAEXAMPLEID123456")),
        ),
        ({"Service": "sns.amazonaws.com"}, PrincipalSet(service=("sns.amazonaws.com",))),
        (
            {"Service": ["sns.amazonaws.com", "s3.amazonaws.com"]},
            PrincipalSet(service=("sns.amazonaws.com", "s3.amazonaws.com")),
        ),
        ({"Federated": "cognito-identity.amazonaws.com"}, PrincipalSet(federated=("cognito-identity.amazonaws.com",))),
        (
            {"CanonicalUser": "79a59df900b949e55d96a1e698fbace"},
            PrincipalSet(canonical_user=("79a59df900b949e55d96a1e698fbace",)),
        ),
        ({"AWS": ["*", "123456789012"]}, PrincipalSet(wildcard=True, aws=("123456789012",))),
    ],
)
def test_principal_forms(principal: Any, expected: PrincipalSet) -> None:
    p = parse_policy(
        _doc({"Effect": "Allow", "Principal": principal, "Action": "sqs:*"}), origin="q", kind=PolicyKind.RESOURCE
    )
    assert p.statements[0].principal == expected


def test_condition_values_normalised() -> None:
    p = parse_policy(
        _doc(
            {
                **ALLOW,
                "Condition": {
                    "Bool": {"aws:SecureTransport": True},
                    "NumericLessThan": {"x:n": [5, 2.5]},
                    "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": "a*"},
                },
            }
        ),
        origin="doc",
        kind=PolicyKind.IDENTITY,
    )
    conds = p.statements[0].conditions
    assert conds[0] == Condition("Bool", "Bool", None, False, "aws:SecureTransport", ("true",))
    assert conds[1].values == ("5", "2.5")
    assert conds[2] == Condition(
        "ForAnyValue:StringLikeIfExists", "StringLike", "ForAnyValue", True, "aws:TagKeys", ("a*",)
    )


@pytest.mark.parametrize(
    "operator",
    [
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "Null",
    ],
)
def test_every_operator_accepted_with_if_exists_and_qualifiers(operator: str) -> None:
    value = {
        "Numeric": "1",
        "Date": "2020-01-01T00:00:00Z",
        "Bool": "true",
        "Null": "true",
        "IpAddress": "10.0.0.0/8",
        "NotIpAddress": "10.0.0.0/8",
        "Binary": "QQ==",
    }
    v = next((val for prefix, val in value.items() if operator.startswith(prefix)), "x")
    forms = [operator, f"ForAnyValue:{operator}", f"ForAllValues:{operator}"]
    if operator != "Null":
        forms.append(f"{operator}IfExists")
    for form in forms:
        p = parse_policy(_doc({**ALLOW, "Condition": {form: {"k:k": v}}}), origin="d", kind=PolicyKind.IDENTITY)
        assert p.statements[0].conditions[0].base == operator


def test_unicode_document() -> None:
    text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "日本語のステートメント",
                    **ALLOW,
                    "Condition": {"StringEquals": {"aws:ResourceTag/名前": "キュー✓"}},
                }
            ],
        },
        ensure_ascii=False,
    )
    p = parse_policy(text, origin="キューのポリシー", kind=PolicyKind.IDENTITY)
    assert p.statements[0].sid == "日本語のステートメント"
    assert p.statements[0].conditions[0].values == ("キュー✓",)
    err = _error(text.replace('"Allow"', '"許可"'))
    assert err.path == "Statement[0].Effect"
    assert "許可" in str(err)


def test_five_thousand_statements_parse() -> None:
    statements = [
        {
            "Sid": f"S{i}",
            "Effect": "Allow" if i % 3 else "Deny",
            "Action": ["sqs:SendMessage", f"sqs:Get*{i % 7}"],
            "Resource": f"arn:aws:sqs:*:111111111111:queue-{i}-*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": f"t{i}"}, "Bool": {"aws:SecureTransport": "true"}},
        }
        for i in range(5000)
    ]
    text = json.dumps(_doc(*statements))
    p = parse_policy(text, origin="big", kind=PolicyKind.IDENTITY)  # its speed: benchmarks/engine_policy.py
    assert len(p.statements) == 5000
    assert p.statements[4999].sid == "S4999"


# --------------------------------------------------------------------------- rejected


def test_malformed_json_names_position() -> None:
    err = _error('{"Statement": [\n  {"Effect": "Allow",]\n}')
    assert err.path == ""
    assert "line 2" in err.message and "column" in err.message
    assert str(err).startswith("doc: malformed JSON")


@pytest.mark.parametrize(
    "text", ["", "   ", "[1, 2]", "null", "42", '"Statement"', "NaN", '{"Version": NaN}', "[" * 5000]
)
def test_not_a_document(text: str) -> None:
    err = _error(text)
    assert err.origin == "doc"
    assert err.path in ("", "Version")


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"Statement": "Allow everything"}, "Statement"),
        ({"Statement": [ALLOW, "x"]}, "Statement[1]"),
        ({"Statement": [{**ALLOW, "Sid": 3}]}, "Statement[0].Sid"),
        ({"Statement": [{**ALLOW, "Effect": True}]}, "Statement[0].Effect"),
        ({"Statement": [{**ALLOW, "Effect": " Allow"}]}, "Statement[0].Effect"),
        ({"Statement": [{**ALLOW, "Action": []}]}, "Statement[0].Action"),
        ({"Statement": [{**ALLOW, "Action": 5}]}, "Statement[0].Action"),
        ({"Statement": [{**ALLOW, "Action": ["sqs:A", 5]}]}, "Statement[0].Action[1]"),
        ({"Statement": [{**ALLOW, "Action": ""}]}, "Statement[0].Action"),
        ({"Statement": [{**ALLOW, "Action": "sqs:"}]}, "Statement[0].Action"),
        ({"Statement": [{**ALLOW, "Resource": "queue-1"}]}, "Statement[0].Resource"),
        ({"Statement": [{**ALLOW, "Resource": ["*", None]}]}, "Statement[0].Resource[1]"),
        ({"Statement": [{**ALLOW, "Condition": "none"}]}, "Statement[0].Condition"),
        ({"Statement": [{**ALLOW, "Condition": {"StringEquals": {"k": []}}}]}, "Statement[0].Condition.StringEquals.k"),
        (
            {"Statement": [{**ALLOW, "Condition": {"StringEquals": {"k": None}}}]},
            "Statement[0].Condition.StringEquals.k",
        ),
        ({"Statement": [{**ALLOW, "Condition": {"StringEquals": {"": "v"}}}]}, "Statement[0].Condition.StringEquals."),
        ({"Statement": [{**ALLOW, "Condition": {"IfExists": {"k": "v"}}}]}, "Statement[0].Condition.IfExists"),
        (
            {"Statement": [{**ALLOW, "Condition": {"StringEquals:ForAnyValue": {"k": "v"}}}]},
            "Statement[0].Condition.StringEquals:ForAnyValue",
        ),
        ({"Id": 7, "Statement": [ALLOW]}, "Id"),
        ({"Version": 2012, "Statement": [ALLOW]}, "Version"),
    ],
)
def test_rejections_name_the_path(document: dict[str, Any], path: str) -> None:
    assert _error(document).path == path


def test_condition_path_in_third_statement() -> None:
    doc = _doc(ALLOW, ALLOW, {**ALLOW, "Condition": {"StringEquals": "vpce-1"}})
    err = _error(doc)
    assert err.path == "Statement[2].Condition.StringEquals"
    assert str(err) == f"doc: Statement[2].Condition.StringEquals: {err.message}"


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": "arn:aws:iam::111111111111:role/*"},
        {"AWS": "arn:aws:iam::111111111111:user/dev-?"},
        {"AWS": "arn:aws:iam::*:root"},
        {"AWS": "1111111111*"},
        {"Service": "*.amazonaws.com"},
        {"AWS": "arn:aws:iam::111111111111:role"},
        {"AWS": "arn:aws:sts::111111111111:assumed-role/OnlyRole"},
        {"AWS": "arn:aws:s3:::bucket"},
        {"AWS": "ASIAEXAMPLEKEY12345"},
        {"AWS": []},
        {"AWS": 111111111111},
        {},
        ["*"],
    ],
)
def test_invalid_principals(principal: Any) -> None:
    err = _error(_doc({"Effect": "Allow", "Principal": principal, "Action": "sqs:*"}), PolicyKind.RESOURCE)
    assert err.path.startswith("Statement[0].Principal")


def test_kind_rules() -> None:
    # session and boundary policies need a Resource; key policies need a Principal
    assert _error(_doc({"Effect": "Allow", "Action": "sqs:*"}), PolicyKind.SESSION).path == "Statement[0].Resource"
    assert _error(_doc({"Effect": "Allow", "Action": "sqs:*"}), PolicyKind.BOUNDARY).path == "Statement[0].Resource"
    assert _error(_doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}), PolicyKind.KEY).path == (
        "Statement[0].Principal"
    )
    assert _error(_doc({**ALLOW, "NotPrincipal": {"AWS": "111111111111"}}), PolicyKind.SESSION).path == (
        "Statement[0].NotPrincipal"
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
statement_like = st.fixed_dictionaries(
    {},
    optional={
        "Effect": st.sampled_from(["Allow", "Deny", "allow", 1]),
        "Action": st.one_of(st.just("sqs:*"), json_values),
        "Resource": st.one_of(st.just("*"), json_values),
        "Principal": st.one_of(st.just("*"), json_values),
        "Condition": st.one_of(
            st.dictionaries(st.sampled_from(["StringEquals", "Bool", "Foo", "NumericLessThan"]), json_values),
            json_values,
        ),
        "Sid": json_values,
    },
)


@settings(max_examples=150, deadline=None)
@given(
    statements=st.one_of(json_values, st.lists(statement_like, max_size=3)),
    kind=st.sampled_from(list(PolicyKind)),
)
def test_anything_parses_or_raises_policy_error(statements: Any, kind: PolicyKind) -> None:
    for document in ({"Version": "2012-10-17", "Statement": statements}, json.dumps({"Statement": statements})):
        try:
            p = parse_policy(document, origin="fuzz", kind=kind)
        except PolicyError as err:
            assert err.origin == "fuzz"
        else:
            assert p.statements
