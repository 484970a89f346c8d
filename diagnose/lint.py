"""Existing Allow statements broader than a share needs: warnings only, never a verdict change (E6)."""

from __future__ import annotations

from typing import Any

from diagnose.arns import parse_arn
from diagnose.managed_keys import is_aws_managed
from diagnose.remedy.apply import statements_of as _statements
from diagnose.snapshot import Key, Principal, Queue


def _is_star(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        aws = principal.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


def _actions(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Action", [])
    return [value] if isinstance(value, str) else [a for a in value if isinstance(a, str)]


def _label(statement: dict[str, Any], index: int) -> str:
    return f"Sid {statement['Sid']!r}" if statement.get("Sid") else f"Statement[{index}]"


def broad_statements(queue: Queue, key: Key | None, principal: Principal | None) -> list[str]:
    """Existing Allow statements broader than the share needs; warnings only, never a verdict change."""
    out: list[str] = []
    for i, st in enumerate(_statements(queue.attributes.get("Policy") or None)):
        if st.get("Effect") != "Allow":
            continue
        where = f"queue policy of {queue.name}, {_label(st, i)}"
        if _is_star(st.get("Principal")) and not st.get("Condition"):
            out.append(f'{where}: Principal "*" without conditions opens the queue to anyone, even unsigned calls (E6)')
        if any(a.lower() in ("sqs:*", "*") for a in _actions(st)):
            out.append(f"{where}: grants every SQS action (sqs:*); name the actions the share needs")
    if key is not None and not is_aws_managed(key.manager, key.aliases):
        root = f"arn:{parse_arn(key.arn).partition}:iam::{key.account}:root"
        for i, st in enumerate(_statements(key.policy)):
            if st.get("Effect") != "Allow":
                continue
            where = f"key policy of {key.arn}, {_label(st, i)}"
            if _is_star(st.get("Principal")) and not st.get("Condition"):
                out.append(f'{where}: Principal "*" without conditions lets any principal use the key')
            enables_iam = st.get("Principal") in ({"AWS": root}, {"AWS": key.account})
            if any(a.lower() in ("kms:*", "*") for a in _actions(st)) and not enables_iam:
                out.append(f"{where}: grants every KMS action (kms:*) beyond the key account's own root")
    if principal is not None:
        for doc in principal.policies or ():
            for i, st in enumerate(_statements(doc.document)):
                if st.get("Effect") != "Allow":
                    continue
                where = f"identity policy {doc.name!r} of {principal.arn}, {_label(st, i)}"
                acts = [a.lower() for a in _actions(st)]
                if "*" in acts:
                    out.append(f'{where}: Action "*" allows every action')
                if "sqs:*" in acts:
                    out.append(f"{where}: sqs:* allows every SQS action")
                if "kms:*" in acts:
                    out.append(f"{where}: kms:* allows every KMS action")
                resources = st.get("Resource", [])
                resources = [resources] if isinstance(resources, str) else resources
                if "*" in resources and any(a.startswith("sqs:") or a == "*" for a in acts):
                    out.append(f'{where}: Resource "*" for SQS actions covers every queue; name the queue ARN')
    return out
