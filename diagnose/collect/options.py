"""How to reach AWS: region, profiles, endpoint, the role to assume in each account, timeouts.

An endpoint URL is part of every signed request: a query string in it is sent (and signed) with each
read, so ``?Action=DeleteQueue&...`` would turn a read into a write. ``endpoint_error`` and
``check_endpoints`` refuse such URLs, from the option and from the variables botocore honours, before
any client exists.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CONNECT_TIMEOUT = 5.0  # seconds to open a connection
READ_TIMEOUT = 15.0  # seconds to wait for a response once connected

ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"  # and AWS_ENDPOINT_URL_<SERVICE>, e.g. AWS_ENDPOINT_URL_SQS
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True)
class CollectOptions:
    region: str | None = None  # default region (else from profile/env)
    profile: str | None = None  # default profile for every account
    endpoint_url: str | None = None  # e.g. a local moto server
    account_profiles: Mapping[str, str] = field(default_factory=dict)  # account id -> profile name
    assume_role_name: str | None = None  # role assumed in each account from the base credentials
    max_workers: int = 16
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT


class UnsafeEndpoint(ValueError):
    """An endpoint URL (option, environment variable or profile setting) that could change what is sent."""


def endpoint_error(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint (scheme and host, optional port and path, nothing else), or None."""
    if _CONTROL.search(url):
        return "contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as err:
        return f"not a URL ({err})"
    if parts.scheme.lower() not in ("http", "https"):
        return "expected an http:// or https:// URL"
    if not parts.hostname:
        return "expected a host, e.g. http://127.0.0.1:5000"
    if "@" in parts.netloc:
        return "must not contain user info (user:password@)"
    if "?" in url:
        return "must not contain a query string (it would be sent with every request)"
    if "#" in url:
        return "must not contain a fragment"
    return None


def check_endpoints(endpoint_url: str | None, environ: Mapping[str, str] | None = None) -> None:
    """``UnsafeEndpoint`` naming ``--endpoint-url`` or the variable whose endpoint URL is unsafe."""
    if endpoint_url is not None:
        problem = endpoint_error(endpoint_url)
        if problem:
            raise UnsafeEndpoint(f"--endpoint-url {endpoint_url!r}: {problem}")
    env = os.environ if environ is None else environ
    for name in sorted(env):
        if name.upper() == ENDPOINT_VARIABLE or name.upper().startswith(ENDPOINT_VARIABLE + "_"):
            problem = endpoint_error(env[name])
            if problem:
                raise UnsafeEndpoint(f"environment variable {name}={env[name]!r}: {problem}")


def timeout_error(option: str, value: float) -> str | None:
    """Why ``value`` is not a usable timeout in seconds, or None."""
    if not math.isfinite(value) or value <= 0:
        return f"{option} {value:g}: expected a positive number of seconds"
    return None
