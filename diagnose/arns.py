"""ARN and queue-URL parsing: the identifiers users type, turned into what the engine needs.

Errors are ``ValueError`` with one line that names what is wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlparse

ACCOUNT_RE = re.compile(r"^\d{12}$")
# partition, service, region, account, resource (A3: six colon-separated fields)
ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws|):(.+)$")
QUEUE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}(\.fifo)?$")


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str, what: str = "ARN") -> Arn:
    m = ARN_RE.match(text.strip())
    # An invisible character (zero-width space, BOM) inside a pasted ARN is never part of it; a space is left to
    # the checks of what the ARN names (an IAM name says which characters it allows).
    if m and any(unicodedata.category(c) == "Cf" for c in m.group(0)):
        raise ValueError(f"{what} {text!r} contains an invisible character")
    if not m:
        raise ValueError(f"{what} {text!r} is not a valid ARN (expected arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE)")
    return Arn(*m.groups())


@dataclass(frozen=True)
class QueueRef:
    """A queue named by URL or ARN. ``region`` may be None for emulator URLs without one."""

    account: str
    name: str
    region: str | None
    partition: str = "aws"

    def arn(self, region: str | None = None) -> str:
        reg = self.region or region
        if not reg:
            raise ValueError(f"queue {self.name!r}: the URL does not say its region; pass --region")
        return f"arn:{self.partition}:sqs:{reg}:{self.account}:{self.name}"


def parse_queue(text: str) -> QueueRef:
    """Queue ARN, AWS queue URL (sqs.REGION.amazonaws.com, legacy REGION.queue.amazonaws.com) or an
    emulator URL (http://127.0.0.1:PORT/ACCOUNT/NAME, LocalStack's sqs.REGION.localhost.localstack.cloud
    and /queue/REGION/ACCOUNT/NAME forms)."""
    text = text.strip()
    if text.startswith("arn:"):
        arn = parse_arn(text, "queue ARN")
        if arn.service != "sqs" or not ACCOUNT_RE.match(arn.account) or not arn.region:
            raise ValueError(f"queue ARN {text!r} must look like arn:aws:sqs:REGION:ACCOUNT:NAME")
        if not QUEUE_NAME_RE.match(arn.resource):
            raise ValueError(f"queue ARN {text!r} has an invalid queue name {arn.resource!r}")
        return QueueRef(arn.account, arn.resource, arn.region, arn.partition)
    try:
        url = urlparse(text)
        url.port  # noqa: B018 -- parses the port, raising on a malformed one
    except ValueError as err:
        raise ValueError(f"queue {text!r} is not a valid URL ({err})") from None
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ValueError(f"queue {text!r} is neither a queue URL nor a queue ARN")
    parts = [p for p in url.path.split("/") if p]
    region: str | None = None
    if len(parts) == 4 and parts[0] == "queue":  # LocalStack path style /queue/REGION/ACCOUNT/NAME
        region, parts = parts[1], parts[2:]
    if len(parts) != 2 or not ACCOUNT_RE.match(parts[0]):
        raise ValueError(f"queue URL {text!r} must end in /ACCOUNT_ID/QUEUE_NAME")
    if not QUEUE_NAME_RE.match(parts[1]):
        raise ValueError(f"queue URL {text!r} has an invalid queue name {parts[1]!r}")
    host = (url.hostname or "").lower()
    m = re.match(r"^sqs\.([a-z0-9-]+)\.(amazonaws\.com(\.cn)?|localhost\.localstack\.cloud)$", host) or re.match(
        r"^([a-z0-9-]+)\.queue\.amazonaws\.com(\.cn)?$", host
    )
    if m and region is None:
        region = m.group(1)
    partition = "aws-cn" if host.endswith(".cn") else "aws"
    return QueueRef(parts[0], parts[1], region, partition)


def queue_url(arn: str) -> str:
    a = parse_arn(arn, "queue ARN")
    suffix = ".cn" if a.partition == "aws-cn" else ""
    return f"https://sqs.{a.region}.amazonaws.com{suffix}/{a.account}/{a.resource}"
