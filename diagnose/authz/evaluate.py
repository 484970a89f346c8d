"""AWS's combination of policy layers for one authorization step: where a verdict is decided.

Rules (reference/aws-semantics.md): E1 explicit deny wins; E2 stage order; E3/E4 same-account
identity-or-resource with the principal form deciding which limits still apply; E5 cross-account needs
both sides; E7/E8 boundaries and session policies; K1-K3 KMS key policies must allow, directly or by
delegating to the caller account's IAM, cross-account needs both; K7 grants; O1-O6 SCPs and RCPs.
Everything is three-valued: an unknown part makes the step inconclusive unless a known layer denies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from diagnose.authz.grants import evaluate_grants
from diagnose.authz.model import (
    AuthzInput,
    Blocking,
    Decision,
    Docs,
    Evidence,
    Fact,
    Layer,
    LayerResult,
    OrgLevels,
    Outcome,
    StepResult,
    assert_never,
    evidence_of,
)
from diagnose.policy import (
    PolicyDecision,
    PrincipalMatch,
    PrincipalType,
    Request,
    Residual,
    StatementResult,
    Tri,
    evaluate_policies,
    tri_and,
    tri_or,
)

# Stage order of E2 (VPC endpoint policies are evaluated "in addition", N1: listed last).
ORDER = (
    Layer.RCP,
    Layer.SCP,
    Layer.RESOURCE,
    Layer.KEY_POLICY,
    Layer.GRANT,
    Layer.IDENTITY,
    Layer.BOUNDARY,
    Layer.SESSION,
    Layer.VPCE,
)
_RANK = {name: i for i, name in enumerate(ORDER)}

# Principal forms whose same-account grant needs nothing else (E4 rows: session, user, federated user, "*").
_DIRECT = frozenset(
    {
        PrincipalMatch.SESSION,
        PrincipalMatch.USER,
        PrincipalMatch.FEDERATED_USER,
        PrincipalMatch.WILDCARD,
        PrincipalMatch.NOT_PRINCIPAL,
        PrincipalMatch.SERVICE,
        PrincipalMatch.CANONICAL_USER,
        PrincipalMatch.FEDERATED,
    }
)


@dataclass(frozen=True)
class _Layer:
    """One layer's verdict parts: does it explicitly deny, does it allow, and the report."""

    deny: Tri
    allow: Tri
    result: LayerResult
    decision: PolicyDecision | None = None


# A unique id (P4) names a role or a user: it counts as the role form for sessions, as direct otherwise.
_DIRECT_ROLE = _DIRECT
_DIRECT_OTHER = _DIRECT | {PrincipalMatch.UNIQUE_ID}
_ROLE_ROLE = frozenset({PrincipalMatch.ROLE, PrincipalMatch.UNIQUE_ID})
_ROLE_OTHER = frozenset({PrincipalMatch.ROLE})
_ACCOUNT = frozenset({PrincipalMatch.ACCOUNT})


def _allow_by(decision: PolicyDecision | None, kinds: frozenset[PrincipalMatch], unknown: bool) -> Tri:
    """Does an Allow statement whose principal matched in one of ``kinds`` apply?"""
    if decision is None:
        return None if unknown else False
    parts = [r.applies for r in decision.allow_statements if r.principal_match in kinds]
    if unknown:
        parts.append(None)
    return tri_or(*parts)


def _residuals(results: Iterable[StatementResult]) -> tuple[Residual, ...]:
    return tuple(res for r in results if r.applies is None for res in r.residuals)


