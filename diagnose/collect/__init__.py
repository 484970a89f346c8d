"""Live collection: the part of the AWS world a verdict needs, as a ``Snapshot``.

Read-only by construction (``guard``), concurrent (each read starts the reads that depend on it),
and honest: whatever could not be read becomes a ``Gap`` naming the read, the error and the
permission that would have allowed it, and collection goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from diagnose import __version__
from diagnose.arns import QueueRef, parse_queue, queue_url
from diagnose.collect.guard import WriteRefused
from diagnose.collect.iam import PrincipalCollector, parse_principal
from diagnose.collect.kms import KeyCollector, key_ref
from diagnose.collect.options import CollectOptions
from diagnose.collect.org import OrgCollector
from diagnose.collect.reader import Reader, redact
from diagnose.collect.sessions import AccountSessions, DefaultSessions, NoCredentials
from diagnose.collect.sqs import QueueCollector
from diagnose.collect.tasks import TaskGroup
from diagnose.collect.vpce import VpcEndpointCollector
from diagnose.snapshot import Snapshot


@dataclass(frozen=True)
class Collection:
    snapshot: Snapshot
    identities: Mapping[str, str] = field(default_factory=dict)  # account -> the caller ARN used there
    calls: int = 0  # AWS calls made by the collectors

    @property
    def by(self) -> str | None:
        return next(iter(self.identities.values()), None)

    def metadata(self, at: datetime | None = None) -> dict[str, str]:
        return collected_metadata(self.by, at=at)


def collected_metadata(by: str | None, *, at: datetime | None = None) -> dict[str, str]:
    """The snapshot's ``collected`` object: when, as whom, with what."""
    when = (at or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    return {
        "at": when.isoformat().replace("+00:00", "Z"),
        "by": by or "unknown",
        "tool": f"sqsdiag {__version__}",
    }


def collect(
    queue: str,
    principals: Sequence[str],
    *,
    options: CollectOptions,
    vpc_endpoint: str | None = None,
    sessions: AccountSessions | None = None,
    log: Callable[[str], None] | None = None,
) -> Collection:
    """Collect a snapshot, with who collected it and how many calls it took."""
    ref = parse_queue(queue)
    return collect_world(
        [queue],
        principals,
        options=options,
        vpc_endpoint=vpc_endpoint,
        sessions=sessions,
        log=log,
        partition=ref.partition,
    )


def collect_world(
    queues: Sequence[str],
    principals: Sequence[str],
    *,
    options: CollectOptions,
    accounts: Sequence[str] = (),
    partition: str = "aws",
    vpc_endpoint: str | None = None,
    sessions: AccountSessions | None = None,
    log: Callable[[str], None] | None = None,
) -> Collection:
    """Collect the queues (with their keys), principals and accounts (with their org policies) named."""
    refs = [parse_queue(q) for q in queues]
    wanted = [parse_principal(p, partition) for p in principals]
    if vpc_endpoint is not None and not vpc_endpoint.startswith("vpce-"):
        raise ValueError(f"VPC endpoint {vpc_endpoint!r} is not a VPC endpoint id (vpce-...)")
    if log is not None:
        log = _redacting(log)
    if sessions is None:
        sessions = DefaultSessions(options, partition=partition, log=log)
    region = next((r.region for r in refs if r.region), None) or options.region or sessions.default_region
    if not region:
        named = f"queue {queues[0]!r} does not say its region" if queues else "no Region is configured"
        raise ValueError(f"{named}; pass --region")

    tasks = TaskGroup(options.max_workers)
    reader = Reader(sessions, tasks, log)
    orgs = OrgCollector(reader, region)
    keys = KeyCollector(reader)
    queue_reads = []
    for ref, given in zip(refs, queues, strict=True):
        arn = ref.arn(region)
        url = queue_url(arn) if given.strip().startswith("arn:") else given.strip()
        queue_reads.append((ref, QueueCollector(reader, arn, url, ref.region or region)))
    people = [PrincipalCollector(reader, p, region) for p in wanted]
    first_account = refs[0].account if refs else next(iter(accounts), None)
    caller_account = next((p.account for p in wanted if p.account), first_account)
    endpoint = (
        VpcEndpointCollector(reader, vpc_endpoint, caller_account, region) if vpc_endpoint and caller_account else None
    )

    def on_attributes(ref: QueueRef) -> Callable[[Mapping[str, str]], None]:
        def started(attributes: Mapping[str, str]) -> None:
            configured = attributes.get("KmsMasterKeyId")
            if configured:  # set and non-empty: SSE-KMS, whatever SqsManagedSseEnabled says
                key = key_ref(configured, ref.account, ref.region or region, ref.partition)
                orgs.account(key.account)
                keys.start(key)

        return started

    # Wave one: everything that needs no earlier answer; each read then starts what depends on it.
    own_accounts = list(
        dict.fromkeys([*(r.account for r in refs), *(p.account for p in wanted if p.account), *accounts])
    )
    for account in own_accounts:
        orgs.account(account)
        reader.fetch(("sts", account), _identity(reader, account, region))
    for ref, queue_collector in queue_reads:
        queue_collector.start(on_attributes(ref))
    for person in people:
        person.start()
    if endpoint is not None:
        endpoint.start()
    tasks.wait()

    queues_found: list[Any] = []
    queue_gaps: list[Any] = []
    for _, queue_collector in queue_reads:
        found_queues, missing_queues = queue_collector.build()
        queues_found += found_queues
        queue_gaps += missing_queues
    found_keys, key_gaps = keys.build()
    principals_found, principal_gaps = [], []
    for person in people:
        found, missing = person.build()
        principals_found += found
        principal_gaps += missing
    found_accounts, org_gaps = orgs.build()
    endpoints, endpoint_gaps = endpoint.build() if endpoint is not None else ([], [])
    gaps = {*queue_gaps, *key_gaps, *principal_gaps, *org_gaps, *endpoint_gaps}

    identities = {}
    for account in own_accounts:
        who = reader.outcome(("sts", account))
        if who is not None and who.error is None:
            identities[account] = str(who.value)
            reader.say(f"collected in {account} as {who.value}")
    snapshot = Snapshot(
        queues=tuple(queues_found),
        keys=tuple(found_keys),
        principals=tuple({p.arn: p for p in principals_found}.values()),
        accounts=tuple(found_accounts),
        vpc_endpoints=tuple(endpoints),
        gaps=tuple(sorted(gaps, key=lambda g: (g.layer, g.resource, g.operation, g.error))),
    )
    return Collection(snapshot=snapshot, identities=identities, calls=reader.calls)


def collect_snapshot(
    queue: str,
    principals: Sequence[str],
    *,
    options: CollectOptions,
    vpc_endpoint: str | None = None,
    sessions: AccountSessions | None = None,
    log: Callable[[str], None] | None = None,
) -> Snapshot:
    """The snapshot of what a verdict on ``queue`` for ``principals`` needs (see ``collect``)."""
    return collect(queue, principals, options=options, vpc_endpoint=vpc_endpoint, sessions=sessions, log=log).snapshot


def _redacting(log: Callable[[str], None]) -> Callable[[str], None]:
    """``log`` for lines that may quote AWS error texts (the sessions' own): without credentials or bodies."""

    def say(line: str) -> None:
        log(redact(line))

    return say


def _identity(reader: Reader, account: str, region: str) -> Callable[[], Any]:
    def read() -> Any:
        return reader.field(account, "sts", "GetCallerIdentity", account, region, "Arn", str)

    return read


__all__ = [
    "AccountSessions",
    "CollectOptions",
    "Collection",
    "DefaultSessions",
    "NoCredentials",
    "WriteRefused",
    "collect",
    "collect_snapshot",
    "collect_world",
    "collected_metadata",
]
