"""Read-only by construction: every client the collector uses refuses anything but a read.

The check runs on botocore's ``before-parameter-build`` event, the first thing a call does, so a
refused operation never builds, signs or sends a request (and never reaches a stub either).
"""

from __future__ import annotations

from typing import Any

READ_PREFIXES = ("Describe", "Get", "List")
# Not reads, but they only obtain credentials or name the caller: nothing in any account changes.
ALLOWED: dict[str, frozenset[str]] = {"sts": frozenset({"AssumeRole", "GetCallerIdentity"})}

_HANDLER_ID = "sqsdiag-read-only-guard"


class WriteRefused(RuntimeError):
    """A collector tried an operation that is not a read. A bug, never an AWS condition."""


def is_read(service: str, operation: str) -> bool:
    return operation.startswith(READ_PREFIXES) or operation in ALLOWED.get(service, frozenset())


def _refuse_writes(model: Any, **_: Any) -> None:
    service = model.service_model.service_name
    if not is_read(service, model.name):
        raise WriteRefused(f"refused {service}:{model.name}: sqsdiag collection only reads")


def install(client: Any) -> Any:
    """Guard ``client`` (idempotent) and return it."""
    client.meta.events.register_first("before-parameter-build", _refuse_writes, unique_id=_HANDLER_ID)
    return client
