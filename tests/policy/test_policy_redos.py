"""Hostile wildcard patterns must not make matching take exponential time (a policy is user input)."""

from __future__ import annotations

import fnmatch
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnose.policy import match_action, match_arn, match_resource

HOSTILE = "arn:aws:sqs:us-east-1:111111111111:" + "*a" * 12 + "b"
TEXT = "arn:aws:sqs:us-east-1:111111111111:" + "a" * 200


def test_many_stars_against_a_near_miss_finish_quickly() -> None:
    code = (
        "from diagnose.policy import match_resource, match_arn\n"
        f"assert not match_resource({HOSTILE!r}, {TEXT!r})\n"
        f"assert not match_arn({HOSTILE!r}, {TEXT!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=20)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("a*b*c", "aXbYc", True),
        ("a*b*c", "abc", True),
        ("a*b*c", "acb", False),
        ("a*?*b", "ab", False),
        ("a*?*b", "axb", True),
        ("*a*a*", "aa", True),
        ("*a*a*", "a", False),
        ("x*y*x", "xyx", True),
        ("x*y*x", "xyxy", False),
    ],
)
def test_several_stars_keep_glob_semantics(pattern: str, text: str, expected: bool) -> None:
    assert match_resource(pattern, text) is expected
    assert match_action(f"sqs:{pattern}", f"sqs:{text}") is expected


def test_arn_like_several_stars_never_cross_a_colon_before_the_resource() -> None:
    assert match_arn("arn:aws:*:*:111111111111:*x*y", "arn:aws:sqs:us-east-1:111111111111:q:x:y")
    assert not match_arn("arn:aws:s*s*:us-east-1:111111111111:q", "arn:aws:sqs:x:us-east-1:111111111111:q")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab*?", max_size=10), st.text(alphabet="ab", max_size=12))
def test_glob_matching_agrees_with_fnmatch(pattern: str, text: str) -> None:
    assert match_resource(pattern, text) is fnmatch.fnmatchcase(text, pattern)
