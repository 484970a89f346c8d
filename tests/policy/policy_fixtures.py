"""Callers and request builders shared by the policy-engine tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from diagnose.policy import Caller, PrincipalType, Request, RequestContext

A = "111111111111"
B = "222222222222"
QUEUE = f"arn:aws:sqs:us-east-1:{A}:orders"

PRESETS: dict[str, dict[str, Any]] = {
    "session-A": {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{A}:assumed-role/app/sess",
        "account": A,
        "role_arn": f"arn:aws:iam::{A}:role/team/app",
        "session_name": "sess",
        "unique_id": "AROAAPPROLEEXAMPLE01",
        "tags": {"team": "red", "Env": "Prod"},
        "org_id": "o-aaaa",
        "org_known": True,
    },
    "session-B": {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{B}:assumed-role/consumer/worker",
        "account": B,
        "role_arn": f"arn:aws:iam::{B}:role/consumer",
        "session_name": "worker",
        "unique_id": None,
        "tags": None,
    },
    "user-A": {
        "type": "User",
        "arn": f"arn:aws:iam::{A}:user/dev/Alice",
        "account": A,
        "user_name": "Alice",
        "unique_id": "AIDAALICEEXAMPLE0001",
        "tags": {"team": "blue"},
        "org_known": True,
    },
    "root-A": {"type": "Account", "arn": f"arn:aws:iam::{A}:root", "account": A},
    "federated-A": {"type": "FederatedUser", "arn": f"arn:aws:sts::{A}:federated-user/bob", "account": A},
    "sns": {"type": "Service", "arn": "sns.amazonaws.com", "service": "sns.amazonaws.com"},
    "anonymous": {"type": "Anonymous", "arn": "anonymous"},
}


def make_caller(spec: str | Mapping[str, Any] | None) -> Caller:
    """A caller from a preset name, or a mapping of Caller fields (``preset`` names a base to override)."""
    if spec is None:
        spec = "session-A"
    if isinstance(spec, str):
        fields = dict(PRESETS[spec])
    else:
        fields = dict(PRESETS[spec["preset"]]) if "preset" in spec else {}
        fields.update({k: v for k, v in spec.items() if k != "preset"})
    fields["type"] = PrincipalType(fields["type"])
    return Caller(**fields)


def make_context(spec: Mapping[str, Any] | None) -> RequestContext:
    spec = spec or {}
    values = {k.lower(): (tuple(v) if isinstance(v, list) else (v,)) for k, v in spec.get("context", {}).items()}
    return RequestContext(
        values=values,
        absent=frozenset(k.lower() for k in spec.get("absent", [])),
        closed=bool(spec.get("closed", False)),
        closed_prefixes=frozenset(p.lower() for p in spec.get("closed_prefixes", [])),
        multi_valued=frozenset(k.lower() for k in spec.get("multi_valued", [])),
    )


def make_request(caller: Any = None, request: Mapping[str, Any] | None = None) -> Request:
    request = request or {}
    return Request(
        caller=make_caller(caller),
        action=request.get("action", "sqs:ReceiveMessage"),
        resource=request.get("resource", QUEUE),
        context=make_context(request),
    )
