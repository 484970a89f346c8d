"""KMS grants (K7): allow-only, per grantee and operation, with encryption-context constraints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from diagnose.authz.model import Evidence, GrantInfo, Grants, Layer, LayerResult, Outcome
from diagnose.policy import Caller, PrincipalType, Request, Tri, tri_or


@dataclass(frozen=True)
class GrantVerdict:
    allow: Tri
    result: LayerResult


def grantee_matches(grantee: str, caller: Caller) -> bool:
    """A grantee is a principal ARN: a role's grant covers its sessions; a user; a service (K7)."""
    if caller.type is PrincipalType.SERVICE:
        return grantee == caller.service
    candidates = {caller.arn, caller.principal_arn}
    return grantee in candidates


def _constraint_holds(grant: GrantInfo, context: Mapping[str, str] | None) -> Tri:
    if grant.context_equals is None and grant.context_subset is None:
        return True
    if context is None:
        return None
    if grant.context_equals is not None and dict(grant.context_equals) != dict(context):
        return False
    if grant.context_subset is not None:
        return all(context.get(k) == v for k, v in grant.context_subset.items())
    return True


def evaluate_grants(grants: Grants, request: Request, context: Mapping[str, str] | None) -> GrantVerdict:
    operation = request.action.split(":", 1)[-1]
    parts: list[Tri] = [None] if grants.unknown else []
    evidence: list[Evidence] = []
    for grant in grants.grants:
        if not grantee_matches(grant.grantee, request.caller):
            continue
        if operation not in grant.operations:
            continue
        holds = _constraint_holds(grant, context)
        parts.append(holds)
        label = f"grant {grant.grant_id}" + (f" ({grant.name})" if grant.name else "")
        if holds is True:
            evidence.append(Evidence(grants.origin, f"{label} allows {operation}", "Allow"))
        elif holds is False:
            evidence.append(Evidence(grants.origin, f"{label}: encryption-context constraint does not match"))
        else:
            evidence.append(Evidence(grants.origin, f"{label}: constraint depends on the encryption context"))
    allow = tri_or(*parts)
    if allow is True:
        outcome = Outcome.ALLOW
    elif allow is False and evidence:
        outcome = Outcome.IMPLICIT_DENY  # a grant names the caller, but its constraint does not hold
    elif allow is False:
        outcome = Outcome.NOT_APPLICABLE  # grants only ever allow (K7)
        evidence.append(Evidence(grants.origin, f"no grant gives {operation} to the caller"))
    else:
        outcome = Outcome.UNKNOWN
    note = "grants may take up to 5 minutes to take effect (EC2)" if allow is True else ""
    return GrantVerdict(allow, LayerResult(Layer.GRANT, outcome, tuple(evidence), (), grants.unknown, note))
