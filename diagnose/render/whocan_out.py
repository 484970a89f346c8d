"""who-can output: JSON (stable field names) and text for people."""

from __future__ import annotations

from typing import Any

from diagnose.authz import Decision
from diagnose.verdict import SCHEMA_VERSION
from diagnose.whocan import Entry, WhoCan


def entry_json(entry: Entry) -> dict[str, Any]:
    c, v = entry.candidate, entry.verdict
    out: dict[str, Any] = {
        "principal": c.label,
        "evaluated_as": v.caller.arn,
        "kind": c.kind,
        "hypothetical": c.hypothetical,
        "sources": list(c.sources),
        "decision": v.decision.value,
        "reasons": list(entry.reasons),
    }
    if c.context:
        out["context"] = {k: list(vals) for k, vals in c.context.items()}
    if c.conditions:
        out["conditions"] = list(c.conditions)
    if v.error is not None:
        out["error"] = {"code": v.error.code, "message": v.error.message}
    if v.decision is Decision.INCONCLUSIVE:
        out["depends_on"] = list(v.unknowns)
    if v.decision is Decision.DENIED:
        out["blocking"] = [{"step": b.step, "layer": b.block.layer.value, "reached": b.reached} for b in v.blocking]
    return out


def whocan_json(result: WhoCan) -> dict[str, Any]:
    key = result.key
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "who-can",
        "action": result.action.api,
        "authorized_as": result.action.iam,
        "queue": {
            "arn": result.queue.arn,
            "encryption": result.encryption.mode,
            "kms_master_key_id": result.encryption.key_ref,
            "key_arn": key.arn if key else None,
            "key_manager": key.manager if key else None,
        },
        "can": [entry_json(e) for e in result.can],
        "kms_fails": [entry_json(e) for e in result.kms_fails],
        "inconclusive": [entry_json(e) for e in result.inconclusive],
        "cannot": [entry_json(e) for e in result.cannot],
        "notes": list(result.notes),
    }


def _entry_lines(entry: Entry, detail: bool) -> list[str]:
    c = entry.candidate
    extra = []
    if c.context:
        extra.append(", ".join(f"{k}={'|'.join(v)}" for k, v in c.context.items()))
    if c.conditions:
        extra.append("conditions: " + "; ".join(c.conditions))
    err = f" → {entry.verdict.error.code}" if entry.verdict.error else ""
    out = [f"  {c.label}{err}" + (f" ({'; '.join(extra)})" if extra else "")]
    out.append(f"      from: {', '.join(c.sources)}")
    if detail:
        out.extend(f"      {r}" for r in entry.reasons)
    else:
        out.extend(
            f"      {r}" for r in entry.reasons if any(w in r for w in ("denied", "hypothetical", "inconclusive"))
        )
    return out


def render_whocan_text(result: WhoCan) -> str:
    enc = {"none": "no encryption", "sse-sqs": "SSE-SQS", "sse-kms": f"SSE-KMS with {result.encryption.key_ref}"}[
        result.encryption.mode
    ]
    out = [
        f"WHO CAN {result.action.api} on {result.queue.arn} ({enc}): "
        f"{len(result.can)} can, {len(result.kms_fails)} fail at KMS, "
        f"{len(result.inconclusive)} inconclusive, {len(result.cannot)} cannot",
    ]
    groups = (
        ("Can (SQS and KMS steps both allow):", result.can, True, "nobody in what the snapshot shows"),
        ("Pass the SQS step but fail at KMS (they see KMS.* errors):", result.kms_fails, True, "none"),
        ("Inconclusive (what each depends on):", result.inconclusive, False, "none"),
        ("Cannot:", result.cannot, False, "none"),
    )
    for title, entries, detail, empty in groups:
        out += ["", title]
        for e in entries:
            out.extend(_entry_lines(e, detail))
            if e.verdict.decision is Decision.INCONCLUSIVE:
                out.extend(f"      depends on: {u}" for u in e.verdict.unknowns)
        if not entries:
            out.append(f"  {empty}")
    if result.notes:
        out.append("")
        out.append("Notes")
        out.extend(f"  {n}" for n in result.notes)
    return "\n".join(out) + "\n"
