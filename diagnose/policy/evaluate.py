"""Evaluating statements and documents against a request (three-valued, with residuals).

The request context is first completed with what AWS derives from the caller (``derive_context``);
that is done once per ``Request`` object and is idempotent, so a context that already went through
``derive_context`` is fine too.
"""

from __future__ import annotations

from collections.abc import Sequence

from diagnose.policy.compiled import CompiledStatement, compiled_policy, compiled_statement
from diagnose.policy.context import derive_context
from diagnose.policy.match import match_compiled, not_principal_applies, unique_id_undecided
from diagnose.policy.model import (
    Policy,
    PolicyDecision,
    PrincipalMatch,
    Request,
    RequestContext,
    Residual,
    Statement,
    StatementResult,
    Tri,
)

_CTX_ATTR = "_derived_context"
_NO_RESIDUALS: tuple[Residual, ...] = ()


def request_context(request: Request) -> RequestContext:
    """The request's context completed with the caller-derived keys (cached on the request)."""
    cached = request.__dict__.get(_CTX_ATTR)
    if isinstance(cached, RequestContext):
        return cached
    ctx = derive_context(request.caller, request.context)
    object.__setattr__(request, _CTX_ATTR, ctx)
    return ctx


def _rest(
    cs: CompiledStatement,
    resource_known: Tri,
    has_principal: bool,
    request: Request,
    ctx: RequestContext,
) -> tuple[Tri, PrincipalMatch | None, tuple[Residual, ...]]:
    """Everything after the action test: resource variables, principal, conditions."""
    state: Tri = True
    residuals: list[Residual] | None = None
    if resource_known is None:
        r, res = cs.dynamic_resource(request.resource, ctx)
        if r is False:
            return False, None, _NO_RESIDUALS
        if r is None and res is not None:
            state = None
            residuals = [res]
    pm: PrincipalMatch | None = None
    if has_principal:
        caller = request.caller
        if cs.principal is not None:
            pm = match_compiled(cs.principal, caller)
            if pm is None:
                ids = unique_id_undecided(cs.principal, caller)
                if not ids:
                    return False, None, _NO_RESIDUALS
                pm = PrincipalMatch.UNIQUE_ID
                state = None
                res = Residual("aws:userid", "Principal", ids, "the caller's unique id is not known")
                residuals = [*(residuals or ()), res]
        elif cs.not_principal is not None:
            st = cs.statement
            assert st.not_principal is not None
            if not not_principal_applies(st.not_principal, caller, st.effect):
                return False, None, _NO_RESIDUALS
            pm = PrincipalMatch.NOT_PRINCIPAL
        else:
            pm = PrincipalMatch.WILDCARD
    for cc in cs.conditions:
        r, res = cc.evaluate(ctx)
        if r is False:
            return False, pm, _NO_RESIDUALS
        if r is None:
            state = None
            if res is not None:
                if residuals is None:
                    residuals = [res]
                else:
                    residuals.append(res)
    return state, pm, (tuple(residuals) if residuals else _NO_RESIDUALS)


def evaluate_statement(policy: Policy, statement: Statement, request: Request) -> StatementResult:
    """Does ``statement`` (of ``policy``) apply to the request?

    ``applies`` is the Kleene AND of the action, resource, principal (only for kinds that carry one)
    and every condition, tested in that order and stopping at the first False.
    """
    cs = compiled_statement(statement, policy.version)
    if not cs.action_match(request.action.lower()):
        return StatementResult(policy, statement, False)
    known = cs.static_resource(request.resource)
    if known is False:
        return StatementResult(policy, statement, False)
    applies, pm, residuals = _rest(cs, known, policy.kind.has_principal, request, request_context(request))
    return StatementResult(policy, statement, applies, pm, residuals)


def evaluate_policies(policies: Sequence[Policy], request: Request) -> PolicyDecision:
    """What the documents say together: ``deny`` = OR over Deny statements, ``allow`` = OR over Allow.

    The statement tuples hold the statements that apply (True) or might apply (None).
    """
    ctx = request_context(request)
    action = request.action.lower()
    resource = request.resource
    deny: Tri = False
    allow: Tri = False
    denies: list[StatementResult] = []
    allows: list[StatementResult] = []
    for policy in policies:
        cp = compiled_policy(policy)
        for cs, known in cp.candidates(action, resource):
            applies, pm, residuals = _rest(cs, known, cp.has_principal, request, ctx)
            if applies is False:
                continue
            result = StatementResult(policy, cs.statement, applies, pm, residuals)
            if cs.deny:
                denies.append(result)
                if applies is True:
                    deny = True
                elif deny is False:
                    deny = None
            else:
                allows.append(result)
                if applies is True:
                    allow = True
                elif allow is False:
                    allow = None
    return PolicyDecision(deny, allow, tuple(denies), tuple(allows))
