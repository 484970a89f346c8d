"""Pre-flight before sharing a queue: what will break for a consumer or producer, per side, and the
complete least-privilege change set, proven on a copy of the world.

For an *account* (not a specific principal) the question is "some principal of that account whose
identity policy its administrator controls": it is modelled as a hypothetical role of that account
added to a copy of the snapshot (``diagnose.subject``). Each action of the share is one question; the
remedy engine (``diagnose.remedy``) proposes, applies and re-evaluates over all of them at once. A queue on
``alias/aws/sqs`` cannot serve another account or a service principal (S10, S11): the two ways out — SSE-SQS,
or a new customer managed key — are each proven the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from diagnose.authz import Decision, Layer, Outcome
from diagnose.lint import broad_statements
from diagnose.remedy import Change, ChangeSet, Scope, prove, solve, ways_out
from diagnose.remedy.solve import reuse_text
from diagnose.snapshot import Key, Queue, Snapshot
from diagnose.sqs import Action, Encryption, encryption_of, parse_action
from diagnose.subject import Subject, grantee, with_principal
from diagnose.verdict import Assumptions, Query, Verdict, diagnose, require_queue
from diagnose.world import World

CONSUMER_ACTIONS = ("ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes")
PRODUCER_ACTIONS = ("SendMessage",)

Status = Literal["works", "changes-needed", "blocked", "inconclusive"]
CheckResult = Literal["pass", "fail", "unknown"]
EXIT_CODES: dict[str, int] = {"works": 0, "changes-needed": 1, "blocked": 1, "inconclusive": 3}

_QUEUE_SIDE = {Layer.RESOURCE, Layer.RCP}
_KEY_SIDE = {Layer.KEY_POLICY, Layer.GRANT, Layer.RCP, Layer.KEY_STATE}


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Check:
    """One layer's result on one side, over the steps and actions where it is the same."""

    side: str
    layer: Layer
    result: CheckResult
    steps: tuple[str, ...]  # e.g. ("sqs:ReceiveMessage", "sqs:DeleteMessage") or ("kms:Decrypt",)
    actions: tuple[str, ...]  # the SQS actions whose evaluation showed it
    evidence: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Side:
    account: str  # account id, or the service principal
    roles: tuple[str, ...]  # "queue owner", "key owner", "consumer" / "producer"
    checks: tuple[Check, ...]
    changes: tuple[Change, ...]

    def by_result(self, result: str) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.result == result)


@dataclass(frozen=True, kw_only=True)
class Preflight:
    status: Status
    queue: Queue
    encryption: Encryption
    key: Key | None
    subject: Subject
    actions: tuple[Action, ...]
    before: tuple[Verdict, ...]
    sides: tuple[Side, ...]
    change_set: ChangeSet | None  # None: works as is, or cannot work as is (see ``cannot_work``)
    alternatives: tuple[ChangeSet, ...]
    cannot_work: str | None
    encryption_notes: tuple[str, ...]
    warnings: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def verified(self) -> ChangeSet | None:
        """The first change set proven to make every action succeed."""
        sets = ((self.change_set,) if self.change_set else ()) + self.alternatives
        return next((s for s in sets if s.verified), None)


# --------------------------------------------------------------------------- the whole pre-flight


def _questions(queue_arn: str, subject: Subject, actions: tuple[Action, ...]) -> tuple[Query, ...]:
    return tuple(Query(queue_arn, subject.evaluated_as, action, subject.context) for action in actions)


def _verdicts(snap: Snapshot, questions: tuple[Query, ...], assumptions: Assumptions) -> list[Verdict]:
    world = World(snap)
    return [diagnose(snap, q, assumptions, world=world) for q in questions]


