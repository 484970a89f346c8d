"""Existing Allow statements broader than a share needs: warnings only, never a verdict change (E6).

Reads the parsed policies (``diagnose.policy``), so a statement is judged as the engine reads it: a single
``Action`` string and a list alike, ``"*"`` and ``{"AWS": "*"}`` alike (P1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from diagnose.arns import parse_arn
from diagnose.managed_keys import is_aws_managed
from diagnose.policy import PolicyKind, Statement, parse_policy
from diagnose.snapshot import Key, Principal, Queue


def _allows(document: Any, kind: PolicyKind, origin: str) -> Iterator[Statement]:
    if not document:
        return
    for statement in parse_policy(document, origin=origin, kind=kind).statements:
        if statement.effect == "Allow":
            yield statement


def _anyone(st: Statement) -> bool:
    return st.principal is not None and st.principal.wildcard and not st.conditions


def _acts(st: Statement) -> set[str]:
    return {a.lower() for a in st.actions or ()}


def broad_statements(queue: Queue, key: Key | None, principal: Principal | None) -> list[str]:
    """Existing Allow statements broader than the share needs; warnings only, never a verdict change."""
    out: list[str] = []
    for st in _allows(queue.attributes.get("Policy"), PolicyKind.RESOURCE, f"queue policy of {queue.name}"):
        where = f"queue policy of {queue.name}, {st.label}"
        if _anyone(st):
            out.append(f'{where}: Principal "*" without conditions opens the queue to anyone, even unsigned calls (E6)')
        if _acts(st) & {"sqs:*", "*"}:
            out.append(f"{where}: grants every SQS action (sqs:*); name the actions the share needs")
    if key is not None and not is_aws_managed(key.manager, key.aliases):
        root = f"arn:{parse_arn(key.arn).partition}:iam::{key.account}:root"
        for st in _allows(key.policy, PolicyKind.KEY, f"key policy of {key.arn}"):
            where = f"key policy of {key.arn}, {st.label}"
            if _anyone(st):
                out.append(f'{where}: Principal "*" without conditions lets any principal use the key')
            enables_iam = st.principal is not None and st.principal.aws in ((root,), (key.account,))
            if _acts(st) & {"kms:*", "*"} and not enables_iam:
                out.append(f"{where}: grants every KMS action (kms:*) beyond the key account's own root")
    if principal is not None:
        for doc in principal.policies or ():
            origin = f"identity policy {doc.name!r} of {principal.arn}"
            for st in _allows(doc.document, PolicyKind.IDENTITY, origin):
                where = f"{origin}, {st.label}"
                acts = _acts(st)
                if "*" in acts:
                    out.append(f'{where}: Action "*" allows every action')
                if "sqs:*" in acts:
                    out.append(f"{where}: sqs:* allows every SQS action")
                if "kms:*" in acts:
                    out.append(f"{where}: kms:* allows every KMS action")
                if "*" in (st.resources or ()) and any(a.startswith("sqs:") or a == "*" for a in acts):
                    out.append(f'{where}: Resource "*" for SQS actions covers every queue; name the queue ARN')
    return out
