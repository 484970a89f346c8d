"""preflight output: JSON (stable field names), text for people, and Markdown as a runbook/ticket."""

from __future__ import annotations

import json
from typing import Any

from diagnose.preflight import Check, Preflight, Side
from diagnose.remedy import Change, ChangeSet
from diagnose.render.changes import change_json, change_set_json
from diagnose.render.json_out import error_json
from diagnose.verdict import SCHEMA_VERSION

VERIFIED = "verified: the call succeeds after these changes"

_CHANGE_VERB = {
    "add-statement": "add this statement to",
    "new-policy": "attach this policy:",
    "set-queue-attributes": "set",
    "create-key": "create",
    "enable-key": "enable",
    "cancel-key-deletion": "cancel the deletion of",
}


def headline(result: Preflight) -> str:
    who = f"{result.subject.given} ({result.subject.role})"
    what = {
        "works": "WORKS AS IS",
        "changes-needed": "CHANGES NEEDED",
        "blocked": "BLOCKED",
        "inconclusive": "INCONCLUSIVE",
    }[result.status]
    return f"PREFLIGHT {what}: sharing {result.queue.arn} with {who}"


def verification_line(result: Preflight) -> str:
    if result.status == "works":
        return "every action is allowed as is: no change is needed"
    verified = result.verified
    if verified is not None:
        return f"{VERIFIED} ({verified.title})"
    if result.status == "inconclusive":
        return "not verified: the answer depends on what is listed as unknown"
    sets = [s for s in (result.change_set, *result.alternatives) if s is not None]
    if any(s.unfixable for s in sets):
        return "not verified: no change set could be proven; see what cannot be fixed by a new statement"
    return "not verified: even with the proposed changes some action is still denied (see the checks after them)"


# --------------------------------------------------------------------------- JSON


def _change_set_json(cs: ChangeSet | None) -> dict[str, Any] | None:
    return None if cs is None else change_set_json(cs)


def _check_json(check: Check) -> dict[str, Any]:
    return {
        "layer": check.layer.value,
        "result": check.result,
        "steps": list(check.steps),
        "actions": list(check.actions),
        "evidence": list(check.evidence),
        "notes": list(check.notes),
    }


def _side_json(side: Side) -> dict[str, Any]:
    return {
        "account": side.account,
        "roles": list(side.roles),
        "passed": [_check_json(c) for c in side.by_result("pass")],
        "failed": [_check_json(c) for c in side.by_result("fail")],
        "unknown": [_check_json(c) for c in side.by_result("unknown")],
        "changes": [change_json(c) for c in side.changes],
    }


def preflight_json(result: Preflight) -> dict[str, Any]:
    subject = result.subject
    key = result.key
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "preflight",
        "status": result.status,
        "verified": result.status == "works" or result.verified is not None,
        "verification": verification_line(result),
        "queue": {
            "arn": result.queue.arn,
            "url": result.queue.url,
            "encryption": result.encryption.mode,
            "kms_master_key_id": result.encryption.key_ref,
            "key_arn": key.arn if key else None,
            "key_manager": key.manager if key else None,
            "data_key_reuse_seconds": result.encryption.reuse_seconds if result.encryption.mode == "sse-kms" else None,
        },
        "subject": {
            "given": subject.given,
            "role": subject.role,
            "kind": subject.kind,
            "account": subject.account,
            "evaluated_as": subject.evaluated_as,
            "hypothetical": subject.hypothetical,
            "principal_entry": subject.principal_entry,
            "source_arn": subject.source_arn,
        },
        "actions": [a.api for a in result.actions],
        "before": [
            {
                "action": v.query.action.api,
                "decision": v.decision.value,
                "error": error_json(v.error),
                "blocking": [
                    {
                        "step": b.step,
                        "layer": b.block.layer.value,
                        "kind": "explicit-deny" if b.block.explicit else "implicit-deny",
                        "reached": b.reached,
                    }
                    for b in v.blocking
                ],
                "unknowns": list(v.unknowns),
            }
            for v in result.before
        ],
        "sides": [_side_json(s) for s in result.sides],
        "change_set": _change_set_json(result.change_set),
        "cannot_work": result.cannot_work,
        "alternatives": [change_set_json(a) for a in result.alternatives],
        "encryption_notes": list(result.encryption_notes),
        "warnings": list(result.warnings),
        "notes": list(result.notes),
    }


