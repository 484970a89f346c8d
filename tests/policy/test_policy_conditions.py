"""Condition operators: property tests and direct checks of ``evaluate_condition``."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from diagnose.policy import Condition, RequestContext, Residual, Tri, evaluate_condition, tri_and, tri_not, tri_or
from diagnose.policy.conditions import OPERATORS, parse_date, parse_operator

KEY = "x:key"
text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)
plain = st.text(alphabet=st.characters(blacklist_characters="*?$\\", blacklist_categories=["Cs"]), max_size=12)


def cond(op: str, *values: str, key: str = KEY) -> Condition:
    spec, qualifier, if_exists = parse_operator(op)
    return Condition(op, spec.name, qualifier, if_exists, key, values)


def ctx(*values: str, key: str = KEY) -> RequestContext:
    return RequestContext(values={key.lower(): values})


def run(c: Condition, context: RequestContext) -> Tri:
    result, _ = evaluate_condition(c, context)
    return result


@given(plain)
def test_string_like_with_pattern_from_the_string(s: str) -> None:
    assert run(cond("StringLike", s), ctx(s)) is True
    assert run(cond("StringLike", s[: len(s) // 2] + "*"), ctx(s)) is True
    assert run(cond("StringLike", "?" * len(s)), ctx(s)) is True
    assert run(cond("StringLike", "*"), ctx(s)) is True


@given(plain, plain)
def test_string_equals_is_exact(a: str, b: str) -> None:
    assert run(cond("StringEquals", a), ctx(b)) is (a == b)
    assert run(cond("StringEqualsIgnoreCase", a), ctx(b)) is (a.lower() == b.lower())


NEGATIONS = [
    ("StringEquals", "StringNotEquals", text),
    ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", text),
    ("StringLike", "StringNotLike", text),
    ("ArnLike", "ArnNotLike", st.sampled_from(["arn:aws:sns:*:1:t", "arn:aws:sns:us-east-1:1:*", "arn:*:*:*:*:*"])),
    ("ArnEquals", "ArnNotEquals", st.sampled_from(["arn:aws:sns:us-east-1:1:t", "x"])),
    ("NumericEquals", "NumericNotEquals", st.integers(-5, 5).map(str)),
    ("DateEquals", "DateNotEquals", st.sampled_from(["2020-01-01T00:00:00Z", "1577836800", "2021-06-01"])),
    ("IpAddress", "NotIpAddress", st.sampled_from(["10.0.0.0/8", "10.1.2.3", "2001:db8::/32"])),
]
REQUEST_VALUES = st.sampled_from(
    ["a", "A", "arn:aws:sns:us-east-1:1:t", "1", "-3", "2020-01-01T00:00:00Z", "10.1.2.3", "2001:db8::5", "x"]
)


@given(
    st.sampled_from(NEGATIONS).flatmap(
        lambda n: st.tuples(st.just(n[0]), st.just(n[1]), st.lists(n[2], min_size=1, max_size=3))
    ),
    st.lists(REQUEST_VALUES | text, min_size=1, max_size=3),
)
def test_negated_operator_is_not_of_base_when_present(ops: tuple[str, str, list[str]], request: list[str]) -> None:
    base, negated, values = ops
    context = ctx(*request)
    assert run(cond(negated, *values), context) is tri_not(run(cond(base, *values), context))


@given(st.sampled_from(sorted(s.name for s in OPERATORS.values() if s.name != "Null")))
def test_missing_key_rules(op: str) -> None:
    spec, _, _ = parse_operator(op)
    v = {"numeric": "1", "date": "2020-01-01", "ip": "10.0.0.0/8", "bool": "true"}.get(spec.family, "v")
    absent = RequestContext(absent=frozenset({KEY}))
    assert run(cond(op, v), absent) is spec.negated  # C2
    assert run(cond(op + "IfExists", v), absent) is True
    assert run(cond("ForAllValues:" + op, v), absent) is True  # C3
    assert run(cond("ForAnyValue:" + op, v), absent) is False
    result, residual = evaluate_condition(cond(op, v), RequestContext())
    assert result is None
    assert residual == Residual(KEY, op, (v,), "not in the request context")


@given(st.lists(text, min_size=1, max_size=3))
def test_for_all_values_empty_set_is_true(values: list[str]) -> None:
    empty = RequestContext(values={KEY: ()})
    assert run(cond("ForAllValues:StringEquals", *values), empty) is True
    assert run(cond("ForAnyValue:StringEquals", *values), empty) is False


@given(st.lists(plain, min_size=1, max_size=4), st.lists(plain, min_size=1, max_size=4))
def test_set_operators_against_python_sets(policy: list[str], request: list[str]) -> None:
    context = ctx(*request)
    assert run(cond("ForAllValues:StringEquals", *policy), context) is set(request).issubset(policy)
    assert run(cond("ForAnyValue:StringEquals", *policy), context) is bool(set(request) & set(policy))
    assert run(cond("ForAllValues:StringNotEquals", *policy), context) is not bool(set(request) & set(policy))


@given(st.lists(plain, min_size=1, max_size=3), plain)
def test_single_valued_key_is_a_one_element_set(policy: list[str], value: str) -> None:
    context = ctx(value)
    plain_result = run(cond("StringEquals", *policy), context)
    assert run(cond("ForAnyValue:StringEquals", *policy), context) is plain_result
    assert run(cond("ForAllValues:StringEquals", *policy), context) is plain_result


@given(st.integers(0, 2_000_000_000))
def test_dates_epoch_and_iso_agree(epoch: int) -> None:
    from datetime import datetime, timezone

    iso = datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert parse_date(iso) == float(epoch)
    assert run(cond("DateEquals", str(epoch)), ctx(iso)) is True
    assert run(cond("DateLessThan", str(epoch + 1)), ctx(iso)) is True


def test_null_operator() -> None:
    assert run(cond("Null", "true"), RequestContext(absent=frozenset({KEY}))) is True
    assert run(cond("Null", "false"), RequestContext(absent=frozenset({KEY}))) is False
    assert run(cond("Null", "true"), ctx("v")) is False
    assert run(cond("Null", "false"), ctx("v")) is True
    assert run(cond("Null", "true", "false"), ctx("v")) is True


def test_variables_are_literal_outside_2012_version() -> None:
    c = cond("StringEquals", "${aws:username}")
    context = RequestContext(values={"aws:username": ("bob",), KEY: ("${aws:username}",)})
    assert evaluate_condition(c, context, version="2008-10-17")[0] is True
    assert evaluate_condition(c, context, version=None)[0] is True
    assert evaluate_condition(c, context)[0] is False
    context2 = RequestContext(values={"aws:username": ("bob",), KEY: ("bob",)})
    assert evaluate_condition(c, context2)[0] is True


def test_variables_not_substituted_in_numeric() -> None:
    # Numeric values cannot hold variables; the text is compared as written and is not a number
    c = cond("NumericEquals", "5")
    assert run(c, ctx("5")) is True


def test_unknown_variable_names_the_variable() -> None:
    c = cond("StringEquals", "${aws:PrincipalTag/team}")
    result, residual = evaluate_condition(c, ctx("red"))
    assert result is None
    assert residual is not None and residual.key == "aws:PrincipalTag/team"


# --------------------------------------------------------------------------- Kleene logic

tri = st.sampled_from([True, False, None])


@given(tri, tri, tri)
def test_tri_laws(a: Tri, b: Tri, c: Tri) -> None:
    assert tri_and(a, b) == tri_and(b, a)
    assert tri_or(a, b) == tri_or(b, a)
    assert tri_and(a, tri_and(b, c)) == tri_and(tri_and(a, b), c)
    assert tri_or(a, tri_or(b, c)) == tri_or(tri_or(a, b), c)
    assert tri_not(tri_and(a, b)) == tri_or(tri_not(a), tri_not(b))  # De Morgan
    assert tri_not(tri_not(a)) == a
    assert tri_and(a, True) == a and tri_or(a, False) == a
    assert tri_and(a, False) is False and tri_or(a, True) is True
    assume(a is not None)
    assert tri_and(a, tri_not(a)) is False
