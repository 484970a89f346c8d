"""The one way collectors touch AWS: guarded clients, timed and logged calls, outcomes kept by key.

A read never raises to its collector except as ``ReadError``: an AWS error, missing credentials, a
transport failure or a response without the fields the read needs (``MALFORMED``) all become facts
about what could not be seen. ``WriteRefused`` is a bug and is never swallowed. Every error text that
reaches a gap or a log line goes through ``sanitize`` first: AWS and botocore may quote raw response
bodies, which can carry credentials.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

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


MALFORMED = "MalformedResponse"  # the error code of a read whose answer lacked what the read needs
MESSAGE_LIMIT = 200

# Credentials and raw bodies that error texts may quote (botocore quotes unparseable bodies verbatim).
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A raw response body: botocore's bytes literal, an XML document or element, a JSON object.
    (re.compile(r"""\bb(['"]).*""", re.S), "<response body omitted>"),
    (re.compile(r"<\??[A-Za-z!/][^>]*>.*", re.S), "<response body omitted>"),
    (re.compile(r"""\{\s*['"].*""", re.S), "<response body omitted>"),
    # Named secrets: SecretAccessKey / SessionToken / SecurityToken followed by a value, in any notation.
    (
        re.compile(
            r"""(?i)((?:aws_?)?(?:secret_?access_?key|secret_?key|session_?token|security_?token)\W{0,4})"""
            r"""[A-Za-z0-9/+=]{8,}"""
        ),
        r"\1<redacted>",
    ),
    # Access key ids (AKIA long-term, ASIA temporary) and any other key-id-like id.
    (
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|APKA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"),
        "<redacted key id>",
    ),
    # Anything shaped like a secret key (40 base64 characters) or a session token (long base64).
    (re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"), "<redacted>"),
    (re.compile(r"[A-Za-z0-9/+=]{64,}"), "<redacted>"),
)


def redact(text: str) -> str:
    """``text`` without credentials or raw response bodies, on one line."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def sanitize(text: object, limit: int = MESSAGE_LIMIT) -> str:
    """The form of an error text that may enter a gap or a log line: redacted and at most ``limit`` chars."""
    clean = redact(str(text))
    return clean if len(clean) <= limit else clean[: limit - 1].rstrip() + "…"


def error_text(err: BaseException) -> tuple[str, str]:
    """An exception as (error code, sanitized message): an AWS error's own code, else the exception's name."""
    if isinstance(err, ClientError):
        error = err.response.get("Error") or {}
        code = str(error.get("Code") or "ClientError") if isinstance(error, Mapping) else "ClientError"
        message = error.get("Message") if isinstance(error, Mapping) else None
        return sanitize(code, 100), sanitize(message or err)
    return type(err).__name__, sanitize(err)


class PolicyText:
    """The type of a policy document field: a JSON object, as a dict or as (URL-encoded) JSON text."""


POLICY = PolicyText

Kind = type | tuple[type, ...]


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


def malformed(account: str, operation: str, why: str) -> ReadError:
    return ReadError(account, operation, MALFORMED, f"malformed response: {why}")


def require(value: Any, path: str, kind: Kind, account: str, operation: str) -> Any:
    """``value``'s field at the dotted ``path`` ("" is ``value`` itself), which must be a ``kind``; else the
    read failed (``ReadError`` with code ``MALFORMED``). ``POLICY`` requires a JSON object or its text."""
    got = value
    for part in path.split(".") if path else ():
        if not isinstance(got, Mapping) or got.get(part) is None:
            raise malformed(account, operation, f"missing {path}")
        got = got[part]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if POLICY in kinds and _is_policy(got):
        return got
    plain = tuple(k for k in kinds if k is not POLICY)
    if plain and isinstance(got, plain) and not (isinstance(got, bool) and bool not in plain):
        return got
    names = "/".join("policy document" if k is POLICY else k.__name__ for k in kinds)
    raise malformed(account, operation, f"{path or 'item'} is not a {names}")


def _is_policy(value: Any) -> bool:
    if isinstance(value, Mapping):
        return True
    if not isinstance(value, str):
        return False
    for text in (value, unquote(value)):
        try:
            return isinstance(json.loads(text), dict)
        except ValueError:
            continue
    return False


def check(value: Any, expect: Mapping[str, Kind], account: str, operation: str) -> None:
    for path, kind in expect.items():
        require(value, path, kind, account, operation)


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

    def call(
        self,
        account: str,
        service: str,
        op: str,
        resource: str,
        region: str,
        *,
        expect: Mapping[str, Kind] | None = None,
        **params: Any,
    ) -> Any:
        """One AWS call in ``account``; its response, or ``ReadError``. ``expect`` maps dotted paths in the
        response to the type each must have (see ``require``); a response without them is ``MALFORMED``."""
        operation = f"{service}:{op}"
        start = time.perf_counter()
        try:
            client = self.client(account, service, region)
        except NoCredentials as err:
            message = sanitize(err)
            self.say(f"{account} {operation} {resource} -> {err.code}: {message}")
            raise ReadError(account, operation, sanitize(err.code, 100), message) from None
        with self._lock:
            self.calls += 1
        try:
            response = getattr(client, xform_name(op))(**params)
            check(response, {"": dict, **(expect or {})}, account, operation)
        except guard.WriteRefused:
            raise
        except ReadError as err:  # malformed
            code, message = err.code, err.message
        except Exception as err:  # AWS errors, transport errors, unparseable bodies, emulator crashes
            code, message = error_text(err)
        else:
            self.say(f"{account} {operation} {resource} -> ok ({_ms(start)} ms)")
            return response
        self.say(f"{account} {operation} {resource} -> {code}: {message} ({_ms(start)} ms)")
        raise ReadError(account, operation, code, message)

    def field(
        self, account: str, service: str, op: str, resource: str, region: str, path: str, kind: Kind, **params: Any
    ) -> Any:
        """One call's field at ``path``, which must be a ``kind`` (else ``MALFORMED``)."""
        response = self.call(account, service, op, resource, region, expect={path: kind}, **params)
        return require(response, path, kind, account, f"{service}:{op}")

    def pages(
        self,
        account: str,
        service: str,
        op: str,
        resource: str,
        region: str,
        items: str,
        *,
        each: Mapping[str, Kind] | None = None,
        **params: Any,
    ) -> list[Any]:
        """Every page of a list call, concatenated. ``items`` names the list each page must hold; ``each``
        what every item must hold (paths in the item, "" for the item itself; default: a dict)."""
        token_in, token_out, flag = _PAGING[service]
        expect = {"": dict, **(each or {})}
        operation = f"{service}:{op}"
        out: list[Any] = []
        seen: set[str] = set()
        while True:
            page = self.call(account, service, op, resource, region, expect={items: list}, **params)
            for item in page[items]:
                try:
                    check(item, expect, account, operation)
                except ReadError as err:
                    self.say(f"{account} {operation} {resource} -> {err.code}: {err.message} in {items}")
                    raise
            out.extend(page[items])
            token = page.get(token_out)
            if token is not None and not isinstance(token, str):
                bad = malformed(account, operation, f"{token_out} is not a str")
                self.say(f"{account} {operation} {resource} -> {bad.code}: {bad.message}")
                raise bad
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
