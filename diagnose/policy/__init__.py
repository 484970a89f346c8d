"""The IAM policy language as a pure library: parse and validate documents, match requests, evaluate.

It knows nothing about SQS or KMS and never calls AWS. Public API:

- ``parse_policy(document, origin=..., kind=...) -> Policy`` (raises ``PolicyError``)
- ``evaluate_statement(policy, statement, request) -> StatementResult``
- ``evaluate_policies(policies, request) -> PolicyDecision``
- ``derive_context(caller, given) -> RequestContext`` (the keys AWS derives from the caller)
- ``match_action``, ``match_resource``, ``match_principal``
"""

from diagnose.policy.model import (
    Caller,
    Condition,
    Policy,
    PolicyDecision,
    PolicyError,
    PolicyKind,
    PrincipalMatch,
    PrincipalSet,
    PrincipalType,
    Request,
    RequestContext,
    Residual,
    Statement,
    StatementResult,
    Tri,
    tri_and,
    tri_not,
    tri_or,
)

__all__ = [
    "Caller",
    "Condition",
    "Policy",
    "PolicyDecision",
    "PolicyError",
    "PolicyKind",
    "PrincipalMatch",
    "PrincipalSet",
    "PrincipalType",
    "Request",
    "RequestContext",
    "Residual",
    "Statement",
    "StatementResult",
    "Tri",
    "tri_and",
    "tri_not",
    "tri_or",
]
