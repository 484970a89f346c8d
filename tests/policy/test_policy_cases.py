"""Data-driven cases: every JSON file under tests/cases/policy/ holds a list of cases.

A case: ``id``, ``rule`` (reference rule ids), ``kind`` (default identity), the document as ``policy``
(or ``condition``: shorthand for one Allow statement on ``sqs:*``/``*`` with that Condition block;
``effect`` and ``version`` adjust it; or ``policies``: a list of ``{"kind", "policy"}``), ``caller``
(a preset name or Caller fields), ``request`` (``action``, ``resource``, ``context``, ``absent``,
``closed``, ``closed_prefixes``, ``multi_valued``) and ``expect``:
``applies`` (statement ``statement``, default 0), ``allow``/``deny`` (all documents),
``principal_match``, ``residual_keys``, or ``error_path``/``error_contains`` for rejected documents.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from policy_fixtures import make_request

from diagnose.policy import (
    Policy,
    PolicyError,
    PolicyKind,
    evaluate_policies,
    evaluate_statement,
    parse_policy,
)

CASES_DIR = Path(__file__).resolve().parent.parent / "cases" / "policy"


def _load() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8")):
            params.append(pytest.param(case, id=f"{path.stem}:{case['id']}"))
    return params


ALL_CASES = _load()


def _documents(case: dict[str, Any]) -> list[tuple[PolicyKind, Any]]:
    kind = PolicyKind(case.get("kind", "identity"))
    if "policies" in case:
        return [(PolicyKind(p["kind"]), p["policy"]) for p in case["policies"]]
    if "condition" in case:
        statement = {
            "Effect": case.get("effect", "Allow"),
            "Action": "sqs:*",
            "Resource": "*",
            "Condition": case["condition"],
        }
        if kind.has_principal:
            statement["Principal"] = "*"
        doc: dict[str, Any] = {"Statement": [statement]}
        version = case.get("version", "2012-10-17")
        if version is not None:
            doc["Version"] = version
        return [(kind, doc)]
    return [(kind, case["policy"])]


def _parse_all(case: dict[str, Any]) -> list[Policy]:
    return [
        parse_policy(doc, origin=f"case {case['id']} #{i}", kind=kind) for i, (kind, doc) in enumerate(_documents(case))
    ]


def test_every_case_names_a_rule() -> None:
    assert len(ALL_CASES) > 150
    for p in ALL_CASES:
        case = p.values[0]
        assert case.get("rule"), case["id"]
        assert case.get("expect"), case["id"]


@pytest.mark.parametrize("case", ALL_CASES)
def test_case(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if "error_path" in expect or "error_contains" in expect:
        with pytest.raises(PolicyError) as err:
            _parse_all(case)
        if "error_path" in expect:
            assert err.value.path == expect["error_path"], str(err.value)
        if "error_contains" in expect:
            assert expect["error_contains"] in err.value.message, str(err.value)
        return

    policies = _parse_all(case)
    request = make_request(case.get("caller"), case.get("request"))
    checked = False

    if "applies" in expect:
        policy = policies[0]
        statement = policy.statements[case.get("statement", 0)]
        result = evaluate_statement(policy, statement, request)
        assert result.applies is expect["applies"], result
        if "principal_match" in expect:
            pm = result.principal_match.value if result.principal_match else None
            assert pm == expect["principal_match"], result
        if "residual_keys" in expect:
            assert sorted(r.key for r in result.residuals) == sorted(expect["residual_keys"]), result
        checked = True

    if "allow" in expect or "deny" in expect:
        decision = evaluate_policies(policies, request)
        if "allow" in expect:
            assert decision.allow is expect["allow"], decision
        if "deny" in expect:
            assert decision.deny is expect["deny"], decision
        for results, flag in ((decision.allow_statements, decision.allow), (decision.deny_statements, decision.deny)):
            assert all(r.applies is not False for r in results)
            assert (flag is False) == (not results)
        if "residual_keys" in expect and "applies" not in expect:
            keys = {
                r.key for rs in (decision.allow_statements, decision.deny_statements) for s in rs for r in s.residuals
            }
            assert sorted(keys) == sorted(expect["residual_keys"]), decision
        if "applies" in expect:
            # the single-statement answer agrees with the document answer
            st = policies[0].statements[case.get("statement", 0)]
            bucket = decision.deny_statements if st.effect == "Deny" else decision.allow_statements
            found = [r for r in bucket if r.statement is st]
            assert (found[0].applies if found else False) is expect["applies"]
        checked = True

    assert checked, f"case {case['id']} expects nothing checkable"
