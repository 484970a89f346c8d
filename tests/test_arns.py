from __future__ import annotations

import pytest

from diagnose.arns import parse_arn


@pytest.mark.parametrize("inside", ["\u200b", "\ufeff", "\u200d"])
def test_an_invisible_character_inside_an_arn_is_rejected(inside: str) -> None:
    with pytest.raises(ValueError, match="invisible character"):
        parse_arn(f"arn:aws:iam::222222222222:role/app/{inside}consumer")


def test_a_space_is_left_to_the_check_of_what_the_arn_names() -> None:
    # an IAM name's own check says which characters it allows (tests/test_cli_strict.py)
    assert parse_arn("arn:aws:iam::222222222222:role/app/ consumer").resource == "role/app/ consumer"
