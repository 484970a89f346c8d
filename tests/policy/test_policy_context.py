"""``derive_context``: what AWS adds to the context for each kind of caller (C7, P3, P4)."""

from __future__ import annotations

from policy_fixtures import make_caller

from diagnose.policy import RequestContext, derive_context
from diagnose.policy.context import lookup

A = "111111111111"


def test_role_session() -> None:
    ctx = derive_context(make_caller("session-A"), RequestContext())
    assert lookup(ctx, "aws:principalarn") == (f"arn:aws:iam::{A}:role/team/app",)
    assert lookup(ctx, "aws:principalaccount") == (A,)
    assert lookup(ctx, "aws:principaltype") == ("AssumedRole",)
    assert lookup(ctx, "aws:userid") == ("AROAAPPROLEEXAMPLE01:sess",)
    assert lookup(ctx, "aws:username") == ()
    assert lookup(ctx, "aws:principaltag/team") == ("red",)
    assert lookup(ctx, "aws:principaltag/env") == ("Prod",)
    assert lookup(ctx, "aws:principaltag/other") == ()
    assert lookup(ctx, "aws:principalorgid") == ("o-aaaa",)
    assert lookup(ctx, "aws:principalisawsservice") == ("false",)
    assert lookup(ctx, "aws:sourceip") is None
    assert "aws:calledvia" in ctx.multi_valued


def test_unknowns_stay_unknown() -> None:
    ctx = derive_context(make_caller("session-B"), RequestContext())
    assert lookup(ctx, "aws:userid") is None  # unique id not known
    assert lookup(ctx, "aws:principaltag/team") is None  # tags not known
    assert lookup(ctx, "aws:principalorgid") is None  # organisation not known
    assert lookup(ctx, "aws:principalarn") == ("arn:aws:iam::222222222222:role/consumer",)


def test_user_root_federated() -> None:
    user = derive_context(make_caller("user-A"), RequestContext())
    assert lookup(user, "aws:username") == ("Alice",)
    assert lookup(user, "aws:userid") == ("AIDAALICEEXAMPLE0001",)
    assert lookup(user, "aws:principalarn") == (f"arn:aws:iam::{A}:user/dev/Alice",)
    assert lookup(user, "aws:principalorgid") == ()  # org known: not in one
    root = derive_context(make_caller("root-A"), RequestContext())
    assert lookup(root, "aws:principaltype") == ("Account",)
    assert lookup(root, "aws:userid") == (A,)
    assert lookup(root, "aws:principalarn") == (f"arn:aws:iam::{A}:root",)
    fed = derive_context(make_caller("federated-A"), RequestContext())
    assert lookup(fed, "aws:principaltype") == ("FederatedUser",)
    assert lookup(fed, "aws:userid") == (f"{A}:bob",)


def test_service_and_anonymous() -> None:
    svc = derive_context(make_caller("sns"), RequestContext())
    assert lookup(svc, "aws:principalisawsservice") == ("true",)
    assert lookup(svc, "aws:principalservicename") == ("sns.amazonaws.com",)
    for key in ("aws:principalarn", "aws:principalaccount", "aws:principalorgid", "aws:principaltag/x"):
        assert lookup(svc, key) == (), key
    anon = derive_context(make_caller("anonymous"), RequestContext())
    assert lookup(anon, "aws:userid") == ("anonymous",)
    assert lookup(anon, "aws:principalarn") == ()


def test_given_wins_and_is_normalised() -> None:
    given = RequestContext(
        values={"AWS:PrincipalOrgID": ("o-given",), "aws:SourceVpce": "vpce-1"},  # type: ignore[dict-item]
        absent=frozenset({"AWS:PrincipalTag/Team"}),
        closed_prefixes=frozenset({"AWS:ResourceTag/"}),
        multi_valued=frozenset({"X:List"}),
    )
    ctx = derive_context(make_caller("session-A"), given)
    assert lookup(ctx, "aws:principalorgid") == ("o-given",)
    assert lookup(ctx, "aws:sourcevpce") == ("vpce-1",)
    assert lookup(ctx, "aws:principaltag/team") == ()
    assert lookup(ctx, "aws:resourcetag/x") == ()
    assert "x:list" in ctx.multi_valued


def test_derivation_is_idempotent() -> None:
    for name in ("session-A", "session-B", "user-A", "root-A", "federated-A", "sns", "anonymous"):
        caller = make_caller(name)
        once = derive_context(caller, RequestContext(values={"aws:sourceip": ("10.0.0.1",)}, closed=True))
        twice = derive_context(caller, once)
        assert twice == once, name
        assert twice.closed
