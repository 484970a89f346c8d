"""The one interpreter: apply a change to a copy of (snapshot, query). Nothing here touches AWS or the
user's files; the snapshot given is never modified."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from diagnose.authz.model import Layer, assert_never
from diagnose.docref import (
    Boundary,
    DocRef,
    EndpointPolicy,
    IdentityPolicy,
    KeyPolicy,
    KeyRecord,
    OrgLevel,
    OrgPolicy,
    PolicyRef,
    QueueAttributes,
    QueuePolicy,
    SessionPolicy,
    TheRequest,
)
from diagnose.remedy.model import (
    AddStatement,
    AttachPolicy,
    Change,
    CreateKey,
    DetachPolicy,
    Edit,
    NarrowStatement,
    RemoveStatement,
    SetAttributes,
    SetContext,
    SetKeyState,
)
from diagnose.snapshot import Account, Document, OrgNode, Principal, Snapshot
from diagnose.verdict import Query

World = tuple[Snapshot, Query]


def normalised(document: Any) -> dict[str, Any]:
    """A deep copy of a policy document with ``Statement`` as a list (AWS accepts a single object too)."""
    data = json.loads(document) if isinstance(document, str) else copy.deepcopy(document)
    if not isinstance(data, dict):
        data = {}
    data.setdefault("Version", "2012-10-17")
    statements = data.get("Statement", [])
    data["Statement"] = [statements] if isinstance(statements, dict) else list(statements)
    return data


def statements_of(document: Any) -> list[dict[str, Any]]:
    if document is None:
        return []
    return [st for st in normalised(document)["Statement"] if isinstance(st, dict)]


def unique_sid(document: Any, wanted: str, taken: Iterable[str] = ()) -> str:
    """``wanted``, or ``wanted2``, ``wanted3``... whichever the document (and ``taken``) does not use yet."""
    used = {st.get("Sid") for st in statements_of(document)} | set(taken)
    sid, n = wanted, 2
    while sid in used:
        sid, n = f"{wanted}{n}", n + 1
    return sid


# ----------------------------------------------------------------------------------------------- reading


def _org_docs(snap: Snapshot, ref: OrgPolicy | OrgLevel) -> tuple[Document, ...] | None:
    account = snap.account(ref.account)
    if account is None or ref.level >= len(account.path):
        return None
    node = account.path[ref.level]
    return node.scps if ref.kind is Layer.SCP else node.rcps


def _identity_doc(principal: Principal | None, ref: IdentityPolicy) -> Document | None:
    if principal is None:
        return None
    return next(
        (d for d in principal.policies or () if (d.name, d.source, d.group) == (ref.name, ref.source, ref.group)),
        None,
    )


def document_at(snap: Snapshot, query: Query, ref: PolicyRef) -> Any:
    """The current document at ``ref``, or None when it is not there (never read, or removed by a change)."""
    match ref:
        case QueuePolicy(queue=arn):
            queue = snap.queue(arn)
            return queue.attributes.get("Policy") or None if queue else None
        case KeyPolicy(key=arn):
            key = snap.key(arn)
            return key.policy if key else None
        case IdentityPolicy():
            doc = _identity_doc(snap.principal(ref.principal), ref)
            return doc.document if doc else None
        case Boundary(principal=arn):
            principal = snap.principal(arn)
            return principal.boundary.document if principal and principal.boundary else None
        case OrgPolicy():
            doc = next((d for d in _org_docs(snap, ref) or () if d.name == ref.name), None)
            return doc.document if doc else None
        case EndpointPolicy(endpoint=vpce):
            endpoint = snap.vpc_endpoint(vpce)
            return endpoint.policy if endpoint else None
        case SessionPolicy():
            return query.session_policy
        case _ as unreachable:
            assert_never(unreachable)


# ----------------------------------------------------------------------------------------------- writing


def _put(snap: Snapshot, query: Query, ref: PolicyRef, new: dict[str, Any] | None) -> World:
    """A copy with the document at ``ref`` replaced by ``new`` (None: the document is removed)."""
    match ref:
        case QueuePolicy(queue=arn):
            queues = tuple(
                replace(
                    q,
                    attributes={
                        **{k: v for k, v in q.attributes.items() if k != "Policy"},
                        **({"Policy": json.dumps(new)} if new is not None else {}),
                    },
                )
                if q.arn == arn
                else q
                for q in snap.queues
            )
            return replace(snap, queues=queues), query
        case KeyPolicy(key=arn):
            return replace(snap, keys=tuple(replace(k, policy=new) if k.arn == arn else k for k in snap.keys)), query
        case IdentityPolicy():
            target = _identity_doc(snap.principal(ref.principal), ref)

            def rewrite(p: Principal) -> Principal:
                docs = tuple(
                    replace(d, document=new) if d is target else d
                    for d in p.policies or ()
                    if d is not target or new is not None
                )
                return replace(p, policies=docs)

            return _map_principal(snap, ref.principal, rewrite), query
        case Boundary(principal=arn):
            return _map_principal(
                snap, arn, lambda p: replace(p, boundary=replace(p.boundary, document=new)) if p.boundary else p
            ), query
        case OrgPolicy():

            def change(docs: tuple[Document, ...]) -> tuple[Document, ...]:
                return tuple(
                    replace(d, document=new) if d.name == ref.name else d
                    for d in docs
                    if d.name != ref.name or new is not None
                )

            return _map_level(snap, OrgLevel(ref.kind, ref.account, ref.level), change), query
        case EndpointPolicy(endpoint=vpce):
            endpoints = tuple(replace(v, policy=new) if v.id == vpce else v for v in snap.vpc_endpoints)
            return replace(snap, vpc_endpoints=endpoints), query
        case SessionPolicy():
            return snap, replace(query, session_policy=new)
        case _ as unreachable:
            assert_never(unreachable)


def _map_principal(snap: Snapshot, arn: str, change: Callable[[Principal], Principal]) -> Snapshot:
    principals = tuple(change(p) if p.arn == arn else p for p in snap.principals)
    return replace(snap, principals=principals)


def _map_level(
    snap: Snapshot, ref: OrgLevel, change: Callable[[tuple[Document, ...]], tuple[Document, ...]]
) -> Snapshot:
    """Apply ``change`` to the SCPs or RCPs of one level of an account's path; a level not read stays unknown."""
    accounts: list[Account] = []
    for a in snap.accounts:
        if a.id == ref.account and ref.level < len(a.path):
            node: OrgNode = a.path[ref.level]
            docs = node.scps if ref.kind is Layer.SCP else node.rcps
            if docs is not None:
                node = replace(node, scps=change(docs)) if ref.kind is Layer.SCP else replace(node, rcps=change(docs))
                a = replace(a, path=(*a.path[: ref.level], node, *a.path[ref.level + 1 :]))
        accounts.append(a)
    return replace(snap, accounts=tuple(accounts))