def _layer(name: Layer, docs: Docs, request: Request, action_text: str) -> _Layer:
    decision = evaluate_policies(docs.policies, request)
    deny, allow = decision.deny, decision.allow
    if docs.unknown:  # an unread document could deny or allow
        deny = True if deny is True else None
        allow = True if allow is True else None
    residuals: tuple[Residual, ...] = ()
    if deny is None or allow is None:
        residuals = _residuals(decision.deny_statements + decision.allow_statements)
    if deny is True:
        outcome = Outcome.EXPLICIT_DENY
        evidence = evidence_of(tuple(r for r in decision.deny_statements if r.applies is True))
    elif allow is True and deny is False:
        outcome = Outcome.ALLOW
        evidence = evidence_of(tuple(r for r in decision.allow_statements if r.applies is True))
    elif allow is False:
        outcome = Outcome.IMPLICIT_DENY
        names = ", ".join(p.origin for p in docs.policies) or f"{name} (none attached)"
        evidence = (Evidence(names, f"no statement allows {action_text}"),)
    else:
        outcome = Outcome.UNKNOWN
        evidence = evidence_of(tuple(r for r in decision.allow_statements if r.applies is True))
    return _Layer(deny, allow, LayerResult(name, outcome, evidence, residuals, docs.unknown), decision)


def _org_layer(name: Layer, org: OrgLevels, request: Request, action_text: str) -> _Layer:
    """SCPs/RCPs: a deny at any level denies; every level must allow (O1, O3)."""
    denies: list[Tri] = [None] if org.unknown else []
    allows: list[Tri] = [None] if org.unknown else []
    deny_evidence: list[Evidence] = []
    residuals: list[Residual] = []
    unreadable = list(org.unknown)
    missing_allow: list[str] = []
    for label, docs in org.levels:
        if not docs.policies and not docs.unknown:
            # AWS keeps FullAWSAccess / RCPFullAWSAccess attached while the policy type is enabled; a level
            # with none means the type is not enabled, which restricts nothing (O1, O3).
            continue
        decision = evaluate_policies(docs.policies, request)
        deny, allow = decision.deny, decision.allow
        if docs.unknown:
            deny, allow = (True if deny is True else None), (True if allow is True else None)
            unreadable.extend(docs.unknown)
        denies.append(deny)
        allows.append(allow)
        if deny is None or allow is None:
            residuals.extend(_residuals(decision.deny_statements + decision.allow_statements))
        if deny is True:
            deny_evidence.extend(evidence_of(tuple(r for r in decision.deny_statements if r.applies is True)))
        elif allow is False:
            missing_allow.append(label)
    deny, allow = tri_or(*denies), tri_and(*allows)
    kind = name.upper()
    if deny is True:
        outcome, evidence = Outcome.EXPLICIT_DENY, tuple(deny_evidence)
    elif allow is False:
        outcome = Outcome.IMPLICIT_DENY
        evidence = tuple(Evidence(label, f"no {kind} attached here allows {action_text}") for label in missing_allow)
    elif allow is True and deny is False:
        outcome = Outcome.ALLOW
        evidence = (Evidence(f"{kind}s at every level", f"allow {action_text}"),)
    else:
        outcome, evidence = Outcome.UNKNOWN, ()
    note = f"missing an allow at: {', '.join(missing_allow)}" if missing_allow else ""
    return _Layer(deny, allow, LayerResult(name, outcome, evidence, tuple(residuals), tuple(unreadable), note))


def _synthetic_allow(name: Layer, why: str) -> _Layer:
    return _Layer(False, True, LayerResult(name, Outcome.ALLOW, (Evidence(why, "allowed by default"),)))


def decide(deny: Tri, allow: Tri) -> Decision:
    """The one table every step is decided by: an explicit deny that surely applies, or a required allow that
    surely fails, denies (E1); both surely clear allows; anything else is inconclusive (three-valued)."""
    if deny is True or allow is False:
        return Decision.DENIED
    if deny is False and allow is True:
        return Decision.ALLOWED
    return Decision.INCONCLUSIVE


def _fact_terms(facts: tuple[Fact, ...]) -> tuple[Tri, list[str]]:
    """A fact denies (EXPLICIT_DENY), leaves the step open (UNKNOWN) or says nothing (ALLOW)."""
    if not facts:
        return False, []
    deny: Tri = False
    unknowns: list[str] = []
    for fact in facts:
        match fact.outcome:
            case Outcome.EXPLICIT_DENY | Outcome.IMPLICIT_DENY:
                deny = True
            case Outcome.UNKNOWN:
                deny = tri_or(deny, None)
                unknowns.append(fact.unknown or f"{fact.layer}: {fact.note}")
            case Outcome.ALLOW | Outcome.NOT_APPLICABLE:
                pass
            case _ as unreachable:
                assert_never(unreachable)
    return deny, unknowns


