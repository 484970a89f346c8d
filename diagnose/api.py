"""The commands as library calls, with the same inputs as the CLI and the typed results whose JSON the CLI
prints (``diagnose.render``). The CLI is a thin shell over these."""

from __future__ import annotations

from dataclasses import dataclass

from diagnose.preflight import Preflight, preflight
from diagnose.remedy import Remedy, propose
from diagnose.snapshot import Snapshot
from diagnose.verdict import Assumptions, Query, Verdict, diagnose
from diagnose.whocan import WhoCan, who_can


@dataclass(frozen=True, kw_only=True)
class WhyDenied:
    """A verdict and, when denied, the fixes proven for it."""

    verdict: Verdict
    remedy: Remedy


def why_denied(snapshot: Snapshot, query: Query, assumptions: Assumptions | None = None) -> WhyDenied:
    """Will the call in ``query`` succeed? If not: the error, every blocking layer and proven fixes."""
    assumptions = assumptions or Assumptions()
    verdict = diagnose(snapshot, query, assumptions)
    return WhyDenied(verdict=verdict, remedy=propose(snapshot, verdict, assumptions))


__all__ = ["Preflight", "WhoCan", "WhyDenied", "preflight", "who_can", "why_denied"]
