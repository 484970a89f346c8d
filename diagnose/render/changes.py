"""The JSON of remedies: a change, a why-denied fix, a pre-flight change set (docs/json-output.md)."""

from __future__ import annotations

from typing import Any

from diagnose.remedy import Change, ChangeSet, Remedy


def change_json(change: Change) -> dict[str, Any]:
    out: dict[str, Any] = {
        "layer": str(change.layer),
        "account": change.account,
        "target": change.target,
        "kind": change.kind.value,
        "description": change.description,
    }
    if change.resource is not None:
        out["resource"] = change.resource
    if change.statement is not None:
        out["statement"] = change.statement
    if change.document is not None:
        out["document"] = change.document
    return out


def fix_json(fix: ChangeSet) -> dict[str, Any]:
    """A why-denied fix: one question, so one decision after the changes."""
    return {
        "title": fix.title,
        "verified": fix.verified,
        "decision_after": fix.decision_after,
        "changes": [change_json(c) for c in fix.changes],
        "trade_offs": list(fix.trade_offs),
    }


def fixes_json(remedy: Remedy) -> list[dict[str, Any]]:
    return [fix_json(f) for f in remedy.fixes]


def change_set_json(change_set: ChangeSet) -> dict[str, Any]:
    """A pre-flight change set: every action of the share, each with its decision after the changes."""
    return {
        "title": change_set.title,
        "verified": change_set.verified,
        "after": [{"action": a, "decision": d} for a, d in change_set.after],
        "changes": [change_json(c) for c in change_set.changes],
        "unfixable": list(change_set.unfixable),
        "trade_offs": list(change_set.trade_offs),
        "notes": list(change_set.notes),
    }
