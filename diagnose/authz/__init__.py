"""AWS authorization logic over policy layers (IAM, resource and key policies, grants, SCPs, RCPs)."""

from diagnose.authz.evaluate import authorize
from diagnose.authz.model import (
    AuthzInput,
    Blocking,
    Decision,
    Docs,
    Evidence,
    GrantInfo,
    Grants,
    LayerResult,
    OrgLevels,
    Outcome,
    StepResult,
)

__all__ = [
    "AuthzInput",
    "Blocking",
    "Decision",
    "Docs",
    "Evidence",
    "GrantInfo",
    "Grants",
    "LayerResult",
    "OrgLevels",
    "Outcome",
    "StepResult",
    "authorize",
]