_DENIES = (Outcome.EXPLICIT_DENY, Outcome.IMPLICIT_DENY)


def _fact_blocks(facts: tuple[Fact, ...]) -> list[Blocking]:
    return [
        Blocking(f.layer, f.outcome is Outcome.EXPLICIT_DENY, f.evidence, f.note) for f in facts if f.outcome in _DENIES
    ]


def _fact_layers(facts: tuple[Fact, ...]) -> tuple[LayerResult, ...]:
    """Facts about a layer of their own (key state, transport) are reported as a layer; a fact about a policy
    layer (Q3 on the queue policy) shows only as that layer's block."""
    return tuple(
        LayerResult(f.layer, f.outcome, f.evidence, note=f.note)
        for f in facts
        if f.outcome in _DENIES and f.layer in (Layer.KEY_STATE, Layer.TRANSPORT)
    )


def authorize_facts(action: str, resource: str, facts: tuple[Fact, ...]) -> StepResult:
    """A step with no policy to evaluate (TLS on an SSE queue, a key that is missing or unreadable): decided
    by the same table as :func:`authorize`, on the facts alone."""
    deny, unknowns = _fact_terms(facts)
    return StepResult(
        step=action,
        resource=resource,
        decision=decide(deny, True),
        layers=_fact_layers(facts),
        blocking=tuple(_fact_blocks(facts)),
        unknowns=tuple(unknowns) if deny is None else (),
    )


@dataclass(slots=True)
class _Terms:
    """The terms of the grant path of one step, read once from the layers: how the resource side and the
    identity side combine (E3-E5, K1-K3, K7). ``path`` decides with them and ``_path_blockers`` blames with
    the same terms."""

    kms: bool
    service: bool
    same_account: bool
    direct: Tri  # the resource policy names the caller itself (session, user, service, "*")
    role_grant: Tri  # ... names the caller's role
    delegation: Tri  # ... names the caller's account: delegates to its IAM
    grant: Tri  # a KMS grant allows (K7)
    identity: Tri
    limits: Tri  # boundary and session policy (E7, E8)
    grant_needs_iam: bool

    @property
    def path(self) -> Tri:
        if self.service:
            return self.direct
        if self.same_account:
            via_iam = (
                tri_and(self.delegation, self.identity, self.limits)
                if self.kms
                else tri_and(self.identity, self.limits)
            )
            return tri_or(self.direct, tri_and(self.role_grant, self.limits), via_iam, self.grant)
        any_grant = tri_or(self.direct, self.role_grant, self.delegation)
        grant_iam = tri_and(self.identity, self.limits) if self.grant_needs_iam else self.limits
        return tri_or(tri_and(any_grant, self.identity, self.limits), tri_and(self.grant, grant_iam))


def _gather(inp: AuthzInput, resource_name: Layer, is_service: bool) -> dict[Layer, _Layer]:
    """Every policy layer that applies to this caller, evaluated (E2 stage order; SCPs never bind services)."""
    request, caller, action_text = inp.request, inp.request.caller, inp.request.action
    parts: dict[Layer, _Layer] = {}
    if inp.rcp is not None:
        parts[Layer.RCP] = _org_layer(Layer.RCP, inp.rcp, request, action_text)
    if inp.scp is not None and not is_service:
        parts[Layer.SCP] = _org_layer(Layer.SCP, inp.scp, request, action_text)
    parts[resource_name] = _layer(resource_name, inp.resource_policy, request, action_text)
    if not is_service:
        if caller.type is PrincipalType.ROOT:
            parts[Layer.IDENTITY] = _synthetic_allow(Layer.IDENTITY, "account root user in its own account (E1)")
        elif inp.identity is not None:
            parts[Layer.IDENTITY] = _layer(Layer.IDENTITY, inp.identity, request, action_text)
        for name, docs in ((Layer.BOUNDARY, inp.boundary), (Layer.SESSION, inp.session)):
            if docs is not None:
                parts[name] = _layer(name, docs, request, action_text)
        if inp.kms and inp.grants is not None:
            grants = evaluate_grants(inp.grants, request, inp.encryption_context)
            parts[Layer.GRANT] = _Layer(False, grants.allow, grants.result)
    if inp.vpce is not None:
        parts[Layer.VPCE] = _layer(Layer.VPCE, inp.vpce, request, action_text)
    return parts