# --------------------------------------------------------------------------- text and Markdown


def _json_block(data: Any, md: bool, indent: str) -> list[str]:
    if md:
        return ["", "```json", json.dumps(data, indent=2), "```", ""]
    return [indent + line for line in json.dumps(data, indent=2).splitlines()]


def _verb(change: Change) -> str:
    if change.kind == "new-policy" and change.layer == "resource-policy":
        return "set a queue policy (there is none yet) on"
    return _CHANGE_VERB.get(change.kind, change.kind)


def _change_lines(change: Change, n: int, md: bool) -> list[str]:
    indent = "" if md else "       "
    verb = _verb(change)
    head = f"{n}. {verb} {change.target}: {change.description}"
    out = [f"- [ ] {head}" if md else f"    {head}"]
    if change.statement is not None:
        out.append(f"{indent}statement to add:" if not md else "  Statement to add:")
        out.extend(_json_block(change.statement, md, indent))
    if change.document is not None:
        if change.kind == "add-statement":
            label = "the full document after the change"
        elif change.kind == "set-queue-attributes":
            label = "attributes"
        else:
            label = "the document"
        out.append(f"{indent}{label}:" if not md else f"  {label[:1].upper()}{label[1:]}:")
        out.extend(_json_block(change.document, md, indent))
    return out


def _side_title(account: str, roles: tuple[str, ...], md: bool) -> str:
    kind = "Account" if account.isdigit() else "Service"
    text = f"{kind} {account}" + (f" ({', '.join(roles)})" if roles else "")
    return f"### {text}" if md else text


def _side_lines(side: Side, md: bool) -> list[str]:
    out = [_side_title(side.account, side.roles, md)]
    bullet = "- " if md else "  "
    for result, mark, title in (("pass", "✓", "passes"), ("fail", "✗", "fails"), ("unknown", "?", "unknown")):
        checks = side.by_result(result)
        if not checks:
            continue
        out.append(f"{bullet}{title}:")
        for c in checks:
            notes = f" — {'; '.join(c.notes)}" if c.notes else ""
            evidence = "; ".join(c.evidence[:2])
            out.append(f"    {'- ' if md else ''}{mark} {c.layer}: {', '.join(c.steps)} — {evidence}{notes}")
    if side.changes:
        out.append(f"{bullet}changes for this account's administrator:")
    for n, change in enumerate(side.changes, 1):
        out.extend(_change_lines(change, n, md))
    if not side.checks and not side.changes:
        if side.account.isdigit():
            out.append(f"{bullet}nothing to check or change here")
        else:
            out.append(f"{bullet}a service principal has no identity policy: the queue and key policies decide (S12)")
    out.append("")
    return out


def _by_account(changes: tuple[Change, ...], fallback: str) -> dict[str, list[Change]]:
    grouped: dict[str, list[Change]] = {}
    for c in changes:
        grouped.setdefault(c.account or fallback, []).append(c)
    return grouped


def _alternative_lines(alt: ChangeSet, n: int, result: Preflight, md: bool) -> list[str]:
    state = VERIFIED if alt.verified else "NOT verified"
    after = ", ".join(f"{a} {d}" for a, d in alt.after)
    out = [f"### Way out {n}: {alt.title}" if md else f"Way out {n}: {alt.title}", f"{state} ({after})", ""]
    for account, changes in _by_account(alt.changes, result.subject.side).items():
        out.append(_side_title(account, (), md).replace("###", "####"))
        for i, change in enumerate(changes, 1):
            out.extend(_change_lines(change, i, md))
        out.append("")
    bullet = "- " if md else "  "
    if alt.trade_offs:
        out.append("Trade-offs:")
        out.extend(f"{bullet}{t}" for t in alt.trade_offs)
    if alt.notes:
        out.append("Notes:")
        out.extend(f"{bullet}{t}" for t in alt.notes)
    out.extend(f"{bullet}cannot be fixed by a new statement: {u}" for u in alt.unfixable)
    out.append("")
    return out