def preflight(
    snapshot: Snapshot,
    queue_arn: str,
    subject: Subject,
    actions: tuple[Action, ...] | None = None,
    assumptions: Assumptions | None = None,
) -> Preflight:
    """Will the share work for every action of ``subject``? If not: per side what fails, and one change set
    (or, on an unusable key, the ways out) proven by re-asking every action on a copy with the changes."""
    assumptions = assumptions or Assumptions()
    queue = require_queue(snapshot, queue_arn)
    if actions is None:
        actions = tuple(parse_action(a) for a in (CONSUMER_ACTIONS if subject.role == "consumer" else PRODUCER_ACTIONS))
    if not actions:
        raise ValueError("--actions: give at least one SQS action")

    # The world as it is (with the hypothetical principal of an account), and the model the needs are
    # computed on: a principal absent from the snapshot is modelled there with no identity policy.
    base = snapshot
    if subject.hypothetical:
        base = with_principal(base, subject.evaluated_as, "role")
    world = World(base)
    caller, principal = world.caller(subject.evaluated_as)
    if (
        subject.kind == "principal"
        and caller.principal_arn
        and subject.principal_entry.get("AWS") != caller.principal_arn
    ):
        # P3: a session ARN drops the role's path; policies must name the role ARN with it, as the snapshot has it.
        subject = replace(subject, principal_entry={"AWS": caller.principal_arn})
    model = base
    notes: list[str] = []
    if subject.kind == "principal" and principal is None:
        ref = caller.principal_arn or subject.evaluated_as
        model = with_principal(base, ref, "user" if ":user/" in ref else "role")
        notes.append(
            f"the identity policies of {ref} are not in the snapshot: the identity statements below are what it "
            "needs at least; collect it (sqsdiag collect --principal ...) to prove the change set"
        )
    if subject.hypothetical:
        notes.append(
            f"{subject.account} is evaluated as some role of that account whose identity policy its administrator "
            f"controls (modelled as {subject.evaluated_as}, with only the statements proposed here)"
        )

    questions = _questions(queue_arn, subject, actions)
    before = tuple(_verdicts(base, questions, assumptions))
    enc = encryption_of(queue)
    key = next((v.key.key for v in before if v.key and v.key.key), None)
    warnings = broad_statements(queue, key, principal)
    if subject.kind == "service" and not subject.source_arn:
        warnings.append(
            "no --source-arn: the statements cannot be scoped to the sending resource (confused deputy, Q6/S12); "
            "give the topic, bucket or rule ARN"
        )
    for v in before:
        if v.key is not None:
            notes.extend(v.key.notes)
    if subject.kind == "service":
        notes.append(
            f"{subject.given} delivers on its own: a failure shows in its delivery logs/metrics, never as an error "
            "to the publisher (X8)"
        )

    change_set: ChangeSet | None = None
    alternatives: list[ChangeSet] = []
    cannot_work: str | None = None
    encryption_notes: list[str] = []
    works = all(v.decision is Decision.ALLOWED for v in before)

    if enc.mode == "sse-kms":
        encryption_notes.append(reuse_text(enc.reuse_seconds))
    elif enc.mode == "sse-sqs":
        encryption_notes.append("SSE-SQS: no KMS call and no KMS permission is involved (S1)")

    if not works:
        identity_arn = None if subject.kind == "service" else (principal.arn if principal else caller.principal_arn)
        who = grantee(subject, identity_arn)
        changes, needs = solve(model, questions, who, assumptions, Scope.SHARE)
        if needs.managed_key is not None or needs.unusable_key:
            managed = needs.managed_key
            cannot_work = (
                f"the queue is encrypted with the AWS managed key alias/aws/sqs ({managed.arn}): its key policy "
                f"admits only principals of {managed.account} calling through SQS (kms:CallerAccount="
                f"{managed.account}, kms:ViaService=sqs.{managed.region}.amazonaws.com) and cannot be changed, so "
                f"no statement can open it to {subject.given} (S10, S11)"
                if managed is not None
                else "the queue's key cannot serve it as it is (missing, wrong Region, wrong type, or not usable: "
                "K8-K11)"
            )
            alternatives.extend(ways_out(base, model, questions, who, assumptions, Scope.SHARE, managed))
        elif changes or needs.unfixable:
            ok, after = prove(base, questions, changes, assumptions) if changes else (False, ())
            if not changes:
                after = tuple((v.query.action.api, v.decision.value) for v in before)
            change_set = ChangeSet(
                title="apply all of these changes",
                changes=changes,
                verified=ok,
                after=after,
                unfixable=tuple(needs.unfixable),
            )

    status = _status(works, before, change_set, alternatives)
    sides = _sides(before, queue, key, subject, change_set.changes if change_set else ())
    return Preflight(
        status=status,
        queue=queue,
        encryption=enc,
        key=key,
        subject=subject,
        actions=actions,
        before=before,
        sides=sides,
        change_set=change_set,
        alternatives=tuple(alternatives),
        cannot_work=cannot_work,
        encryption_notes=tuple(encryption_notes),
        warnings=tuple(dict.fromkeys(warnings)),
        notes=tuple(dict.fromkeys(notes)),
    )