def _terms(inp: AuthzInput, parts: dict[Layer, _Layer], resource_name: Layer, is_service: bool) -> _Terms:
    caller = inp.request.caller
    res = parts[resource_name]
    unknown_res = bool(inp.resource_policy.unknown)
    is_role = caller.type is PrincipalType.ROLE_SESSION

    def allow_of(name: Layer, missing: Tri) -> Tri:
        return parts[name].allow if name in parts else missing

    return _Terms(
        kms=inp.kms,
        service=is_service,
        same_account=not is_service and caller.account == inp.resource_account,
        direct=_allow_by(res.decision, _DIRECT_ROLE if is_role else _DIRECT_OTHER, unknown_res),
        role_grant=_allow_by(res.decision, _ROLE_ROLE if is_role else _ROLE_OTHER, unknown_res),
        delegation=_allow_by(res.decision, _ACCOUNT, unknown_res),
        grant=allow_of(Layer.GRANT, False),
        identity=allow_of(Layer.IDENTITY, False),
        limits=tri_and(allow_of(Layer.BOUNDARY, True), allow_of(Layer.SESSION, True)),
        grant_needs_iam=inp.cross_account_grant_needs_iam,
    )


def authorize(inp: AuthzInput) -> StepResult:
    """Decide one step (one action on one resource by one caller) the way AWS combines its layers.

    Gather: each policy layer is evaluated three-valued into (deny, allow) with its evidence; the
    non-policy facts (N4, K8-K11, Q3) join as terms of their own. Decide: explicit denies OR-ed, the grant
    path of this caller form (E3-E5, K1-K3, K7) AND-ed with the layers every call must pass (SCP, RCP, VPC
    endpoint policy), through :func:`decide`. Blame: every explicit deny, every required layer that does not
    allow, and the layers of the grant path that fail (``_path_blockers``), in AWS's evaluation order.
    """
    is_service = inp.request.caller.type in (PrincipalType.SERVICE, PrincipalType.ANONYMOUS)
    resource_name = Layer.KEY_POLICY if inp.kms else Layer.RESOURCE
    parts = _gather(inp, resource_name, is_service)
    terms = _terms(inp, parts, resource_name, is_service)
    path = terms.path
    required = (Layer.RCP, Layer.SCP, Layer.VPCE)  # every call must pass these (O1, O3, N1)

    fact_deny, fact_unknowns = _fact_terms(inp.facts)
    explicit = tri_or(fact_deny, *(p.deny for p in parts.values()))
    allowed = tri_and(path, *[parts[name].allow for name in required if name in parts])
    decision = decide(explicit, allowed)

    blocking = [Blocking(name, True, part.result.evidence) for name, part in parts.items() if part.deny is True]
    for name in required:
        if name in parts and parts[name].allow is False and parts[name].deny is not True:
            blocking.append(Blocking(name, False, parts[name].result.evidence, parts[name].result.note))
    if path is False:
        blocking.extend(_path_blockers(parts, resource_name, terms))
    if blocking:
        blocking = _dedupe_sorted(blocking)
    if inp.facts:
        blamed = {b.layer for b in blocking}
        first = _fact_blocks(tuple(f for f in inp.facts if f.first and f.layer not in blamed))
        later = _fact_blocks(tuple(f for f in inp.facts if not f.first and f.layer not in blamed))
        blocking = [*first, *blocking, *later]

    unknowns: list[str] = []
    if decision is Decision.INCONCLUSIVE:
        for part in parts.values():
            if part.deny is None or part.allow is None:
                unknowns.extend(f"{part.result.layer}: {r.describe()}" for r in part.result.residuals)
                unknowns.extend(f"{part.result.layer}: could not read {u}" for u in part.result.unreadable)
        unknowns.extend(fact_unknowns)
        if not unknowns:
            unknowns.append("a layer's outcome could not be determined")
    return StepResult(
        step=inp.request.action,
        resource=inp.request.resource,
        decision=decision,
        layers=_fact_layers(inp.facts) + tuple(parts[name].result for name in ORDER if name in parts),
        blocking=tuple(blocking),
        unknowns=tuple(dict.fromkeys(unknowns)),
    )


