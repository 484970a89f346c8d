"""The one way collectors touch AWS: guarded clients, timed and logged calls, outcomes kept by key.

A read never raises to its collector except as ``ReadError``: an AWS error, missing credentials or a
transport failure all become facts about what could not be seen. ``WriteRefused`` is a bug and is
never swallowed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError

from diagnose.collect import guard
from diagnose.collect.memo import Memo
from diagnose.collect.sessions import AccountSessions, NoCredentials
from diagnose.collect.tasks import TaskGroup
from diagnose.snapshot import Gap

# Pagination: (request token, response token, truncation flag or None) per service.
_PAGING: dict[str, tuple[str, str, str | None]] = {
    "iam": ("Marker", "Marker", "IsTruncated"),
    "kms": ("Marker", "NextMarker", "Truncated"),
    "organizations": ("NextToken", "NextToken", None),
    "ec2": ("NextToken", "NextToken", None),
}


class ReadError(Exception):
    def __init__(self, account: str, operation: str, code: str, message: str) -> None:
        super().__init__(account, operation, code, message)
        self.account = account
        self.operation = operation  # "kms:GetKeyPolicy"
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.operation} in {self.account}: {self.code}: {self.message}"

    def gap(self, layer: str, resource: str, about: str | None = None) -> Gap:
        """The gap this failure leaves; ``about`` names the part of ``resource`` that was unreadable."""
        return Gap(
            layer=layer,
            resource=resource,
            operation=self.operation,
            error=self.code,
            account=self.account,
            message=f"{about}: {self.message}" if about else self.message,
            needs=self.operation,
        )


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    error: ReadError | None = None


class Reader:
    def __init__(self, sessions: AccountSessions, tasks: TaskGroup, log: Callable[[str], None] | None) -> None:
        self.tasks = tasks
        self._sessions = sessions
        self._log = log
        self._lock = threading.Lock()
        self._clients: Memo[tuple[str, str, str], Any] = Memo()
        self._outcomes: dict[Hashable, Outcome] = {}
        self.calls = 0

    # -- clients and calls

    def client(self, account: str, service: str, region: str) -> Any:
        def make() -> Any:
            return guard.install(self._sessions.client(account, service, region))

        return self._clients.get((account, service, region), make)

    def call(self, account: str, service: str, op: str, resource: str, region: str, **params: Any) -> Any:
        """One AWS call in ``account``; its response, or ``ReadError``."""
        operation = f"{service}:{op}"
        start = time.perf_counter()
        try:
            client = self.client(account, service, region)
        except NoCredentials as err:
            self.say(f"{account} {operation} {resource} -> {err.code}: {err}")
            raise ReadError(account, operation, err.code, str(err)) from None
        with self._lock:
            self.calls += 1
        try:
            response = getattr(client, xform_name(op))(**params)
        except guard.WriteRefused:
            raise
        except ClientError as err:
            error = err.response.get("Error", {})
            code, message = str(error.get("Code") or "ClientError"), str(error.get("Message") or err)
        except Exception as err:  # transport errors; emulator crashes
            code, message = type(err).__name__, str(err)
        else:
            self.say(f"{account} {operation} {resource} -> ok ({_ms(start)} ms)")
            return response
        self.say(f"{account} {operation} {resource} -> {code}: {message} ({_ms(start)} ms)")
        raise ReadError(account, operation, code, message)

    def pages(
        self, account: str, service: str, op: str, resource: str, region: str, items: str, **params: Any
    ) -> list[Any]:
        """Every page of a list call, concatenated (``items`` names the list in each page)."""
        token_in, token_out, flag = _PAGING[service]
        out: list[Any] = []
        seen: set[str] = set()
        while True:
            page = self.call(account, service, op, resource, region, **params)
            out.extend(page.get(items) or [])
            token = page.get(token_out)
            if not token or (flag is not None and not page.get(flag)) or token in seen:
                return out
            seen.add(token)
            params = {**params, token_in: token}

    def say(self, line: str) -> None:
        if self._log:
            with self._lock:
                self._log(line)

    # -- outcomes: each read runs once per key, in the pool, and is looked up when assembling

    def fetch(self, key: Hashable, read: Callable[[], Any], then: Callable[[Any], None] | None = None) -> None:
        """Run ``read`` once for ``key`` in the pool; keep its outcome; on success run ``then``."""
        with self._lock:
            if key in self._outcomes:
                return
            self._outcomes[key] = Outcome()  # claimed; replaced when done

        def run() -> None:
            try:
                value = read()
            except ReadError as err:
                with self._lock:
                    self._outcomes[key] = Outcome(error=err)
                return
            with self._lock:
                self._outcomes[key] = Outcome(value=value)
            if then is not None:
                then(value)

        self.tasks.spawn(run)

    def outcome(self, key: Hashable) -> Outcome | None:
        with self._lock:
            return self._outcomes.get(key)


def _ms(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)
