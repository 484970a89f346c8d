"""Text for people (verdict first, then each step and layer, then fixes) and its Markdown twin."""

from __future__ import annotations

import json

from diagnose.authz import Decision, Outcome
from diagnose.remedy import Remedy
from diagnose.verdict import Verdict

_ICON = {
    Outcome.ALLOW: "✓",
    Outcome.EXPLICIT_DENY: "✗",
    Outcome.IMPLICIT_DENY: "✗",
    Outcome.UNKNOWN: "?",
    Outcome.NOT_APPLICABLE: "·",
}


def headline(verdict: Verdict) -> str:
    who, what = verdict.caller.arn, verdict.query.action.api
    if verdict.decision is Decision.ALLOWED:
        return f"ALLOWED: {who} can call {what} on {verdict.queue.arn}"
    if verdict.decision is Decision.INCONCLUSIVE:
        return f"INCONCLUSIVE: {what} by {who} on {verdict.queue.arn} depends on what is listed under 'Unknown'"
    code = verdict.error.code if verdict.error else "denied"
    side = " (delivery-side: the publisher is not told)" if verdict.delivery_side else ""
    return f"DENIED ({code}): {who} cannot call {what} on {verdict.queue.arn}{side}"


def _lines(verdict: Verdict, fixes: Remedy | None, md: bool) -> list[str]:
    bullet = "- " if md else "  "
    sub = "  - " if md else "      "
    code = (lambda s: f"`{s}`") if md else (lambda s: s)
    out = [f"## {headline(verdict)}" if md else headline(verdict), ""]
    enc = verdict.encryption
    enc_text = {
        "none": "no server-side encryption",
        "sse-sqs": "SSE-SQS (SQS managed keys)",
        "sse-kms": f"SSE-KMS with {enc.key_ref}",
        "unknown": "encryption unknown (its attributes could not be read)",
    }[enc.mode]
    if verdict.key and verdict.key.key:
        k = verdict.key.key
        enc_text += "" if k.arn == enc.key_ref else f" → {k.arn}"
        enc_text += f" ({'AWS managed' if k.manager == 'AWS' else 'customer managed'}, {k.state})"
    out.append(f"{'**Queue**' if md else 'Queue'}: {code(verdict.queue.arn)}, {enc_text}")
    out.append(f"{'**Caller**' if md else 'Caller'}: {code(verdict.caller.arn)} ({verdict.caller.type.value})")
    if verdict.error:
        out.append(f"{'**Error the caller sees**' if md else 'Error the caller sees'}: {code(verdict.error.cli)}")
        for u in verdict.error.uncertain:
            out.append(f"{sub}note: {u}")
    out.append("")
    out.append("### Steps" if md else "Steps")
    for step in verdict.steps:
        reached = "" if step.reached else " (not reached: an earlier step fails; must change too)"
        out.append(f"{bullet}{code(step.step)} on {code(step.resource)}: {step.decision.value.upper()}{reached}")
        for layer in step.layers:
            ev = "; ".join(str(e) for e in layer.evidence[:3]) or "-"
            out.append(f"{sub}{_ICON[layer.outcome]} {layer.layer}: {layer.outcome.value} — {ev}")
            if layer.note:
                out.append(f"{sub}  {layer.note}")
    if verdict.blocking:
        out.append("")
        out.append("### What blocks" if md else "What blocks")
        for entry in verdict.blocking:
            kind = "explicit deny" if entry.block.explicit else "no allow"
            extra = f" — {entry.block.note}" if entry.block.note else ""
            alt = f" (alternatively: {entry.block.alternative})" if entry.block.alternative else ""
            reached = "" if entry.reached else " [not reached yet]"
            out.append(f"{bullet}{entry.step} / {entry.block.layer}: {kind}{extra}{alt}{reached}")
            out.extend(f"{sub}almost: {miss}" for miss in entry.block.near_misses)
    if verdict.unknowns:
        out.append("")
        out.append("### Unknown" if md else "Unknown (the answer depends on these)")
        out.extend(f"{bullet}{u}" for u in verdict.unknowns)
    if fixes is not None and (fixes.fixes or fixes.unfixable):
        out.append("")
        out.append("### Fixes (verified by re-evaluation)" if md else "Fixes (each verified by re-evaluation)")
        for fix in fixes.fixes:
            out.append(f"{bullet}{fix.title}: after it, the call is {fix.decision_after}")
            for change in fix.changes:
                who = f" [account {change.account}]" if change.account else ""
                out.append(f"{sub}{change.description}{who} — {change.target}")
                shown = change.statement if change.statement is not None else change.document  # a new policy
                if shown is not None:
                    text = json.dumps(shown, indent=2 if md else None)
                    out.extend(["", "```json", text, "```", ""] if md else [f"{sub}  {text}"])
            for t in fix.trade_offs:
                out.append(f"{sub}trade-off: {t}")
        for u in fixes.unfixable:
            out.append(f"{bullet}{u}")
    if verdict.notes or verdict.assumptions:
        out.append("")
        out.append("### Notes" if md else "Notes")
        out.extend(f"{bullet}{n}" for n in verdict.notes)
        out.extend(f"{bullet}assumed: {a}" for a in verdict.assumptions)
    return out


def render_text(verdict: Verdict, fixes: Remedy | None = None) -> str:
    return "\n".join(_lines(verdict, fixes, md=False)) + "\n"


def render_markdown(verdict: Verdict, fixes: Remedy | None = None) -> str:
    return "\n".join(_lines(verdict, fixes, md=True)) + "\n"
