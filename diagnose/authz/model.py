"""Inputs and results of one authorization step (one action on one resource by one caller)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import NoReturn

from diagnose.policy import Policy, Request, Residual, StatementResult


class Layer(str, Enum):
    """The layers of one authorization step, as the JSON contract spells them (DESIGN.md)."""

    IDENTITY = "identity-policy"
    RESOURCE = "resource-policy"  # the queue policy
    KEY_POLICY = "key-policy"
    GRANT = "grant"
    BOUNDARY = "permissions-boundary"
    SESSION = "session-policy"
    SCP = "scp"
    RCP = "rcp"
    VPCE = "vpc-endpoint-policy"
    KEY_STATE = "key-state"  # not a policy: the key's state, type or existence (K8-K11)
    TRANSPORT = "transport"  # not a policy: TLS and SigV4 on SSE queues (N4)

    def __str__(self) -> str:  # f-strings print the contract name on every Python version
        return self.value


class Outcome(str, Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit-deny"
    IMPLICIT_DENY = "implicit-deny"  # no statement allows
    UNKNOWN = "unknown"  # depends on a residual condition or on a document we could not read
    NOT_APPLICABLE = "not-applicable"


class Decision(str, Enum):
    ALLOWED = "allowed"
    DENIED = "denied"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class Docs:
    """The documents of one layer (or one org level); ``unknown`` names what could not be read."""

    policies: tuple[Policy, ...] = ()
    unknown: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrgLevels:
    """SCPs or RCPs along an org path, root first; every level must allow (O1, O3)."""

    levels: tuple[tuple[str, Docs], ...] = ()  # (node label, its documents)
    unknown: tuple[str, ...] = ()  # e.g. "organization path of account 111111111111"


@dataclass(frozen=True)
class GrantInfo:
    """A KMS grant as the authorizer needs it (K7)."""

    grant_id: str
    grantee: str
    operations: tuple[str, ...]
    context_equals: dict[str, str] | None = None
    context_subset: dict[str, str] | None = None
    name: str | None = None


@dataclass(frozen=True)
class Grants:
    grants: tuple[GrantInfo, ...] = ()
    unknown: tuple[str, ...] = ()
    origin: str = "grants"


@dataclass(frozen=True, kw_only=True)
class AuthzInput:
    """Everything one step is decided on. ``None`` for a layer means it does not apply.

    ``resource_policy`` with no policies and nothing unknown means the resource has no policy.
    For a KMS key, ``resource_policy`` is the key policy and ``grants`` its grants (K1-K3, K7).
    """

    request: Request
    resource_account: str
    kms: bool = False
    resource_policy: Docs = field(default_factory=Docs)
    identity: Docs | None = None
    boundary: Docs | None = None
    session: Docs | None = None
    scp: OrgLevels | None = None
    rcp: OrgLevels | None = None
    vpce: Docs | None = None
    grants: Grants | None = None
    encryption_context: dict[str, str] | None = None  # for grant constraints; None = unknown
    cross_account_grant_needs_iam: bool = False  # K7 (UNVERIFIED): default per the KMS flowchart
    facts: tuple[Fact, ...] = ()  # non-policy conditions of the step (N4, K8-K11, Q3)


@dataclass(frozen=True)
class Evidence:
    document: str
    statement: str  # "Sid 'x'" or "Statement[2]", or a short fact ("no statement allows")
    effect: str | None = None
    index: int | None = None  # the statement's position in its document, when it is one

    def __str__(self) -> str:
        return f"{self.document}: {self.statement}" + (f" ({self.effect})" if self.effect else "")


@dataclass(frozen=True)
class LayerResult:
    layer: Layer
    outcome: Outcome
    evidence: tuple[Evidence, ...] = ()
    residuals: tuple[Residual, ...] = ()
    unreadable: tuple[str, ...] = ()
    note: str = ""

    @property
    def blocks(self) -> bool:
        return self.outcome in (Outcome.EXPLICIT_DENY, Outcome.IMPLICIT_DENY)


@dataclass(frozen=True)
class Blocking:
    """A layer that blocks the step, and what would unblock it."""

    layer: Layer
    explicit: bool
    evidence: tuple[Evidence, ...] = ()
    note: str = ""
    alternative: str | None = None  # another layer that could grant instead
    near_misses: tuple[str, ...] = ()  # Allow statements that almost apply, and what fails in each


@dataclass(frozen=True)
class Fact:
    """A condition of the step that is not a policy: TLS/SigV4 on SSE queues (N4), the key's state, type or
    existence (K8-K11), an action that cannot be granted across accounts (Q3). ``EXPLICIT_DENY`` denies
    whatever the policies say; ``UNKNOWN`` leaves the step inconclusive unless something else denies.
    ``first``: report it ahead of the policy layers (the order AWS checks them in, section 12)."""

    layer: Layer
    outcome: Outcome
    evidence: tuple[Evidence, ...] = ()
    note: str = ""
    unknown: str = ""  # what an UNKNOWN fact depends on
    first: bool = True


@dataclass(frozen=True, kw_only=True)
class StepResult:
    step: str  # e.g. "sqs:ReceiveMessage", "kms:Decrypt"
    resource: str
    decision: Decision
    layers: tuple[LayerResult, ...] = ()
    blocking: tuple[Blocking, ...] = ()  # in AWS evaluation order
    unknowns: tuple[str, ...] = ()
    reached: bool = True
    notes: tuple[str, ...] = ()


def evidence_of(results: tuple[StatementResult, ...]) -> tuple[Evidence, ...]:
    return tuple(Evidence(r.policy.origin, r.statement.label, r.statement.effect, r.statement.index) for r in results)


def assert_never(value: NoReturn) -> NoReturn:
    """Exhaustiveness check for ``match`` on an enum: mypy flags a member with no branch (typing's own is 3.11+)."""
    raise AssertionError(f"unhandled value: {value!r}")