def _status(
    works: bool, before: tuple[Verdict, ...], change_set: ChangeSet | None, alternatives: list[ChangeSet]
) -> Status:
    if works:
        return "works"
    sets = ([change_set] if change_set else []) + alternatives
    if any(s.verified for s in sets):
        return "changes-needed"
    if any(v.decision is Decision.INCONCLUSIVE for v in before) or any(s.inconclusive for s in sets):
        return "inconclusive"
    return "blocked"


# --------------------------------------------------------------------------- sides


def _side_of(layer: Layer, step: str, queue: Queue, key_account: str | None, subject: Subject) -> str:
    if step.startswith("kms:"):
        if layer in _KEY_SIDE and key_account:
            return key_account
        return subject.side or "?"
    if layer in _QUEUE_SIDE:
        return queue.account
    return subject.side or "?"


def _checks(verdicts: tuple[Verdict, ...], queue: Queue, key: Key | None, subject: Subject) -> dict[str, list[Check]]:
    """Layer results per side, grouped by (layer, result, SQS or the KMS operation)."""
    groups: dict[tuple[str, Layer, CheckResult, str], dict[str, dict[str, None]]] = {}
    for verdict in verdicts:
        for step in verdict.steps:
            blocking = {b.layer: b.note for b in step.blocking}
            for layer in step.layers:
                if layer.outcome is Outcome.NOT_APPLICABLE:
                    continue
                result: CheckResult
                if layer.outcome is Outcome.ALLOW:
                    result = "pass"
                elif layer.outcome is Outcome.UNKNOWN:
                    result = "unknown"
                elif layer.layer in blocking:
                    result = "fail"
                else:
                    continue  # denies nothing by itself: another layer grants (E3)
                evidence = [str(e) for e in layer.evidence[:3]]
                if result == "unknown":
                    evidence += [r.describe() for r in layer.residuals]
                    evidence += [f"could not read {u}" for u in layer.unreadable]
                side = _side_of(layer.layer, step.step, queue, key.account if key else None, subject)
                kind = "sqs" if step.step.startswith("sqs:") else step.step
                group = groups.setdefault(
                    (side, layer.layer, result, kind), {"steps": {}, "actions": {}, "evidence": {}, "notes": {}}
                )
                group["steps"][step.step] = None
                group["actions"][verdict.query.action.api] = None
                group["evidence"].update(dict.fromkeys(evidence))
                if result == "fail" and blocking[layer.layer]:
                    group["notes"][blocking[layer.layer]] = None
    out: dict[str, list[Check]] = {}
    for (side, layer_name, result, _), parts in groups.items():
        out.setdefault(side, []).append(
            Check(
                side,
                layer_name,
                result,
                tuple(parts["steps"]),
                tuple(parts["actions"]),
                tuple(parts["evidence"]),
                tuple(parts["notes"]),
            )
        )
    return out


def _sides(
    verdicts: tuple[Verdict, ...],
    queue: Queue,
    key: Key | None,
    subject: Subject,
    changes: tuple[Change, ...],
) -> tuple[Side, ...]:
    roles: dict[str, list[str]] = {queue.account: ["queue owner"]}
    if key is not None:
        roles.setdefault(key.account, []).append("key owner")
    roles.setdefault(subject.side or "?", []).append(subject.role)
    checks = _checks(verdicts, queue, key, subject)
    for side in checks:
        roles.setdefault(side, [])
    return tuple(
        Side(
            account,
            tuple(r),
            tuple(checks.get(account, [])),
            tuple(c for c in changes if (c.account or subject.side) == account),
        )
        for account, r in roles.items()
    )