def _path_blockers(parts: dict[Layer, _Layer], resource_name: Layer, t: _Terms) -> list[Blocking]:
    """Which layers of the grant path to change when it fails (``_Terms.path`` is False): each case of the
    path, read with the same terms, blames the layer AWS's own message names and notes the alternative."""
    res = parts[resource_name].result
    out: list[Blocking] = []

    def limit_blockers() -> None:
        for name in (Layer.BOUNDARY, Layer.SESSION):
            if name in parts and parts[name].allow is False and parts[name].deny is not True:
                out.append(Blocking(name, False, parts[name].result.evidence))

    identity_evidence = parts[Layer.IDENTITY].result.evidence if Layer.IDENTITY in parts else ()
    if t.service:
        return [Blocking(resource_name, False, res.evidence, f"{resource_name} must name the service principal")]
    if t.same_account and not t.kms:
        if tri_or(t.direct, t.role_grant, t.identity) is False:
            note = ""
            if t.delegation is True:
                note = "the queue policy names the account, which only delegates to IAM (E4)"
            out.append(
                Blocking(
                    Layer.IDENTITY,
                    False,
                    identity_evidence,
                    note,
                    alternative="a queue-policy statement naming this role, session or user would also grant",
                )
            )
        limit_blockers()
        return out
    if t.same_account:  # KMS, same account (K1, K2)
        if tri_or(t.direct, t.role_grant, t.grant) is False:
            if t.delegation is False:
                out.append(
                    Blocking(
                        Layer.KEY_POLICY,
                        False,
                        res.evidence,
                        "the key policy neither names the caller nor enables IAM policies (K1)",
                        alternative="a KMS grant to the caller would also allow",
                    )
                )
            elif t.identity is False:
                out.append(
                    Blocking(
                        Layer.IDENTITY,
                        False,
                        identity_evidence,
                        "the key policy delegates to IAM (K1, K2)",
                        alternative="a key-policy statement naming the caller would also allow",
                    )
                )
        limit_blockers()
        return out
    # Cross account: both sides must allow (E5, K3).
    if tri_or(t.direct, t.role_grant, t.delegation, t.grant) is False:
        note = (
            "cross-account: the key policy must allow the caller or its account (K3)"
            if t.kms
            else ("cross-account: the queue policy must allow the caller or its account (E5)")
        )
        out.append(Blocking(resource_name, False, res.evidence, note))
    if t.identity is False and not (t.grant is True and not t.grant_needs_iam):
        note = (
            "cross-account: the caller's own account must allow it too (K3)"
            if t.kms
            else ("cross-account: the caller's own account must allow it too (E5)")
        )
        out.append(Blocking(Layer.IDENTITY, False, identity_evidence, note))
    limit_blockers()
    return out


def _dedupe_sorted(blocking: list[Blocking]) -> list[Blocking]:
    seen: dict[Layer, Blocking] = {}
    for b in blocking:
        if b.layer not in seen or (b.explicit and not seen[b.layer].explicit):
            seen[b.layer] = b
    return sorted(seen.values(), key=lambda b: (not b.explicit, _RANK[b.layer]))
