"""The IAM policy language as a pure library: parse and validate documents, match requests, evaluate.

It knows nothing about SQS or KMS and never calls AWS. Public API:

- ``parse_policy(document, origin=..., kind=...) -> Policy`` (raises ``PolicyError``); a document already
  parsed is not parsed again (bounded cache by content: ``parse_cache_info()``, ``clear_parse_cache()``)
- ``evaluate_statement(policy, statement, request) -> StatementResult``
- ``evaluate_policies(policies, request) -> PolicyDecision``
  (both complete the request context with ``derive_context`` first; deriving twice changes nothing)
- ``derive_context(caller, given) -> RequestContext`` (the keys AWS derives from the caller)
- ``context_value_error(key, value) -> str | None`` (can the operators read this value of a typed key;
  ``TYPED_KEYS`` lists those keys)
- ``match_action``, ``match_resource``, ``match_arn``, ``match_principal``, ``not_principal_applies``
- ``evaluate_condition(condition, context, version=...) -> (Tri, Residual | None)``
"""

from diagnose.policy.conditions import evaluate_condition
from diagnose.policy.context import TYPED_KEYS, context_value_error, derive_context
from diagnose.policy.evaluate import evaluate_policies, evaluate_statement
from diagnose.policy.match import (
    match_action,
    match_arn,
    match_principal,
    match_resource,
    not_principal_applies,
)
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
from diagnose.policy.parse import ParseCacheInfo, clear_parse_cache, parse_cache_info, parse_policy

__all__ = [
    "TYPED_KEYS",
    "Caller",
    "Condition",
    "ParseCacheInfo",
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
    "clear_parse_cache",
    "context_value_error",
    "derive_context",
    "evaluate_condition",
    "evaluate_policies",
    "evaluate_statement",
    "match_action",
    "match_arn",
    "match_principal",
    "match_resource",
    "not_principal_applies",
    "parse_cache_info",
    "parse_policy",
    "tri_and",
    "tri_not",
    "tri_or",
]
