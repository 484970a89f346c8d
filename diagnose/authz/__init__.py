"""AWS authorization logic over policy layers (IAM, resource and key policies, grants, SCPs, RCPs)."""

from diagnose.authz.evaluate import authorize, authorize_facts, decide
from diagnose.authz.model import (
    AuthzInput,
    Blocking,
    Decision,
    Docs,
    Evidence,
    Fact,
    GrantInfo,
    Grants,
    Layer,
    LayerResult,
    OrgLevels,
    Outcome,
    StepResult,
    assert_never,
)

__all__ = [
    "AuthzInput",
    "Blocking",
    "Decision",
    "Docs",
    "Evidence",
    "Fact",
    "GrantInfo",
    "Grants",
    "Layer",
    "LayerResult",
    "OrgLevels",
    "Outcome",
    "StepResult",
    "assert_never",
    "authorize",
    "authorize_facts",
    "decide",
]
