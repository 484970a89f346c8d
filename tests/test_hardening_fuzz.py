"""Fuzzing the snapshot loader, the policy parser and the CLI with mutated JSON.

Mutations: a value anywhere replaced by a random JSON value of any type, by NaN/Infinity/1e999, by a
number of thousands of digits, by nesting deeper than the limit (or than Python's recursion limit), a key
repeated in an object, the text cut short. Whatever comes in, the loader and parser raise only the
project's own errors, and the CLI exits 0/1/2/3 without a traceback. Seeded (derandomize) and bounded.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diagnose.policy import PolicyError, PolicyKind, parse_policy
from diagnose.snapshot import SnapshotError, load
from tests.helpers import ARTICLE, CONSUMER, run_cli

CASE2 = ARTICLE / "2-sse-kms-queue-policy-only.json"
QUEUE = "https://sqs.ap-northeast-1.amazonaws.com/111111111111/hoge-sse-customer"
PROJECT_ERRORS = (SnapshotError, PolicyError)
PLACEHOLDER = "\u2603PLACEHOLDER\u2603"

RAW_TOKENS = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e999",
        "-0",
        "9" * 5000,
        "-" + "1" * 4400,
        "0." + "1" * 5000,
        "[" * 70 + "]" * 70,
        '{"a": ' * 70 + "1" + "}" * 70,
        "[" * 5000 + "]" * 5000,
        "{}",
        "[]",
        "null",
        '""',
    ]
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["Allow", "Deny", "*", "sqs:*", CONSUMER, "arn:aws:sqs:ap-northeast-1:111111111111:q"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def _slots(value: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in ``value``: the places a mutation can go."""
    out: list[tuple[Any, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        pairs = item.items() if isinstance(item, dict) else enumerate(item) if isinstance(item, list) else ()
        for key, child in pairs:
            out.append((item, key))
            stack.append(child)
    return out


def _mutate_value(data: st.DataObject, value: Any) -> str:
    """JSON text of ``value`` with some mutations drawn from ``data``."""
    raws: list[str] = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="mutations")):
        slots = _slots(value)
        if not slots:
            break
        container, key = slots[data.draw(st.integers(min_value=0, max_value=len(slots) - 1), label="slot")]
        if data.draw(st.booleans(), label="raw"):
            raws.append(data.draw(RAW_TOKENS, label="token"))
            container[key] = PLACEHOLDER + str(len(raws) - 1)
        else:
            container[key] = data.draw(JSON_VALUES, label="value")
    text = json.dumps(value)
    for i, raw in reversed(list(enumerate(raws))):
        text = text.replace(json.dumps(PLACEHOLDER + str(i)), raw)
    objects = [m.end() for m in re.finditer(r'\{(?="(?:[^"\\]|\\.)*": )', text)]
    if len(objects) > 0 and data.draw(st.booleans(), label="duplicate a key"):
        at = objects[data.draw(st.integers(min_value=0, max_value=len(objects) - 1), label="object")]
        key = re.match(r'"(?:[^"\\]|\\.)*"', text[at:])
        assert key is not None
        text = (
            text[:at]
            + key.group()
            + ": "
            + data.draw(st.sampled_from(['"Allow"', "1", "null", "{}"]))
            + ", "
            + text[at:]
        )
    if data.draw(st.integers(min_value=0, max_value=9), label="truncate?") == 0:
        text = text[: data.draw(st.integers(min_value=0, max_value=len(text)), label="cut")]
    return text


def _mutated_snapshot(data: st.DataObject) -> str:
    snap: dict[str, Any] = json.loads(CASE2.read_text())
    where = data.draw(st.sampled_from(["snapshot", "queue policy", "key policy text", "redrive"]), label="where")
    if where == "snapshot":
        return _mutate_value(data, snap)
    attrs = snap["queues"][0]["attributes"]
    if where == "queue policy":
        attrs["Policy"] = _mutate_value(data, json.loads(attrs["Policy"]))
    elif where == "key policy text":
        snap["keys"][0]["policy"] = _mutate_value(data, snap["keys"][0]["policy"])
    else:
        attrs["RedrivePolicy"] = _mutate_value(data, {"deadLetterTargetArn": "arn:aws:sqs:ap-northeast-1:1:q"})
    return json.dumps(snap)


def _policy_text(data: st.DataObject) -> str:
    snap = json.loads(CASE2.read_text())
    return _mutate_value(data, json.loads(snap["queues"][0]["attributes"]["Policy"]))


FUZZ = settings(
    derandomize=True,
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(st.data())
def test_loader_raises_only_project_errors(data: st.DataObject) -> None:
    text = _mutated_snapshot(data)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "fuzz.json"
        f.write_text(text, encoding="utf-8")
        try:
            load(f)
        except PROJECT_ERRORS as err:
            assert "\n" not in str(err) and str(err).startswith(str(f))


@FUZZ
@given(st.data(), st.sampled_from(list(PolicyKind)))
def test_parser_raises_only_policy_errors(data: st.DataObject, kind: PolicyKind) -> None:
    text = _policy_text(data)
    for _ in range(2):  # the second parse may come from the cache: the same outcome
        try:
            parse_policy(text, origin="doc", kind=kind)
        except PolicyError as err:
            assert "\n" not in str(err)
        try:
            decoded = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if isinstance(decoded, dict):  # as an object too (what a snapshot holds)
            try:
                parse_policy(decoded, origin="doc", kind=kind)
            except PolicyError as err:
                assert "\n" not in str(err)


@settings(FUZZ, max_examples=60)
@given(st.data())
def test_cli_exits_with_a_verdict_or_bad_input(capsys: pytest.CaptureFixture[str], data: st.DataObject) -> None:
    text = _mutated_snapshot(data)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "fuzz.json"
        f.write_text(text, encoding="utf-8")
        run = run_cli(capsys, "why-denied", "-s", str(f), "--queue", QUEUE, "--principal", CONSUMER)
    assert run.code in (0, 1, 2, 3), run.err
    assert "Traceback" not in run.err and "internal error" not in run.err
    if run.code == 2:
        assert len(run.err.strip().splitlines()) == 1, run.err
