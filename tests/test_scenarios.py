"""Data-driven why-denied scenarios: reference section 13 (and the rules it cites), one case per row/variant.

Each case in ``tests/cases/scenarios/*.json`` holds a complete snapshot, the query, optional assumptions
and the expected outcome written from the reference: decision, the caller's error code (and a message
substring), and every blocking [step, layer] pair in order. A case the engine gets wrong per the
reference carries ``"xfail": "<reason>"`` instead of a bent expectation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from diagnose.snapshot import from_json
from diagnose.sqs import parse_action
from diagnose.verdict import Assumptions, Query, diagnose

CASES_DIR = Path(__file__).parent / "cases" / "scenarios"
NOW = 1_767_225_600.0  # a fixed clock (2026-01-01T00:00:00Z) so time keys never vary


def _load_cases() -> list[Any]:
    params = []
    for path in sorted(CASES_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for case in data["cases"]:
            marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if case.get("xfail") else []
            params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


CASES = _load_cases()


def _values(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _query(q: dict[str, Any]) -> Query:
    return Query(
        queue_arn=q["queue"],
        principal=q["principal"],
        action=parse_action(q.get("action", "ReceiveMessage")),
        context={k.lower(): _values(v) for k, v in q.get("context", {}).items()},
        absent=frozenset(k.lower() for k in q.get("absent", [])),
        session_policy=q.get("session_policy"),
        session_name=q.get("session_name"),
    )


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def test_case_ids_are_unique_and_cite_rules() -> None:
    ids = [p.values[0]["id"] for p in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    for p in CASES:
        case = p.values[0]
        assert case.get("rule"), f"{case['id']}: no rule/row citation"


@pytest.mark.parametrize("case", CASES)
def test_scenario(case: dict[str, Any]) -> None:
    snapshot = from_json(case["snapshot"], origin=case["id"])
    assumptions = Assumptions(**case.get("assumptions", {}))
    verdict = diagnose(snapshot, _query(case["query"]), assumptions, now=NOW)
    expect = case["expect"]

    got_blocking = [[b.step, b.block.layer] for b in verdict.blocking]
    summary = (
        f"decision={verdict.decision.value} error={verdict.error.code if verdict.error else None} "
        f"blocking={got_blocking} unknowns={list(verdict.unknowns)}"
    )
    assert verdict.decision.value == expect["decision"], summary
    assert (verdict.error.code if verdict.error else None) == expect["error_code"], summary
    for text in _as_list(expect.get("error_message_contains")):
        assert verdict.error is not None, summary
        assert text in verdict.error.message, f"{text!r} not in {verdict.error.message!r}"
    assert got_blocking == expect["blocking"], summary
    if "explicit" in expect:
        assert [b.block.explicit for b in verdict.blocking] == expect["explicit"], summary
    if "reached" in expect:
        assert [b.reached for b in verdict.blocking] == expect["reached"], summary
    unknowns = " | ".join(verdict.unknowns).lower()
    for text in _as_list(expect.get("unknowns_contain")):
        assert text.lower() in unknowns, f"{text!r} not in unknowns: {list(verdict.unknowns)}"
    if expect["decision"] != "inconclusive":
        assert not expect.get("unknowns_contain"), "unknowns_contain is for inconclusive cases"
