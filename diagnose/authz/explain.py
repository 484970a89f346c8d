"""Near misses: the Allow statements that *almost* grant a blocked step, and exactly what fails in each.

Used only to explain a blocking layer ("Sid X allows kms:Decrypt but kms:CallerAccount is 222222222222,
not 111111111111"), never to decide: the verdict comes from ``authorize``.
"""

from __future__ import annotations

from collections.abc import Sequence

from diagnose.policy import (
    Policy,
    Request,
    derive_context,
    evaluate_condition,
    evaluate_statement,
    match_action,
    match_principal,
    match_resource,
)
from diagnose.policy.context import lookup

MAX_NEAR_MISSES = 3


def near_misses(policies: Sequence[Policy], request: Request) -> tuple[str, ...]:
    """Allow statements whose action matches but which do not apply, each with the reasons."""
    context = derive_context(request.caller, request.context)
    out: list[str] = []
    for policy in policies:
        for st in policy.statements:
            if st.effect != "Allow":
                continue
            if st.actions is not None and not any(match_action(p, request.action) for p in st.actions):
                continue
            if st.not_actions is not None and any(match_action(p, request.action) for p in st.not_actions):
                continue
            if evaluate_statement(policy, st, request).applies is not False:
                continue
            reasons: list[str] = []
            if st.resources is not None and not any(match_resource(p, request.resource) for p in st.resources):
                reasons.append(f"its Resource {list(st.resources)} does not match {request.resource}")
            if st.not_resources is not None and any(match_resource(p, request.resource) for p in st.not_resources):
                reasons.append(f"its NotResource excludes {request.resource}")
            if (
                policy.kind.has_principal
                and st.principal is not None
                and match_principal(st.principal, request.caller) is None
            ):
                reasons.append(f"its Principal does not name {request.caller.arn} or its account")
            for condition in st.conditions:
                holds, _ = evaluate_condition(condition, context, version=policy.version)
                if holds is False:
                    seen = lookup(context, condition.key.lower())
                    has = ", ".join(seen) if seen else "no value"
                    expected = list(condition.values)
                    reasons.append(f"{condition.operator} {condition.key} {expected} is false (the request has {has})")
            if reasons:
                out.append(f"{policy.origin} {st.label} allows {request.action}, but " + "; ".join(reasons))
            if len(out) >= MAX_NEAR_MISSES:
                return tuple(out)
    return tuple(out)