def _lines(result: Preflight, md: bool) -> list[str]:
    bullet = "- " if md else "  "
    code = (lambda s: f"`{s}`") if md else (lambda s: s)
    out = [f"# {headline(result)}" if md else headline(result), verification_line(result), ""]
    enc = result.encryption
    enc_text = {
        "none": "no server-side encryption",
        "sse-sqs": "SSE-SQS (SQS managed keys)",
        "sse-kms": f"SSE-KMS with {enc.key_ref}",
    }[enc.mode]
    if result.key is not None:
        managed = "AWS managed" if result.key.manager == "AWS" else "customer managed"
        enc_text += f" ({managed})" if result.key.arn == enc.key_ref else f" → {result.key.arn} ({managed})"
    out.append(f"{'**Queue**' if md else 'Queue'}: {code(result.queue.arn)}, {enc_text}")
    subject = result.subject
    evaluated = f", evaluated as {code(subject.evaluated_as)}" if subject.hypothetical else ""
    out.append(f"{'**Shared with**' if md else 'Shared with'}: {code(subject.given)} as {subject.role}{evaluated}")
    out.append(f"{'**Actions**' if md else 'Actions'}: {', '.join(a.api for a in result.actions)}")
    now = ", ".join(
        f"{v.query.action.api} {v.decision.value}" + (f" ({v.error.code})" if v.error else "") for v in result.before
    )
    today = "Today" + (f" (a role of {subject.account} with no identity policy yet)" if subject.hypothetical else "")
    out.append(f"{f'**{today}**' if md else today}: {now}")
    out.append("")
    if result.cannot_work:
        out.append("## Why it cannot work as is" if md else "Why it cannot work as is")
        out.append(result.cannot_work)
        out.append("")
    out.append("## Per account" if md else "Per account")
    for side in result.sides:
        out.extend(_side_lines(side, md))
    cs = result.change_set
    if cs is not None:
        out.append("## Verification" if md else "Verification")
        after = ", ".join(f"{a} {d}" for a, d in cs.after)
        out.append(
            f"all {len(cs.changes)} change(s) applied together to a copy of the snapshot; every action "
            f"re-evaluated: {after or 'nothing to apply'}"
        )
        out.append(VERIFIED if cs.verified else "NOT verified: the call still fails or is inconclusive after them")
        out.extend(f"{bullet}cannot be fixed by a new statement: {u}" for u in cs.unfixable)
        out.append("")
    if result.alternatives:
        out.append("## Ways out (each verified on a copy of the snapshot)" if md else "Ways out")
        for n, alt in enumerate(result.alternatives, 1):
            out.extend(_alternative_lines(alt, n, result, md))
    unknowns = [u for v in result.before for u in v.unknowns]
    if unknowns:
        out.append("## Unknown" if md else "Unknown (the answer depends on these)")
        out.extend(f"{bullet}{u}" for u in dict.fromkeys(unknowns))
        out.append("")
    if result.encryption_notes:
        out.append("## Encryption" if md else "Encryption")
        out.extend(f"{bullet}{n}" for n in result.encryption_notes)
        out.append("")
    if result.warnings:
        out.append("## Warnings (broader than needed; the verdict is unchanged)" if md else "Warnings")
        out.extend(f"{bullet}{w}" for w in result.warnings)
        out.append("")
    if result.notes:
        out.append("## Notes" if md else "Notes")
        out.extend(f"{bullet}{n}" for n in result.notes)
        out.append("")
    return out


def render_preflight_text(result: Preflight) -> str:
    return "\n".join(_lines(result, md=False)).rstrip() + "\n"


def render_preflight_markdown(result: Preflight) -> str:
    return "\n".join(_lines(result, md=True)).rstrip() + "\n"