def _edit_document(snap: Snapshot, query: Query, ref: PolicyRef, edit: Edit) -> World:
    current = document_at(snap, query, ref)
    match edit:
        case AddStatement(statement=statement):
            if current is None and not isinstance(ref, QueuePolicy | SessionPolicy):
                return snap, query  # not read, or removed: nothing to add to
            doc = normalised(current) if current is not None else _new_document(ref)
            doc["Statement"] = [*doc["Statement"], statement]
            return _put(snap, query, ref, doc)
        case RemoveStatement(statement=statement):
            if current is None:
                return snap, query
            doc = normalised(current)
            doc["Statement"] = [s for s in doc["Statement"] if s != statement]
            # AWS rejects an empty policy: removing the last statement removes the document (a key policy stays).
            empty = not doc["Statement"] and not isinstance(ref, KeyPolicy | Boundary | EndpointPolicy | SessionPolicy)
            return _put(snap, query, ref, None if empty else doc)
        case NarrowStatement(statement=statement):
            if current is None:
                return snap, query
            doc = normalised(current)
            doc["Statement"] = [narrowed(s, edit) if s == statement else s for s in doc["Statement"]]
            return _put(snap, query, ref, doc)
        case DetachPolicy():
            return _put(snap, query, ref, None) if current is not None else (snap, query)
        case AttachPolicy() | SetAttributes() | CreateKey() | SetKeyState() | SetContext():
            raise ValueError(f"{type(edit).__name__} does not edit a policy document")
        case _ as unreachable:
            assert_never(unreachable)


