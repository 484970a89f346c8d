from __future__ import annotations

import pytest

from diagnose.arns import parse_arn


@pytest.mark.parametrize("inside", [" ", "\u200b", "\ufeff"])
def test_a_space_or_invisible_character_inside_an_arn_is_rejected(inside: str) -> None:
    with pytest.raises(ValueError, match="space or an invisible character"):
        parse_arn(f"arn:aws:iam::222222222222:role/app/{inside}consumer")
