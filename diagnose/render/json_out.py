"""The JSON contract of ``why-denied --format json`` (DESIGN.md): stable field names, schema version."""

from __future__ import annotations

from typing import Any

from diagnose.authz import Blocking, Evidence, LayerResult, StepResult
from diagnose.errors import CallerError
from diagnose.remedy import Remedy
from diagnose.render.changes import fixes_json
from diagnose.verdict import SCHEMA_VERSION, Verdict


def _evidence(items: tuple[Evidence, ...]) -> list[dict[str, Any]]:
    return [{"document": e.document, "statement": e.statement, "effect": e.effect} for e in items]


def _layer(layer: LayerResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "layer": layer.layer.value,
        "outcome": layer.outcome.value,
        "evidence": _evidence(layer.evidence),
    }
    if layer.residuals:
        out["residuals"] = [r.describe() for r in layer.residuals]
    if layer.unreadable:
        out["unreadable"] = list(layer.unreadable)
    if layer.note:
        out["note"] = layer.note
    return out


def _block(step: str, block: Blocking, reached: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "step": step,
        "layer": block.layer.value,
        "kind": "explicit-deny" if block.explicit else "implicit-deny",
        "reached": reached,
        "evidence": _evidence(block.evidence),
    }
    if block.note:
        out["note"] = block.note
    if block.alternative:
        out["alternative"] = block.alternative
    if block.near_misses:
        out["near_misses"] = list(block.near_misses)
    return out


def _step(step: StepResult) -> dict[str, Any]:
    return {
        "step": step.step,
        "resource": step.resource,
        "decision": step.decision.value,
        "reached": step.reached,
        "layers": [_layer(layer) for layer in step.layers],
        "unknowns": list(step.unknowns),
        "notes": list(step.notes),
    }


def error_json(error: CallerError | None) -> dict[str, Any] | None:
    if error is None:
        return None
    return {
        "code": error.code,
        "message": error.message,
        "http_status": error.http_status,
        "operation": error.operation,
        "cli": error.cli,
        "kms_suffix": error.kms_suffix,
        "uncertain": list(error.uncertain),
    }


def verdict_json(verdict: Verdict, fixes: Remedy | None = None) -> dict[str, Any]:
    caller = verdict.caller
    key = verdict.key
    return {
        "schema_version": SCHEMA_VERSION,
        "decision": verdict.decision.value,
        "action": verdict.query.action.api,
        "authorized_as": verdict.query.action.iam,
        "queue": {
            "arn": verdict.queue.arn,
            "url": verdict.queue.url,
            "encryption": verdict.encryption.mode,
            "kms_master_key_id": verdict.encryption.key_ref,
        },
        "key": None
        if key is None
        else {
            "arn": key.arn,
            "status": key.status,
            "manager": key.key.manager if key.key else None,
            "state": key.key.state if key.key else None,
            "aliases": list(key.key.aliases) if key.key else [],
        },
        "principal": {
            "arn": caller.arn,
            "type": caller.type.value,
            "account": caller.account,
            "principal_arn": caller.principal_arn,
        },
        "error": error_json(verdict.error),
        "delivery_side": verdict.delivery_side,
        "blocking": [_block(b.step, b.block, b.reached) for b in verdict.blocking],
        "unknowns": list(verdict.unknowns),
        "steps": [_step(s) for s in verdict.steps],
        "fixes": [] if fixes is None else fixes_json(fixes),
        # null when the call is not denied: there is nothing to fix (docs/json-output.md)
        "fixes_verified": fixes.verified if fixes is not None and verdict.decision.value == "denied" else None,
        "notes": list(verdict.notes),
        "assumptions": list(verdict.assumptions),
    }
