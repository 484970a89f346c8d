"""Types of the IAM policy language and of a request, shared by the whole engine.

Everything here is plain, immutable data. Three-valued answers use ``Tri``:
``True`` (holds), ``False`` (does not hold), ``None`` (unknown: depends on a residual).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

Tri = bool | None
Effect = Literal["Allow", "Deny"]


def tri_and(*values: Tri) -> Tri:
    """Kleene AND: False dominates, then unknown. (``in`` is safe: values are only True, False, None.)"""
    if False in values:
        return False
    if None in values:
        return None
    return True


def tri_or(*values: Tri) -> Tri:
    """Kleene OR: True dominates, then unknown."""
    if True in values:
        return True
    if None in values:
        return None
    return False


def tri_not(value: Tri) -> Tri:
    return None if value is None else not value


class PolicyKind(str, Enum):
    """Which kind of document a policy is; validation rules differ per kind."""

    IDENTITY = "identity"
    RESOURCE = "resource"  # e.g. an SQS queue policy
    KEY = "key"  # a KMS key policy (a resource policy with KMS rules)
    SCP = "scp"
    RCP = "rcp"
    BOUNDARY = "boundary"
    SESSION = "session"
    VPC_ENDPOINT = "vpc-endpoint"

    @property
    def has_principal(self) -> bool:
        """Kinds whose statements carry Principal/NotPrincipal."""
        return self in (PolicyKind.RESOURCE, PolicyKind.KEY, PolicyKind.RCP, PolicyKind.VPC_ENDPOINT)


@dataclass(frozen=True)
class PrincipalSet:
    """The value of a ``Principal`` or ``NotPrincipal`` element, normalised.

    ``"*"`` and ``{"AWS": "*"}`` both set ``wildcard``. Account ids stay as written
    (``"123456789012"`` or ``arn:aws:iam::123456789012:root``); matching treats both alike (P1).
    """

    wildcard: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()


@dataclass(frozen=True)
class Condition:
    """One (operator, key) pair of a Condition block, with its values (ORed; NORed if negated)."""

    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    base: str  # canonical base operator, e.g. "StringLike"
    qualifier: Literal["ForAnyValue", "ForAllValues"] | None
    if_exists: bool
    key: str  # as written; compare with .lower()
    values: tuple[str, ...]  # booleans and numbers normalised to their JSON text ("true", "5")


@dataclass(frozen=True)
class Statement:
    index: int  # position in the document's Statement list (0-based)
    sid: str | None
    effect: Effect
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None  # None and not_resources None: applies to any resource
    not_resources: tuple[str, ...] | None = None
    principal: PrincipalSet | None = None
    not_principal: PrincipalSet | None = None
    conditions: tuple[Condition, ...] = ()

    @property
    def label(self) -> str:
        """How evidence names the statement: its Sid, else its index."""
        return f"Sid {self.sid!r}" if self.sid else f"Statement[{self.index}]"


@dataclass(frozen=True)
class Policy:
    origin: str  # human name of the document, e.g. "queue policy of arn:aws:sqs:...:orders"
    kind: PolicyKind
    statements: tuple[Statement, ...]
    version: str | None = None
    id: str | None = None


class PolicyError(ValueError):
    """A document AWS would reject. ``str(err)`` is one line: origin, JSON path, what is wrong."""

    def __init__(self, origin: str, path: str, message: str) -> None:
        self.origin = origin
        self.path = path
        self.message = message
        where = f"{origin}: {path}" if path else origin
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------- the request


class PrincipalType(str, Enum):
    ROLE_SESSION = "AssumedRole"
    IAM_USER = "User"
    ROOT = "Account"  # the account root user
    FEDERATED_USER = "FederatedUser"
    SERVICE = "Service"  # an AWS service principal, e.g. sns.amazonaws.com
    ANONYMOUS = "Anonymous"


@dataclass(frozen=True)
class Caller:
    """Who makes the request, with what AWS derives about them (P3, P4, C7).

    ``arn`` is the ARN AWS puts in error messages: the session ARN for a role session
    (no role path), the user ARN, ``arn:aws:iam::ACCOUNT:root``, the federated-user ARN, the service
    name for a service principal, ``"anonymous"`` for an unsigned caller.
    """

    type: PrincipalType
    arn: str
    account: str | None = None
    role_arn: str | None = None  # the role ARN with its path (aws:PrincipalArn of a session)
    session_name: str | None = None
    user_name: str | None = None  # IAM users only (aws:username)
    unique_id: str | None = None  # AROA.../AIDA...; None when unknown
    service: str | None = None  # e.g. "sns.amazonaws.com"
    tags: Mapping[str, str] | None = None  # None: tags unknown; {}: known to have none
    org_id: str | None = None  # aws:PrincipalOrgID when known
    org_known: bool = False  # True: org_id is authoritative (None then means "not in an org")

    @property
    def principal_arn(self) -> str | None:
        """``aws:PrincipalArn``: the role ARN for a session, else the caller ARN."""
        if self.type is PrincipalType.ROLE_SESSION:
            return self.role_arn
        if self.type in (PrincipalType.SERVICE, PrincipalType.ANONYMOUS):
            return None
        return self.arn


@dataclass(frozen=True)
class RequestContext:
    """Condition-key values of a request. Keys are compared case-insensitively (C4).

    A key is *present* when in ``values``, *absent* when in ``absent`` or when ``closed`` is true or its
    name starts with one of ``closed_prefixes`` (e.g. ``aws:principaltag/`` once the tags are known),
    and *unknown* otherwise. Unknown keys make conditions unknown instead of false.
    """

    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # lower-case key -> values
    absent: frozenset[str] = frozenset()  # lower-case keys
    closed: bool = False
    closed_prefixes: frozenset[str] = frozenset()  # lower-case prefixes
    multi_valued: frozenset[str] = frozenset()  # lower-case keys that are multi-valued (aws:CalledVia, ...)


@dataclass(frozen=True)
class Request:
    caller: Caller
    action: str  # "service:Action", e.g. "sqs:ReceiveMessage"
    resource: str  # the resource ARN
    context: RequestContext = field(default_factory=RequestContext)


# --------------------------------------------------------------------------- results


class PrincipalMatch(str, Enum):
    """Which form of Principal matched the caller; E4 makes the layer logic depend on it."""

    WILDCARD = "wildcard"  # "*" or {"AWS": "*"}
    ACCOUNT = "account"  # "A" or arn:aws:iam::A:root: delegation to the account's IAM
    ROLE = "role"  # the IAM role ARN (matches its sessions)
    SESSION = "session"  # the assumed-role session ARN
    USER = "user"  # the IAM user ARN
    FEDERATED_USER = "federated-user"  # the sts federated-user ARN
    UNIQUE_ID = "unique-id"  # AROA.../AIDA... matching caller.unique_id
    SERVICE = "service"
    FEDERATED = "federated"  # Federated provider
    CANONICAL_USER = "canonical-user"
    NOT_PRINCIPAL = "not-principal"  # matched because the caller is outside a NotPrincipal list


@dataclass(frozen=True)
class Residual:
    """A condition that could not be decided, and what it depends on."""

    key: str
    operator: str
    values: tuple[str, ...]
    reason: str  # e.g. "key not supplied in the request context"

    def describe(self) -> str:
        vals = ", ".join(self.values)
        return f"{self.operator} {self.key} [{vals}] ({self.reason})"


@dataclass(frozen=True)
class StatementResult:
    """How one statement relates to one request."""

    policy: Policy
    statement: Statement
    applies: Tri  # action, resource, principal and every condition hold
    principal_match: PrincipalMatch | None = None
    residuals: tuple[Residual, ...] = ()

    @property
    def evidence(self) -> str:
        return f"{self.policy.origin} {self.statement.label}"


@dataclass(frozen=True)
class PolicyDecision:
    """What one or several documents say about one request, before layers are combined.

    ``deny``: some Deny statement applies (Tri). ``allow``: some Allow statement applies (Tri).
    The statement lists hold the statements that apply or might apply (applies True or None).
    """

    deny: Tri
    allow: Tri
    deny_statements: tuple[StatementResult, ...] = ()
    allow_statements: tuple[StatementResult, ...] = ()
