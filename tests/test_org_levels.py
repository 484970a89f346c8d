"""SCP and RCP levels as the snapshot records them (O1, O3)."""

from __future__ import annotations

from typing import Any

from tests.test_fixes import FULL_ACCESS, _in_org_with_scp, _verdict_and_fixes, _world


def test_o3_an_org_without_rcps_enabled_restricts_nothing() -> None:
    # The collector records [] when a policy type is not enabled; AWS then applies no RCPs (O3).
    def in_org_without_rcps(data: dict[str, Any]) -> None:
        _in_org_with_scp(data, FULL_ACCESS)
        data["accounts"][0] = {**data["accounts"][1], "id": "111111111111"}
        data["accounts"][0]["path"] = [dict(n) for n in data["accounts"][1]["path"]]
        data["accounts"][0]["path"][-1]["id"] = "111111111111"

    verdict, _ = _verdict_and_fixes(_world(in_org_without_rcps))
    assert verdict.decision.value == "allowed"
