"""Properties of the layer combination (reference E1, E3, E5, K1-K3) that must hold for any policies."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from diagnose.authz import AuthzInput, Decision, Docs, authorize
from diagnose.policy import Caller, PolicyKind, PrincipalType, Request, RequestContext, parse_policy

ACCOUNTS = ("111111111111", "222222222222")
ACTIONS = ("sqs:SendMessage", "sqs:ReceiveMessage", "sqs:*", "sqs:Receive*", "kms:Decrypt", "*")
QUEUE = "arn:aws:sqs:us-east-1:111111111111:orders"
KEY = "arn:aws:kms:us-east-1:111111111111:key/k1"


def _statement(principal: bool) -> st.SearchStrategy[dict[str, Any]]:
    base = {
        "Effect": st.sampled_from(["Allow", "Deny"]),
        "Action": st.sampled_from(ACTIONS),
        "Resource": st.sampled_from(["*", QUEUE, KEY, "arn:aws:sqs:us-east-1:111111111111:other"]),
    }
    if principal:
        base["Principal"] = st.sampled_from(
            [
                "*",
                {"AWS": "arn:aws:iam::111111111111:root"},
                {"AWS": "arn:aws:iam::222222222222:root"},
                {"AWS": "arn:aws:iam::222222222222:role/app"},
                {"AWS": "arn:aws:sts::222222222222:assumed-role/app/s"},
                {"AWS": "arn:aws:iam::111111111111:role/app"},
            ]
        )
    return st.fixed_dictionaries(base)


def _doc(kind: PolicyKind) -> st.SearchStrategy[Any]:
    statements = st.lists(_statement(kind.has_principal), min_size=0, max_size=4)
    return statements.map(
        lambda s: parse_policy({"Version": "2012-10-17", "Statement": s}, origin=kind.value, kind=kind) if s else None
    )


callers = st.sampled_from(ACCOUNTS).map(
    lambda a: Caller(
        PrincipalType.ROLE_SESSION,
        f"arn:aws:sts::{a}:assumed-role/app/s",
        account=a,
        role_arn=f"arn:aws:iam::{a}:role/app",
        session_name="s",
        tags={},
    )
)


@st.composite
def inputs(draw: st.DrawFn) -> AuthzInput:
    kms = draw(st.booleans())
    resource_kind = PolicyKind.KEY if kms else PolicyKind.RESOURCE
    resource_doc, identity_doc = draw(_doc(resource_kind)), draw(_doc(PolicyKind.IDENTITY))
    action = draw(st.sampled_from(["kms:Decrypt"] if kms else ["sqs:SendMessage", "sqs:ReceiveMessage"]))
    caller = draw(callers)
    context = RequestContext(values={"aws:securetransport": ("true",)}, closed=True)
    return AuthzInput(
        request=Request(caller, action, KEY if kms else QUEUE, context),
        resource_account="111111111111",
        kms=kms,
        resource_policy=Docs((resource_doc,) if resource_doc else ()),
        identity=Docs((identity_doc,) if identity_doc else ()),
    )


def _with_identity_statement(inp: AuthzInput, statement: dict[str, Any]) -> AuthzInput:
    extra = parse_policy({"Version": "2012-10-17", "Statement": [statement]}, origin="extra", kind=PolicyKind.IDENTITY)
    assert inp.identity is not None
    return AuthzInput(**{**inp.__dict__, "identity": Docs((*inp.identity.policies, extra))})


@settings(max_examples=300, deadline=None)
@given(inputs())
def test_e1_a_matching_explicit_deny_always_denies(inp: AuthzInput) -> None:
    denied = authorize(_with_identity_statement(inp, {"Effect": "Deny", "Action": "*", "Resource": "*"}))
    assert denied.decision is Decision.DENIED
    assert any(b.explicit and b.layer == "identity-policy" for b in denied.blocking)


@settings(max_examples=300, deadline=None)
@given(inputs())
def test_adding_an_identity_allow_never_turns_allowed_into_denied(inp: AuthzInput) -> None:
    before = authorize(inp)
    after = authorize(_with_identity_statement(inp, {"Effect": "Allow", "Action": "*", "Resource": "*"}))
    if before.decision is Decision.ALLOWED:
        assert after.decision is Decision.ALLOWED


@settings(max_examples=300, deadline=None)
@given(inputs())
def test_e5_k3_cross_account_needs_an_identity_allow(inp: AuthzInput) -> None:
    result = authorize(inp)
    if inp.request.caller.account != inp.resource_account and inp.identity and not inp.identity.policies:
        assert result.decision is Decision.DENIED
        assert "identity-policy" in [b.layer for b in result.blocking]


@settings(max_examples=300, deadline=None)
@given(inputs())
def test_k1_no_key_policy_means_no_kms_access(inp: AuthzInput) -> None:
    if inp.kms and not inp.resource_policy.policies:
        result = authorize(inp)
        assert result.decision is Decision.DENIED
        assert result.blocking[0].layer in ("key-policy", "identity-policy")


@settings(max_examples=300, deadline=None)
@given(inputs())
def test_denied_always_names_a_blocking_layer_and_allowed_none(inp: AuthzInput) -> None:
    result = authorize(inp)
    if result.decision is Decision.DENIED:
        assert result.blocking
    if result.decision is Decision.ALLOWED:
        assert result.blocking == ()
    assert result.decision is not Decision.INCONCLUSIVE  # closed context, every document known
