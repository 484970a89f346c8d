"""Editing documents in a copy of the world, by where they live (``world.Location``).

Fixes and preflight use this to try a change and re-evaluate; nothing here touches AWS or the user's files.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from diagnose.snapshot import Document, Key, Principal, Snapshot
from diagnose.verdict import Query
from diagnose.world import Location

Transform = Callable[[dict[str, Any]], dict[str, Any]]


def normalised(document: Any) -> dict[str, Any]:
    """A deep copy of a policy document with ``Statement`` as a list (AWS accepts a single object too)."""
    data = json.loads(document) if isinstance(document, str) else copy.deepcopy(document)
    if not isinstance(data, dict):
        data = {}
    data.setdefault("Version", "2012-10-17")
    statements = data.get("Statement", [])
    data["Statement"] = [statements] if isinstance(statements, dict) else list(statements)
    return data


def remove_statement(statement: dict[str, Any]) -> Transform:
    """Remove the statement equal to ``statement`` (by content: earlier edits may have moved it)."""

    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        statements = list(doc["Statement"])
        if statement in statements:
            statements.remove(statement)
        doc["Statement"] = statements
        return doc

    return apply


def add_condition(statement: dict[str, Any], operator: str, key: str, value: str) -> Transform:
    """Narrow the statement equal to ``statement`` with one more condition (conditions AND together, C1)."""

    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        statements = list(doc["Statement"])
        if statement in statements:
            narrowed = dict(statement)
            condition = {op: dict(keys) for op, keys in (statement.get("Condition") or {}).items()}
            condition.setdefault(operator, {})[key] = value
            narrowed["Condition"] = condition
            statements[statements.index(statement)] = narrowed
        doc["Statement"] = statements
        return doc

    return apply


def unique_sid(document: Any, wanted: str) -> str:
    """``wanted``, or ``wanted2``, ``wanted3``... whichever the document does not use yet (Sids must be unique)."""
    taken = {st.get("Sid") for st in normalised(document)["Statement"] if isinstance(st, dict)} if document else set()
    sid, n = wanted, 2
    while sid in taken:
        sid, n = f"{wanted}{n}", n + 1
    return sid


def statement_at(document: Any, index: int) -> dict[str, Any] | None:
    statements = normalised(document)["Statement"]
    return statements[index] if 0 <= index < len(statements) else None


def document_at(snap: Snapshot, query: Query, location: Location) -> Any:
    """The current document at ``location`` (None when it is not there)."""
    kind = location[0]
    if kind == "queue-policy":
        queue = snap.queue(location[1])
        return queue.attributes.get("Policy") if queue else None
    if kind == "key-policy":
        key = snap.key(location[1])
        return key.policy if key else None
    if kind in ("identity", "boundary"):
        principal = snap.principal(location[1])
        if principal is None:
            return None
        if kind == "boundary":
            return principal.boundary.document if principal.boundary else None
        return principal.policies[int(location[2])].document if principal.policies else None
    if kind in ("scp", "rcp"):
        account = snap.account(location[1])
        if account is None:
            return None
        node = account.path[int(location[2])]
        docs = node.scps if kind == "scp" else node.rcps
        return docs[int(location[3])].document if docs else None
    if kind == "vpce":
        endpoint = snap.vpc_endpoint(location[1])
        return endpoint.policy if endpoint else None
    if kind == "session":
        return query.session_policy
    raise ValueError(f"unknown document location {location!r}")


def edit(snap: Snapshot, query: Query, location: Location, transform: Transform) -> tuple[Snapshot, Query]:
    """A copy of (snapshot, query) with the document at ``location`` transformed."""
    current = document_at(snap, query, location)
    if current is None:
        return snap, query
    new = transform(normalised(current))
    kind = location[0]
    if not new["Statement"] and kind in ("queue-policy", "identity", "scp", "rcp"):
        return _detach(snap, query, location)  # AWS rejects an empty policy: removing its last statement removes it
    if kind == "queue-policy":
        queues = tuple(
            replace(q, attributes={**q.attributes, "Policy": json.dumps(new)}) if q.arn == location[1] else q
            for q in snap.queues
        )
        return replace(snap, queues=queues), query
    if kind == "key-policy":
        keys = tuple(replace(k, policy=new) if k.arn == location[1] else k for k in snap.keys)
        return replace(snap, keys=keys), query
    if kind == "boundary":
        principals = tuple(
            replace(p, boundary=replace(p.boundary, document=new))
            if p.arn == location[1] and p.boundary is not None
            else p
            for p in snap.principals
        )
        return replace(snap, principals=principals), query
    if kind in ("identity", "scp", "rcp"):

        def rewrite(docs: tuple[Document, ...], i: int) -> tuple[Document, ...]:
            return (*docs[:i], replace(docs[i], document=new), *docs[i + 1 :])

        return _map_docs(snap, location, rewrite), query
    if kind == "vpce":
        endpoints = tuple(replace(v, policy=new) if v.id == location[1] else v for v in snap.vpc_endpoints)
        return replace(snap, vpc_endpoints=endpoints), query
    return snap, replace(query, session_policy=new)  # "session"


def _detach(snap: Snapshot, query: Query, location: Location) -> tuple[Snapshot, Query]:
    """Remove the whole document at ``location`` (a queue policy, an identity policy, an SCP or RCP)."""
    if location[0] == "queue-policy":
        queues = tuple(
            replace(q, attributes={k: v for k, v in q.attributes.items() if k != "Policy"})
            if q.arn == location[1]
            else q
            for q in snap.queues
        )
        return replace(snap, queues=queues), query
    return _map_docs(snap, location, lambda docs, i: (*docs[:i], *docs[i + 1 :])), query


def _map_docs(
    snap: Snapshot, location: Location, change: Callable[[tuple[Document, ...], int], tuple[Document, ...]]
) -> Snapshot:
    """Apply ``change`` to the document list holding ``location``: a principal's identity policies
    (``("identity", arn, i)``) or an org level's SCPs or RCPs (``("scp" | "rcp", account, level, i)``)."""
    if location[0] == "identity":
        i = int(location[2])
        principals = tuple(
            replace(p, policies=change(p.policies, i)) if p.arn == location[1] and p.policies is not None else p
            for p in snap.principals
        )
        return replace(snap, principals=principals)
    i = int(location[3])
    return _map_level(snap, location, lambda docs: change(docs, i))


