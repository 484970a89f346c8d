"""One boto3 client per (account, service, region), from the standard credential chain.

Account credentials come from, in order: a profile named for the account, a role assumed in the
account, or the base credentials when they belong to that account. Anything else is
``NoCredentials``, which the collectors record as gaps. Clients come from one shared
``boto3.Session`` with per-client credentials (cheap) and are cached; boto3 sessions are not
thread-safe, so creation is serialised while calls on the clients run concurrently.

Every client has connect and read timeouts (``CollectOptions``). Retries default to standard mode with
3 attempts, but a mode or attempt count the user configured (``AWS_RETRY_MODE``/``AWS_MAX_ATTEMPTS`` or
``retry_mode``/``max_attempts`` in the profile) is left to botocore and wins.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError, ProfileNotFound

from diagnose.collect import guard
from diagnose.collect.memo import Memo
from diagnose.collect.options import CollectOptions, UnsafeEndpoint, check_endpoints, endpoint_error, timeout_error

# Throttling and transient errors are retried a bounded number of times, never fatal by themselves.
RETRY_MODE = "standard"
MAX_ATTEMPTS = 3
SESSION_NAME = "sqsdiag-collect"


class NoCredentials(Exception):
    """Nothing configured can act in ``account``. ``code`` names why: ``NoCredentials``, or the error that
    stopped the credentials from being checked (e.g. ``EndpointConnectionError``, ``InvalidClientTokenId``)."""

    def __init__(self, account: str, reason: str, code: str = "NoCredentials") -> None:
        super().__init__(reason)
        self.account = account
        self.code = code


class AccountSessions(Protocol):
    """Gives a client that acts in ``account``; raises ``NoCredentials`` when none can."""

    @property
    def default_region(self) -> str | None: ...

    def client(self, account: str, service: str, region: str) -> Any: ...


class DefaultSessions:
    def __init__(
        self,
        options: CollectOptions,
        *,
        partition: str = "aws",
        config: Config | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        check_endpoints(options.endpoint_url)
        for option, value in (
            ("--cli-connect-timeout", options.connect_timeout),
            ("--cli-read-timeout", options.read_timeout),
        ):
            problem = timeout_error(option, value)
            if problem:
                raise ValueError(problem)
        self._options = options
        self._partition = partition
        self._config = config  # merged over the defaults (timeouts, retries) of every client
        self._log = log
        self._lock = threading.Lock()  # guards boto3 session use
        self._profiles: dict[str | None, Any] = {}
        self._accounts: Memo[str, tuple[Any, dict[str, str]]] = Memo()
        self._clients: Memo[tuple[str, str, str], Any] = Memo()
        self._base_identity: Memo[str, str] = Memo()
        # Before any client: an unsafe endpoint_url in a profile stops the run (a missing profile is found later).
        for profile in dict.fromkeys([options.profile, *options.account_profiles.values()]):
            try:
                self._session(profile)
            except UnsafeEndpoint:
                raise
            except Exception:  # a missing or unreadable profile is a gap, found where it is used
                continue

    @property
    def default_region(self) -> str | None:
        if self._options.region:
            return self._options.region
        region: str | None = self._session(self._options.profile).region_name
        return region

    def client(self, account: str, service: str, region: str) -> Any:
        session, creds = self._accounts.get(account, lambda: self._credentials(account))
        return self._clients.get((account, service, region), lambda: self._make(session, creds, service, region))

    # -- internals

    def _session(self, profile: str | None) -> Any:
        with self._lock:
            if profile not in self._profiles:
                try:
                    session = boto3.Session(profile_name=profile)
                except ProfileNotFound:
                    raise ValueError(f"profile {profile!r} is not in the AWS config") from None
                _check_profile_endpoints(session, profile)
                self._profiles[profile] = session
            return self._profiles[profile]

    def _client_config(self, session: Any) -> Config:
        opts = self._options
        retries: dict[str, Any] = {}
        if not _user_set_retry_mode(session):
            retries["mode"] = RETRY_MODE
        if session._session.get_config_variable("max_attempts") is None:
            retries["total_max_attempts"] = MAX_ATTEMPTS
        config = Config(connect_timeout=opts.connect_timeout, read_timeout=opts.read_timeout, retries=retries)
        return config.merge(self._config) if self._config is not None else config

    def _make(self, session: Any, creds: dict[str, str], service: str, region: str) -> Any:
        with self._lock:
            client = session.client(
                service,
                region_name=region,
                endpoint_url=self._options.endpoint_url,
                config=self._client_config(session),
                **creds,
            )
        return guard.install(client)

    def _sts_region(self) -> str:
        return self.default_region or "us-east-1"

    def _credentials(self, account: str) -> tuple[Any, dict[str, str]]:
        opts = self._options
        try:
            if account in opts.account_profiles:
                return self._session(opts.account_profiles[account]), {}
            base = self._session(opts.profile)
        except Exception as err:  # ProfileNotFound and friends
            raise NoCredentials(account, f"cannot load profile: {err}") from None
        reason = "no profile or role configured for it"
        if opts.assume_role_name:
            role = f"arn:{self._partition}:iam::{account}:role/{opts.assume_role_name}"
            try:
                sts = self._make(base, {}, "sts", self._sts_region())
                creds = self._timed(
                    account,
                    "sts:AssumeRole",
                    role,
                    lambda: sts.assume_role(RoleArn=role, RoleSessionName=SESSION_NAME)["Credentials"],
                )
                return base, {
                    "aws_access_key_id": creds["AccessKeyId"],
                    "aws_secret_access_key": creds["SecretAccessKey"],
                    "aws_session_token": creds["SessionToken"],
                }
            except Exception as err:
                reason = f"cannot assume {role}: {err}"
        try:
            own = self._base_identity.get("", lambda: self._identity(base))
        except Exception as err:
            raise NoCredentials(
                account, f"no credentials for account {account} ({reason}; {err})", _error_code(err)
            ) from None
        if own != account:
            raise NoCredentials(
                account,
                f"no credentials for account {account} ({reason}; the base credentials are account {own})",
            )
        return base, {}

    def _identity(self, base: Any) -> str:
        sts = self._make(base, {}, "sts", self._sts_region())
        ident = self._timed("base", "sts:GetCallerIdentity", "-", sts.get_caller_identity)
        return str(ident["Account"])

    def _timed(self, account: str, operation: str, resource: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            result = fn()
        except Exception as err:
            self._say(f"{account} {operation} {resource} -> {type(err).__name__}: {err} ({_ms(start)} ms)")
            raise
        self._say(f"{account} {operation} {resource} -> ok ({_ms(start)} ms)")
        return result

    def _say(self, line: str) -> None:
        if self._log:
            self._log(line)


def _user_set_retry_mode(session: Any) -> bool:
    """Whether AWS_RETRY_MODE or the profile's retry_mode names a mode (botocore's default does not count)."""
    if os.environ.get("AWS_RETRY_MODE"):
        return True
    return bool(session._session.get_scoped_config().get("retry_mode"))


def _check_profile_endpoints(session: Any, profile: str | None) -> None:
    """``ValueError`` for an unsafe ``endpoint_url`` in the profile or its ``services`` section."""
    name = profile or session.profile_name
    try:
        scoped = session._session.get_scoped_config()
        services_name = scoped.get("services")
        services = session._session.full_config.get("services", {}).get(services_name, {}) if services_name else {}
    except Exception:  # a profile botocore cannot read fails later, where credentials are resolved
        return
    found = [("endpoint_url", scoped.get("endpoint_url"))]
    if isinstance(services, Mapping):
        found += [
            (f"[services {services_name}] {svc}.endpoint_url", cfg.get("endpoint_url"))
            for svc, cfg in sorted(services.items())
            if isinstance(cfg, Mapping)
        ]
    for where, url in found:
        if isinstance(url, str):
            problem = endpoint_error(url)
            if problem:
                raise UnsafeEndpoint(f"profile {name!r} {where} {url!r}: {problem}")


def _error_code(err: Exception) -> str:
    """The AWS error code of a failed call, else the exception's name; missing credentials stay NoCredentials."""
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code") or "ClientError")
    if isinstance(err, NoCredentialsError):
        return "NoCredentials"
    return type(err).__name__


def _ms(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)
