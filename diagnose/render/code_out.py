"""Pre-flight on infrastructure code: JSON (preflight's JSON per check, plus where it is declared), text, and
SARIF 2.1.0 (one result per check that fails or cannot be decided)."""

from __future__ import annotations

import json
from typing import Any

from diagnose import __version__
from diagnose.preflight_code import CodeChange, CodeCheck, CodePreflight
from diagnose.remedy import ChangeKind
from diagnose.render.changes import change_json
from diagnose.render.preflight_out import headline, preflight_json, verification_line
from diagnose.sources.planned import Origin, Planned, SourceKind
from diagnose.verdict import SCHEMA_VERSION

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

# A failing check's rule id: the audit's ids, so one dashboard groups code and deployed findings.
RULES = {
    "broken-wire": "A wire the code declares (subscription, notification, rule target, mapping, pipe) will fail.",
    "broken-share": "A principal of another account that the planned queue policy admits will fail.",
    "inconclusive": "The answer depends on something the code and the snapshots do not determine.",
}


def _rule(check: CodeCheck) -> str:
    if check.status == "inconclusive":
        return "inconclusive"
    return "broken-wire" if check.wire is not None else "broken-share"


def instruction(code: CodeChange, source: SourceKind) -> str:
    """What to change in the code, in its own terms."""
    change, origin = code.change, code.origin
    cfn = source is not SourceKind.TERRAFORM_PLAN
    if change.kind is ChangeKind.CREATE_KEY:
        return (
            "declare a new AWS::KMS::Key with this KeyPolicy and point the queue's KmsMasterKeyId at its Arn"
            if cfn
            else "declare a new aws_kms_key with this policy and set the queue's kms_master_key_id to its arn"
        )
    if origin is None:
        return f"not declared in the code: {change.description}"
    where = origin.resource
    if change.kind is ChangeKind.SET_QUEUE_ATTRIBUTES:
        return (
            f"on {where}: set SqsManagedSseEnabled: true and remove KmsMasterKeyId"
            if cfn
            else f"on {where}: set sqs_managed_sse_enabled = true and remove kms_master_key_id"
        )
    if origin.type == "AWS::SQS::Queue":
        return f"declare an AWS::SQS::QueuePolicy for {where} with this statement"
    verb = "add this policy to" if change.kind is ChangeKind.NEW_POLICY else "add this statement to"
    prop = f"{code.property} of " if code.property else ""
    return f"{verb} {prop}{where}"


def _origin_json(origin: Origin | None) -> dict[str, Any]:
    if origin is None:
        return {"resource": None, "type": None, "file": None, "line": None}
    return {"resource": origin.resource, "type": origin.type, "file": origin.file, "line": origin.line}


def in_code_terms(value: Any, planned: Planned) -> Any:
    """``value`` with each ARN of a declared resource written as the code refers to it (its ARN before deployment
    is a stand-in): ``{"Fn::GetAtt": [LogicalId, "Arn"]}`` in a template, ``${address.arn}`` in Terraform."""
    if isinstance(value, dict):
        return {k: in_code_terms(v, planned) for k, v in value.items()}
    if isinstance(value, list):
        return [in_code_terms(v, planned) for v in value]
    if isinstance(value, str) and value in planned.origins:
        origin = planned.origins[value]
        if planned.kind is SourceKind.TERRAFORM_PLAN:
            return "${" + origin.resource + ".arn}"
        return {"Fn::GetAtt": [origin.resource, "Arn"]}
    return value


def _code_change_json(code: CodeChange, planned: Planned) -> dict[str, Any]:
    body = code.change.statement or code.change.document
    return {
        **_origin_json(code.origin),
        "property": code.property,
        "instruction": instruction(code, planned.kind),
        "code": in_code_terms(body, planned) if body is not None else None,
        "change": change_json(code.change),
    }


def check_json(check: CodeCheck, planned: Planned) -> dict[str, Any]:
    return {
        "check": str(check.kind),
        "wire": str(check.wire) if check.wire else None,
        **_origin_json(check.origin),
        "queue": check.queue,
        "subject": check.subject,
        "status": check.status,
        "reason": check.reason,
        "preflight": preflight_json(check.result) if check.result is not None else None,
        "code_changes": [_code_change_json(c, planned) for c in check.changes],
    }