def _map_level(
    snap: Snapshot, location: Location, change: Callable[[tuple[Document, ...]], tuple[Document, ...]]
) -> Snapshot:
    """Apply ``change`` to the SCPs or RCPs of one level of an account's org path
    (``("scp" | "rcp", account, level, ...)``); a level that was not read stays unknown."""
    scp = location[0] == "scp"
    level = int(location[2])
    accounts = []
    for a in snap.accounts:
        if a.id == location[1]:
            node = a.path[level]
            docs = node.scps if scp else node.rcps
            if docs is not None:
                node = replace(node, scps=change(docs)) if scp else replace(node, rcps=change(docs))
                a = replace(a, path=(*a.path[:level], node, *a.path[level + 1 :]))
        accounts.append(a)
    return replace(snap, accounts=tuple(accounts))


def with_statement(document: Any, statement: dict[str, Any]) -> dict[str, Any]:
    """The document with ``statement`` appended, its Sid made unique in it."""
    data: dict[str, Any] = normalised(document) if document is not None else {"Version": "2012-10-17", "Statement": []}
    if "Sid" in statement:
        statement = {**statement, "Sid": unique_sid(data, statement["Sid"])}
    data["Statement"] = [*data["Statement"], statement]
    return data


def replace_key(snap: Snapshot, key: Key) -> Snapshot:
    return replace(snap, keys=tuple(key if k.arn == key.arn else k for k in snap.keys))


def replace_principal(snap: Snapshot, principal: Principal) -> Snapshot:
    """Replace the principal with the same ARN, or add it when the snapshot does not have it."""
    if snap.principal(principal.arn) is None:
        return replace(snap, principals=(*snap.principals, principal))
    return replace(snap, principals=tuple(principal if p.arn == principal.arn else p for p in snap.principals))


def set_queue_attributes(
    snap: Snapshot, queue_arn: str, attributes: dict[str, str], drop: tuple[str, ...] = ()
) -> Snapshot:
    """The snapshot with the queue's attributes updated (``drop`` removed first)."""
    queue = snap.queue(queue_arn)
    assert queue is not None
    attrs = {k: v for k, v in queue.attributes.items() if k not in drop}
    attrs.update(attributes)
    return replace(snap, queues=tuple(replace(q, attributes=attrs) if q.arn == queue_arn else q for q in snap.queues))


def attach(snap: Snapshot, location: Location, document: Document) -> Snapshot:
    """A copy with ``document`` attached at an org level: ``("scp" | "rcp", account, level)``."""
    return _map_level(snap, location, lambda docs: (*docs, document))
