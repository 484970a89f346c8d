"""Where a thing lives in a snapshot, as typed references: what a change edits, and what evidence points at.

A reference never uses a position in a list that an edit can change: an identity policy is named by its
policy name, an SCP or RCP by its level on the account's org path and its policy name. Two changes to one
document therefore compose (the second finds the document the first left, or nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from diagnose.authz.model import Layer


@dataclass(frozen=True)
class QueuePolicy:
    queue: str


@dataclass(frozen=True)
class KeyPolicy:
    key: str


@dataclass(frozen=True)
class IdentityPolicy:
    """One of a principal's identity policies (inline, managed, or a group's), by name."""

    principal: str
    name: str
    source: str = "inline"
    group: str | None = None


@dataclass(frozen=True)
class Boundary:
    principal: str


@dataclass(frozen=True)
class SessionPolicy:
    """The session policy the caller passes when it assumes the role (part of the request, not the world)."""


@dataclass(frozen=True)
class OrgPolicy:
    """An SCP or RCP attached at one level (0 = root) of an account's org path."""

    kind: Layer  # Layer.SCP or Layer.RCP
    account: str
    level: int
    name: str


@dataclass(frozen=True)
class OrgLevel:
    """A level of an account's org path, where a new SCP or RCP is attached."""

    kind: Layer
    account: str
    level: int


@dataclass(frozen=True)
class EndpointPolicy:
    endpoint: str


@dataclass(frozen=True)
class QueueAttributes:
    queue: str


@dataclass(frozen=True)
class KeyRecord:
    """The key itself: its state, or a key to be created."""

    key: str


@dataclass(frozen=True)
class TheRequest:
    """How the call is made (TLS, the VPC endpoint it goes through)."""


# A policy document; ``DocRef`` is anything a change can act on.
PolicyRef = QueuePolicy | KeyPolicy | IdentityPolicy | Boundary | SessionPolicy | OrgPolicy | EndpointPolicy
DocRef = PolicyRef | OrgLevel | QueueAttributes | KeyRecord | TheRequest