def code_preflight_json(result: CodePreflight) -> dict[str, Any]:
    planned = result.planned
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "preflight",
        "source": {"kind": str(planned.kind), "files": list(planned.files)},
        "status": result.status,
        "checks": [check_json(c, planned) for c in result.checks],
        "unresolved": [{"what": u.what, "reason": u.reason, **_origin_json(u.origin)} for u in planned.unresolved],
        "notes": list(result.notes),
    }


def _status_word(check: CodeCheck) -> str:
    return {"works": "OK", "changes-needed": "FAIL", "blocked": "FAIL", "inconclusive": "UNKNOWN"}[check.status]


def render_code_text(result: CodePreflight) -> str:
    planned = result.planned
    lines = [f"PREFLIGHT {result.status.upper()}: {len(result.checks)} check(s) of {', '.join(planned.files)}"]
    if not result.checks:
        lines.append("the code declares no wire into a queue and no cross-account grant on one")
    for check in result.checks:
        what = f"{check.wire} wire" if check.wire else "cross-account grant"
        lines.append("")
        lines.append(f"[{_status_word(check)}] {what} {check.origin.label()}: {check.subject} -> {check.queue}")
        if check.result is None:
            lines.append(f"  cannot tell: {check.reason}")
            continue
        lines.append(f"  {headline(check.result)}")
        for v in check.result.before:
            if v.decision.value != "allowed":
                error = f" ({v.error.code})" if v.error else ""
                lines.append(f"  {v.query.action.api}: {v.decision.value}{error}")
                lines.extend(f"    unknown: {u}" for u in v.unknowns)
        if check.result.cannot_work:
            lines.append(f"  {check.result.cannot_work}")
        if check.status != "works":
            lines.append(f"  {verification_line(check.result)}")
        for n, change in enumerate(check.changes, 1):
            lines.append(f"  {n}. {instruction(change, planned.kind)}")
            if change.origin and change.origin.file and change.origin.line:
                lines.append(f"     at {change.origin.file}:{change.origin.line}")
            body = in_code_terms(change.change.statement or change.change.document, planned)
            if body is not None:
                lines.extend("     " + line for line in json.dumps(body, indent=2).splitlines())
    if planned.unresolved:
        lines.append("")
        lines.append("not determined by the code:")
        lines.extend(f"  {u.origin.label()}: {u.what}: {u.reason}" for u in planned.unresolved)
    if result.notes:
        lines.append("")
        lines.extend(f"note: {n}" for n in result.notes)
    return "\n".join(lines) + "\n"


def code_sarif(result: CodePreflight) -> dict[str, Any]:
    planned = result.planned
    results = []
    for check in result.checks:
        if check.status == "works":
            continue
        rule = _rule(check)
        if check.result is None:
            text = f"{check.subject} -> {check.queue}: cannot tell: {check.reason}"
        else:
            text = f"{headline(check.result)}. {verification_line(check.result)}"
        fixes = [instruction(c, planned.kind) for c in check.changes]
        if fixes:
            text += " Fix: " + "; ".join(fixes)
        location: dict[str, Any] = {"physicalLocation": {"artifactLocation": {"uri": check.origin.file or ""}}}
        if check.origin.line:
            location["physicalLocation"]["region"] = {"startLine": check.origin.line}
        location["logicalLocations"] = [{"name": check.origin.resource, "kind": "resource"}]
        results.append(
            {
                "ruleId": rule,
                "level": "warning" if rule == "inconclusive" else "error",
                "message": {"text": text},
                "locations": [location],
                "properties": {
                    "queue": check.queue,
                    "subject": check.subject,
                    "status": check.status,
                    "changes": [_code_change_json(c, planned) for c in check.changes],
                },
            }
        )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sqsdiag",
                        "version": __version__,
                        "rules": [{"id": rid, "shortDescription": {"text": text}} for rid, text in RULES.items()],
                    }
                },
                "results": results,
            }
        ],
    }