def _new_document(ref: PolicyRef) -> dict[str, Any]:
    if isinstance(ref, QueuePolicy):
        return {"Version": "2012-10-17", "Id": f"{ref.queue}/SQSDefaultPolicy", "Statement": []}
    return {"Version": "2012-10-17", "Statement": []}


def narrowed(statement: dict[str, Any], edit: NarrowStatement) -> dict[str, Any]:
    condition = {op: dict(keys) for op, keys in (statement.get("Condition") or {}).items()}
    condition.setdefault(edit.operator, {})[edit.key] = edit.value
    return {**statement, "Condition": condition}


def apply(world: World, change: Change) -> World:
    """A copy of (snapshot, query) with one change made."""
    snap, query = world
    ref, edit = change.ref, change.edit
    match ref:
        case (
            QueuePolicy()
            | KeyPolicy()
            | IdentityPolicy()
            | Boundary()
            | OrgPolicy()
            | EndpointPolicy()
            | SessionPolicy()
        ):
            if isinstance(edit, AttachPolicy) and isinstance(ref, IdentityPolicy):
                doc = Document(name=edit.name, document=edit.document, source="inline")
                return _map_principal(
                    snap,
                    ref.principal,
                    lambda p: replace(p, policies=(*p.policies, doc)) if p.policies is not None else p,
                ), query
            return _edit_document(snap, query, ref, edit)
        case OrgLevel():
            assert isinstance(edit, AttachPolicy)
            doc = Document(edit.name, edit.document, source=ref.kind.value)
            return _map_level(snap, ref, lambda docs: (*docs, doc)), query
        case QueueAttributes(queue=arn):
            assert isinstance(edit, SetAttributes)
            queues = tuple(
                replace(
                    q,
                    attributes={**{k: v for k, v in q.attributes.items() if k not in edit.drop}, **edit.attributes},
                )
                if q.arn == arn
                else q
                for q in snap.queues
            )
            return replace(snap, queues=queues), query
        case KeyRecord(key=arn):
            if isinstance(edit, CreateKey):
                return replace(snap, keys=(*(k for k in snap.keys if k.arn != arn), edit.key)), query
            assert isinstance(edit, SetKeyState)
            return replace(
                snap, keys=tuple(replace(k, state=edit.state) if k.arn == arn else k for k in snap.keys)
            ), query
        case TheRequest():
            assert isinstance(edit, SetContext)
            return snap, replace(query, context={**query.context, **edit.values})
        case _ as unreachable:
            assert_never(unreachable)


def apply_all(world: World, changes: Iterable[Change]) -> World:
    """Apply a change set in order; two changes to one document compose (edits are by content)."""
    for change in changes:
        world = apply(world, change)
    return world


def with_documents(world: World, changes: Iterable[Change]) -> tuple[Change, ...]:
    """Replay the changes in order so that each printed document is the document after that change
    (including the earlier changes to the same document)."""
    out: list[Change] = []
    for change in changes:
        world = apply(world, change)
        ref = change.ref
        removed = change.kind.value == "remove-document"
        if not removed and (
            isinstance(ref, QueuePolicy | KeyPolicy | Boundary | OrgPolicy | EndpointPolicy | SessionPolicy)
            or (isinstance(ref, IdentityPolicy) and not isinstance(change.edit, AttachPolicy))
        ):
            document = document_at(*world, ref)
            change = replace(change, document=normalised(document) if document is not None else None)
        out.append(change)
    return tuple(out)


__all__ = [
    "DocRef",
    "apply",
    "apply_all",
    "document_at",
    "normalised",
    "statements_of",
    "unique_sid",
    "with_documents",
]
