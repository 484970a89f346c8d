"""What a remedy is: changes as plain data — a typed reference to what is edited, and the edit — and the
change sets that were proven (or not) by re-evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from diagnose.authz.model import Layer
from diagnose.docref import DocRef
from diagnose.snapshot import Key


class ChangeKind(str, Enum):
    """What the administrator does (the JSON ``kind`` of a change)."""

    ADD_STATEMENT = "add-statement"
    NEW_POLICY = "new-policy"
    REMOVE_STATEMENT = "remove-statement"
    NARROW_STATEMENT = "narrow-statement"
    REMOVE_DOCUMENT = "remove-document"
    ATTACH_POLICY = "attach-policy"
    SET_QUEUE_ATTRIBUTES = "set-queue-attributes"
    CREATE_KEY = "create-key"
    ENABLE_KEY = "enable-key"
    CANCEL_KEY_DELETION = "cancel-key-deletion"
    REQUEST = "request"

    def __str__(self) -> str:
        return self.value


# ----------------------------------------------------------------------------------------------- edits


@dataclass(frozen=True)
class AddStatement:
    """Append a statement to the document (a queue policy that does not exist yet is created)."""

    statement: dict[str, Any]


@dataclass(frozen=True)
class RemoveStatement:
    """Remove the statement equal to this one (by content); removing the last one removes the document."""

    statement: dict[str, Any]


@dataclass(frozen=True)
class NarrowStatement:
    """Add one condition to the statement equal to this one (conditions AND together, C1)."""

    statement: dict[str, Any]
    operator: str
    key: str
    value: str


@dataclass(frozen=True)
class DetachPolicy:
    """Detach (or delete) the whole document: for a policy that cannot be edited, such as an AWS managed one."""


@dataclass(frozen=True)
class AttachPolicy:
    """Attach a new policy: an inline policy on a principal, or an SCP/RCP at an org level."""

    name: str
    document: dict[str, Any]


@dataclass(frozen=True)
class SetAttributes:
    attributes: dict[str, str]
    drop: tuple[str, ...] = ()


@dataclass(frozen=True)
class CreateKey:
    key: Key


@dataclass(frozen=True)
class SetKeyState:
    state: str


@dataclass(frozen=True)
class SetContext:
    """Make the call differently: these request-context values."""

    values: dict[str, tuple[str, ...]]


Edit = (
    AddStatement
    | RemoveStatement
    | NarrowStatement
    | DetachPolicy
    | AttachPolicy
    | SetAttributes
    | CreateKey
    | SetKeyState
    | SetContext
)


# ----------------------------------------------------------------------------------------------- changes


ChangeLayer = Layer | Literal["queue"]  # "queue": the queue's own attributes (its encryption)


@dataclass(frozen=True, kw_only=True)
class Change:
    layer: ChangeLayer  # the layer this changes (contract names)
    account: str | None  # whose administrator applies it
    target: str  # the document or resource changed, for people
    kind: ChangeKind
    description: str
    ref: DocRef = field(compare=False)
    edit: Edit = field(compare=False)
    statement: dict[str, Any] | None = None  # the statement added, removed or narrowed
    document: dict[str, Any] | None = None  # the full document after the change, when known
    resource: str | None = None  # what it applies to: queue, key or principal ARN, endpoint or org node id


@dataclass(frozen=True, kw_only=True)
class ChangeSet:
    """Changes that are proposed together, and what re-evaluating every question after them gave."""

    title: str
    changes: tuple[Change, ...]
    verified: bool  # every question is answered "allowed" once all the changes are applied to a copy
    after: tuple[tuple[str, str], ...]  # (question, decision after the changes), e.g. ("ReceiveMessage", "allowed")
    unfixable: tuple[str, ...] = ()
    trade_offs: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def decision_after(self) -> str:
        """The weakest decision after the changes (one question: its decision)."""
        decisions = [d for _, d in self.after]
        for worst in ("denied", "inconclusive", "not verifiable"):
            if worst in decisions:
                return worst
        return "allowed" if decisions else "not verifiable"

    @property
    def inconclusive(self) -> bool:
        return any(d == "inconclusive" for _, d in self.after)


@dataclass(frozen=True, kw_only=True)
class Remedy:
    """The proven change sets for a question (only verified ones are shown), and what cannot be proposed."""

    fixes: tuple[ChangeSet, ...]
    unfixable: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return any(s.verified for s in self.fixes)
