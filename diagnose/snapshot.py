"""The snapshot: a versioned JSON picture of the world the verdict is computed from.

Format documented in ``docs/snapshot.md``. Loading validates and names the JSON path of any error;
several snapshots (each account's half) merge, and conflicting facts are an error, never overwritten.
Missing facts are not guessed: what is not in the snapshot is unknown to the evaluator.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal, cast

from diagnose.arns import ACCOUNT_RE, parse_arn
from diagnose.policy import PolicyError, PolicyKind, parse_policy
from diagnose.policy.parse import check_json, clip, decode_json, json_error, type_name

SCHEMA = "sqsdiag/snapshot"
VERSION = 1

LAYERS = (
    "queue",
    "resource-policy",
    "key",
    "key-policy",
    "grant",
    "identity-policy",
    "permissions-boundary",
    "scp",
    "rcp",
    "vpc-endpoint-policy",
)


class SnapshotError(ValueError):
    """Bad snapshot input; ``str()`` is one line naming the file and JSON path."""


MAX_BYTES = 64 * 1024 * 1024  # a snapshot file's size limit; SQSDIAG_MAX_SNAPSHOT_BYTES raises it
MAX_BYTES_ENV = "SQSDIAG_MAX_SNAPSHOT_BYTES"


def _q(value: object) -> str:
    return clip(repr(value))


# --------------------------------------------------------------------------- model


KeyManager = Literal["AWS", "CUSTOMER"]
PrincipalKind = Literal["role", "user", "root"]
NodeType = Literal["ROOT", "ORGANIZATIONAL_UNIT", "ACCOUNT"]


@dataclass(frozen=True)
class Document:
    """A policy document with where it comes from (name/ARN, and how it is attached)."""

    name: str
    document: Any  # the JSON document (dict) or its text; parsed by diagnose.policy
    arn: str | None = None
    source: str = "inline"  # inline | managed | group-inline | group-managed | boundary | scp | rcp | ...
    group: str | None = None


@dataclass(frozen=True)
class Grant:
    grant_id: str
    grantee: str
    operations: tuple[str, ...]
    encryption_context_equals: Mapping[str, str] | None = None
    encryption_context_subset: Mapping[str, str] | None = None
    name: str | None = None
    retiring: str | None = None


class _ArnNamed:
    """Account and Region, read off the record's ARN."""

    arn: str

    @property
    def account(self) -> str:
        return parse_arn(self.arn).account

    @property
    def region(self) -> str:
        return parse_arn(self.arn).region


@dataclass(frozen=True)
class Queue(_ArnNamed):
    arn: str
    url: str | None
    attributes: Mapping[str, str]  # as GetQueueAttributes(All) returns them

    @property
    def name(self) -> str:
        return parse_arn(self.arn).resource


@dataclass(frozen=True)
class Key(_ArnNamed):
    arn: str
    aliases: tuple[str, ...] = ()
    manager: KeyManager | None = None
    state: str | None = None  # KeyState
    spec: str | None = None  # KeySpec
    usage: str | None = None  # KeyUsage
    policy: Any = None  # None: not read
    policy_source: str | None = None  # "GetKeyPolicy" | "documented" (AWS-managed key's documented policy)
    grants: tuple[Grant, ...] | None = None  # None: not read

    @property
    def key_id(self) -> str:
        return parse_arn(self.arn).resource.split("/", 1)[-1]


@dataclass(frozen=True)
class Principal(_ArnNamed):
    """An IAM role, user or account root with what decides its permissions."""

    arn: str
    type: PrincipalKind
    unique_id: str | None = None
    policies: tuple[Document, ...] | None = ()  # None: not read
    boundary: Document | None = None
    tags: Mapping[str, str] | None = None
    groups: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return parse_arn(self.arn).resource.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class OrgNode:
    id: str
    type: NodeType
    name: str | None = None
    scps: tuple[Document, ...] | None = ()  # None: not read
    rcps: tuple[Document, ...] | None = ()


@dataclass(frozen=True)
class Account:
    """An account and its place in an organization. ``org_id`` None: known not to be in one."""

    id: str
    org_id: str | None = None
    management_account: str | None = None
    path: tuple[OrgNode, ...] = ()  # root first, the account itself last

    @property
    def is_management(self) -> bool:
        return self.org_id is not None and self.management_account == self.id


@dataclass(frozen=True)
class VpcEndpoint:
    id: str
    account: str | None = None
    service: str | None = None
    policy: Any = None  # None: not read (AWS's default policy allows everything)


@dataclass(frozen=True)
class Gap:
    """Something that could not be read, why, and who could read it."""

    layer: str  # one of LAYERS
    resource: str  # ARN or id it concerns
    operation: str  # e.g. "kms:GetKeyPolicy"
    error: str  # e.g. "AccessDeniedException"
    account: str | None = None
    message: str = ""
    needs: str | None = None  # the permission that would have allowed the read


@dataclass(frozen=True)
class Snapshot:
    queues: tuple[Queue, ...] = ()
    keys: tuple[Key, ...] = ()
    principals: tuple[Principal, ...] = ()
    accounts: tuple[Account, ...] = ()
    vpc_endpoints: tuple[VpcEndpoint, ...] = ()
    gaps: tuple[Gap, ...] = ()
    sources: tuple[str, ...] = ()  # the files it was loaded from

    def queue(self, arn: str) -> Queue | None:
        return next((q for q in self.queues if q.arn == arn), None)

    def key(self, arn: str) -> Key | None:
        return next((k for k in self.keys if k.arn == arn), None)

    def account(self, account_id: str) -> Account | None:
        return next((a for a in self.accounts if a.id == account_id), None)

    def principal(self, arn: str) -> Principal | None:
        return next((p for p in self.principals if p.arn == arn), None)

    def role_by_name(self, account: str, name: str) -> Principal | None:
        return next((p for p in self.principals if p.type == "role" and p.account == account and p.name == name), None)

    def vpc_endpoint(self, vpce_id: str) -> VpcEndpoint | None:
        return next((v for v in self.vpc_endpoints if v.id == vpce_id), None)

    def gaps_for(self, layer: str, resource: str) -> tuple[Gap, ...]:
        return tuple(g for g in self.gaps if g.layer == layer and g.resource == resource)


# --------------------------------------------------------------------------- reading with JSON paths


class _At:
    """A cursor into parsed JSON that knows its path, for error messages."""

    def __init__(self, value: Any, path: str, origin: str) -> None:
        self.value, self.path, self.origin = value, path, origin

    def fail(self, message: str) -> SnapshotError:
        return SnapshotError(f"{self.origin}: {clip(self.path) or '$'}: {message}")

    def child(self, key: str | int) -> _At:
        if isinstance(key, int):
            return _At(self.value[key], f"{self.path}[{key}]", self.origin)
        return _At(self.value.get(key), f"{self.path}.{key}" if self.path else key, self.origin)

    def obj(self, allowed: Iterable[str] | None = None) -> _At:
        if not isinstance(self.value, dict):
            raise self.fail(f"expected an object, got {type(self.value).__name__}")
        if allowed is not None:
            extra = sorted(set(self.value) - set(allowed))
            if extra:
                raise self.child(extra[0]).fail("unknown field")
        return self

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value

    def str_(self, key: str, required: bool = True) -> str | None:
        c = self.child(key)
        if c.value is None:
            if required:
                raise c.fail("required string is missing")
            return None
        if not isinstance(c.value, str) or not c.value:
            raise c.fail("expected a non-empty string")
        return c.value

    def req_str(self, key: str) -> str:
        value = self.str_(key)
        assert value is not None
        return value

    def arn(self, key: str, service: str | None = None) -> str:
        value = self.req_str(key)
        try:
            arn = parse_arn(value)
        except ValueError as err:
            raise self.child(key).fail(clip(str(err), 200)) from None
        if service and arn.service != service:
            raise self.child(key).fail(f"expected an arn:aws:{service}:... ARN, got {_q(value)}")
        return value

    def list_(self, key: str, required: bool = False) -> list[_At] | None:
        c = self.child(key)
        if c.value is None:
            if required:
                raise c.fail("required list is missing")
            return None
        if not isinstance(c.value, list):
            raise c.fail(f"expected a list, got {type(c.value).__name__}")
        return [c.child(i) for i in range(len(c.value))]

    def str_list(self, key: str) -> tuple[str, ...]:
        items = self.list_(key) or []
        for item in items:
            if not isinstance(item.value, str):
                raise item.fail("expected a string")
        return tuple(i.value for i in items)

    def str_map(self, key: str) -> dict[str, str] | None:
        c = self.child(key)
        if c.value is None:
            return None
        c.obj()
        for k, v in c.value.items():
            if not isinstance(v, str):
                raise c.child(k).fail("expected a string value")
        return dict(c.value)

    def checked_policy(self, key: str, kind: PolicyKind, *, as_written: bool = False) -> Any:
        """The policy document at ``key``, validated now as AWS would (errors name file and JSON path).

        The form validated is the form the engine parses later, so that its parse reuses this one
        (``parse_policy`` caches by content): the decoded document, or with ``as_written`` the value as it
        stands in the snapshot (a queue's ``Policy`` attribute stays JSON text).
        """
        document = self.policy(key)
        if document is not None:
            written = self.child(key).value if as_written else document
            try:
                parse_policy(written, origin=f"{self.origin}: {self.child(key).path}", kind=kind)
            except PolicyError as err:
                raise SnapshotError(str(err)) from None
        return document

    def policy(self, key: str) -> Any:
        c = self.child(key)
        if c.value is None:
            return None
        if isinstance(c.value, str):
            if not c.value.strip():
                raise c.fail("empty policy text (a policy document is a JSON object; null: not read)")
            try:
                document = decode_json(c.value)
            except json.JSONDecodeError as err:
                raise c.fail(f"policy text is not valid JSON ({err.msg} at character {err.pos})") from None
            except ValueError as err:
                raise c.fail(_inner(*json_error(err))) from None
            if not isinstance(document, dict):
                # as a queue's Policy attribute is: JSON text must hold the object itself
                kind = "JSON text (double-encoded?)" if isinstance(document, str) else type_name(document)
                raise c.fail(f"policy text must hold a JSON object, not {kind}")
            return document
        if not isinstance(c.value, dict):
            raise c.fail("expected a policy document (object or JSON text)")
        return c.value


def _inner(path: str, message: str) -> str:
    """A message about the JSON path ``path`` inside a JSON text."""
    return f"{path}: {message}" if path else message


_DOCUMENT_KINDS = {"boundary": PolicyKind.BOUNDARY, "scp": PolicyKind.SCP, "rcp": PolicyKind.RCP}


def _document(at: _At, source: str) -> Document:
    at.obj({"name", "arn", "source", "group", "document"})
    doc = at.checked_policy("document", _DOCUMENT_KINDS.get(source, PolicyKind.IDENTITY))
    if doc is None:
        raise at.child("document").fail("required policy document is missing")
    return Document(
        name=at.str_("name", required=False) or at.str_("arn", required=False) or source,
        document=doc,
        arn=at.str_("arn", required=False),
        source=at.str_("source", required=False) or source,
        group=at.str_("group", required=False),
    )


def _documents(at: _At, key: str, source: str) -> tuple[Document, ...] | None:
    items = at.list_(key)
    if items is None:
        return None if at.has(key) else ()
    return tuple(_document(i, source) for i in items)


def _queue(at: _At) -> Queue:
    at.obj({"arn", "url", "attributes"})
    arn = at.arn("arn", "sqs")
    attrs = at.str_map("attributes")
    if attrs is None:
        raise at.child("attributes").fail("required object is missing (GetQueueAttributes output)")
    attributes = at.child("attributes")
    if "Policy" in attrs:
        if not attrs["Policy"].strip():
            raise attributes.child("Policy").fail("empty policy text (omit Policy when the queue has none)")
        # validated now, with its path, as the text the engine parses
        attributes.checked_policy("Policy", PolicyKind.RESOURCE, as_written=True)
    for name in ("RedrivePolicy", "RedriveAllowPolicy"):
        if attrs.get(name):
            try:
                decode_json(attrs[name])
            except json.JSONDecodeError as err:
                raise attributes.child(name).fail(f"not valid JSON ({err.msg} at character {err.pos})") from None
            except ValueError as err:
                raise attributes.child(name).fail(_inner(*json_error(err))) from None
    return Queue(arn=arn, url=at.str_("url", required=False), attributes=attrs)


def _grant(at: _At) -> Grant:
    at.obj(
        {
            "GrantId",
            "GranteePrincipal",
            "Operations",
            "Constraints",
            "Name",
            "RetiringPrincipal",
            "KeyId",
            "IssuingAccount",
            "CreationDate",
        }
    )
    constraints = at.child("Constraints")
    eq = sub = None
    if constraints.value is not None:
        constraints.obj({"EncryptionContextEquals", "EncryptionContextSubset"})
        eq = constraints.str_map("EncryptionContextEquals")
        sub = constraints.str_map("EncryptionContextSubset")
    return Grant(
        grant_id=at.req_str("GrantId"),
        grantee=at.req_str("GranteePrincipal"),
        operations=at.str_list("Operations"),
        encryption_context_equals=eq,
        encryption_context_subset=sub,
        name=at.str_("Name", required=False),
        retiring=at.str_("RetiringPrincipal", required=False),
    )


def _key(at: _At) -> Key:
    at.obj({"arn", "aliases", "manager", "state", "spec", "usage", "policy", "policy_source", "grants"})
    arn = at.arn("arn", "kms")
    if not parse_arn(arn).resource.startswith("key/"):
        raise at.child("arn").fail("a key ARN must end in key/KEY_ID (an alias ARN is not a key)")
    for alias in at.str_list("aliases"):
        if not alias.startswith("alias/"):
            raise at.child("aliases").fail(f"alias {_q(alias)} must start with 'alias/'")
    manager = at.str_("manager", required=False)
    if manager not in (None, "AWS", "CUSTOMER"):
        raise at.child("manager").fail("expected 'AWS' or 'CUSTOMER'")
    grants = at.list_("grants")
    return Key(
        arn=arn,
        aliases=at.str_list("aliases"),
        manager=cast(KeyManager | None, manager),  # checked above
        state=at.str_("state", required=False),
        spec=at.str_("spec", required=False),
        usage=at.str_("usage", required=False),
        policy=at.checked_policy("policy", PolicyKind.KEY),
        policy_source=at.str_("policy_source", required=False),
        grants=None if grants is None else tuple(_grant(g) for g in grants),
    )


def _principal(at: _At) -> Principal:
    at.obj({"arn", "type", "unique_id", "policies", "boundary", "tags", "groups"})
    arn = at.arn("arn", "iam")
    ptype = at.req_str("type")
    if ptype not in ("role", "user", "root"):
        raise at.child("type").fail("expected 'role', 'user' or 'root'")
    boundary = at.child("boundary")
    return Principal(
        arn=arn,
        type=cast(PrincipalKind, ptype),  # checked above
        unique_id=at.str_("unique_id", required=False),
        policies=_documents(at, "policies", "inline"),
        boundary=_document(boundary, "boundary") if boundary.value is not None else None,
        tags=at.str_map("tags"),
        groups=at.str_list("groups"),
    )


def _org_node(at: _At) -> OrgNode:
    at.obj({"id", "type", "name", "scps", "rcps"})
    ntype = at.req_str("type")
    if ntype not in ("ROOT", "ORGANIZATIONAL_UNIT", "ACCOUNT"):
        raise at.child("type").fail("expected ROOT, ORGANIZATIONAL_UNIT or ACCOUNT")
    return OrgNode(
        id=at.req_str("id"),
        type=cast(NodeType, ntype),  # checked above
        name=at.str_("name", required=False),
        scps=_documents(at, "scps", "scp"),
        rcps=_documents(at, "rcps", "rcp"),
    )


def _account(at: _At) -> Account:
    at.obj({"id", "organization", "path"})
    account_id = at.req_str("id")
    if not ACCOUNT_RE.match(account_id):
        raise at.child("id").fail(f"{_q(account_id)} is not a 12-digit account id")
    if not at.has("organization"):
        raise at.child("organization").fail("required: an object, or null when the account is in no organization")
    org = at.child("organization")
    if org.value is None:
        return Account(id=account_id)
    org.obj({"id", "management_account"})
    path = tuple(_org_node(n) for n in (at.list_("path", required=True) or []))
    if not path or path[0].type != "ROOT" or path[-1].type != "ACCOUNT" or path[-1].id != account_id:
        raise at.child("path").fail("must run from the ROOT to this ACCOUNT (root first, the account last)")
    return Account(
        id=account_id,
        org_id=org.req_str("id"),
        management_account=org.req_str("management_account"),
        path=path,
    )


def _vpce(at: _At) -> VpcEndpoint:
    at.obj({"id", "account", "service", "policy"})
    return VpcEndpoint(
        id=at.req_str("id"),
        account=at.str_("account", required=False),
        service=at.str_("service", required=False),
        policy=at.checked_policy("policy", PolicyKind.VPC_ENDPOINT),
    )


def _gap(at: _At) -> Gap:
    at.obj({"layer", "resource", "operation", "error", "account", "message", "needs"})
    layer = at.req_str("layer")
    if layer not in LAYERS:
        raise at.child("layer").fail(f"unknown layer {_q(layer)} (one of {', '.join(LAYERS)})")
    return Gap(
        layer=layer,
        resource=at.req_str("resource"),
        operation=at.req_str("operation"),
        error=at.req_str("error"),
        account=at.str_("account", required=False),
        message=at.str_("message", required=False) or "",
        needs=at.str_("needs", required=False),
    )


def from_json(data: Any, origin: str = "snapshot") -> Snapshot:
    try:
        check_json(data)  # what ``load`` decoded is checked already; this is for data given as objects
    except ValueError as err:
        path, message = json_error(err)
        raise SnapshotError(f"{origin}: {path or '$'}: {message}") from None
    return _from_checked(data, origin)


def _from_checked(data: Any, origin: str) -> Snapshot:
    at = _At(data, "", origin).obj(
        {
            "schema",
            "version",
            "collected",
            "queues",
            "keys",
            "principals",
            "accounts",
            "vpc_endpoints",
            "gaps",
        }
    )
    if at.child("schema").value != SCHEMA:
        raise at.child("schema").fail(f"expected {SCHEMA!r}: this file is not an sqsdiag snapshot")
    version = at.child("version").value
    if type(version) is not int or version != VERSION:  # not bool: True == 1 in Python
        raise at.child("version").fail(f"unsupported snapshot version {_q(version)} (this sqsdiag reads {VERSION})")

    def each(key: str, ident: str) -> list[_At]:
        items = at.list_(key) or []
        seen: dict[Any, int] = {}
        for i, item in enumerate(items):
            value = item.value.get(ident) if ident and isinstance(item.value, dict) else None
            if value is not None and not isinstance(value, str):
                raise item.child(ident).fail(f"expected a non-empty string, got {type_name(value)}")
            if value is not None and value in seen:
                raise item.child(ident).fail(f"duplicate of {key}[{seen[value]}] (one record per {ident})")
            seen[value] = i
        return items

    return Snapshot(
        queues=tuple(_queue(q) for q in each("queues", "arn")),
        keys=tuple(_key(k) for k in each("keys", "arn")),
        principals=tuple(_principal(p) for p in each("principals", "arn")),
        accounts=tuple(_account(a) for a in each("accounts", "id")),
        vpc_endpoints=tuple(_vpce(v) for v in each("vpc_endpoints", "id")),
        gaps=tuple(_gap(g) for g in each("gaps", "")),
        sources=(origin,),
    )


def max_bytes() -> int:
    """The size limit of an input file: ``MAX_BYTES``, or ``$SQSDIAG_MAX_SNAPSHOT_BYTES``."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return MAX_BYTES
    if not raw.isdigit() or int(raw) <= 0:
        raise SnapshotError(f"{MAX_BYTES_ENV}={clip(raw)}: expected a positive number of bytes")
    return int(raw)


def read_input(path: str | Path, what: str = "snapshot") -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes()`` bytes, else ``SnapshotError``.

    Never blocks on a FIFO or device, and never reads more than the limit (a file growing meanwhile too).
    """
    p = Path(path)
    limit = max_bytes()
    try:
        if not stat.S_ISREG(os.stat(p).st_mode):
            raise SnapshotError(f"{p}: not a regular file (a {what} is a JSON file)")
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise SnapshotError(f"{p}: not a regular file (a {what} is a JSON file)")
            if info.st_size > limit:
                raise SnapshotError(
                    f"{p}: {info.st_size} bytes, over the limit of {limit} (raise it with {MAX_BYTES_ENV})"
                )
            raw = f.read(limit + 1)
    except OSError as err:
        raise SnapshotError(f"{p}: cannot read {what} ({err.strerror or err})") from None
    if len(raw) > limit:
        raise SnapshotError(f"{p}: over the limit of {limit} bytes (raise it with {MAX_BYTES_ENV})")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SnapshotError(f"{p}: not UTF-8 text") from None


def decode_input(text: str, origin: str) -> Any:
    """``text`` decoded strictly (``decode_json``); any error is one line naming ``origin`` and the path."""
    try:
        return decode_json(text)
    except json.JSONDecodeError as err:
        if not text.strip():
            raise SnapshotError(f"{origin}: empty file (expected a JSON document)") from None
        raise SnapshotError(f"{origin}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    except ValueError as err:
        path, message = json_error(err)
        raise SnapshotError(f"{origin}: {path or '$'}: {message}") from None


def load(path: str | Path) -> Snapshot:
    p = Path(path)
    return _from_checked(decode_input(read_input(p), str(p)), str(p))  # decode_input checked it


# --------------------------------------------------------------------------- merging


# Lists of names that each side may know only part of: merged by union. Every other field is one fact:
# None is unknown and is filled from the other side; any other value (an empty list too: "read, none")
# must agree.
_UNION_FIELDS = frozenset({"aliases", "groups"})


def _merge_entity(a: Any, b: Any, what: str) -> Any:
    """Merge two records of one entity; differing known facts are an error, never overwritten."""
    if isinstance(a, Account):
        if a != b:  # organization None is a fact ("in no organization"), not an unknown
            raise SnapshotError(f"conflicting facts for {what}: its organization differs between the snapshots")
        return a
    changes: dict[str, Any] = {}
    for f in fields(a):
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if va == vb or vb is None:
            continue
        if f.name in _UNION_FIELDS:
            changes[f.name] = tuple(dict.fromkeys((*va, *vb)))
        elif va is None:
            changes[f.name] = vb
        else:
            raise SnapshotError(f"conflicting facts for {what}: field {f.name!r} differs between the snapshots")
    return replace(a, **changes) if changes else a


def _merge_list(items: Iterable[Any], ident: str, kind: str) -> tuple[Any, ...]:
    merged: dict[str, Any] = {}
    for item in items:
        key = getattr(item, ident)
        merged[key] = _merge_entity(merged[key], item, f"{kind} {key}") if key in merged else item
    return tuple(merged.values())


def merge(snapshots: Iterable[Snapshot]) -> Snapshot:
    snaps = list(snapshots)
    merged = Snapshot(
        queues=_merge_list((q for s in snaps for q in s.queues), "arn", "queue"),
        keys=_merge_list((k for s in snaps for k in s.keys), "arn", "key"),
        principals=_merge_list((p for s in snaps for p in s.principals), "arn", "principal"),
        accounts=_merge_list((a for s in snaps for a in s.accounts), "id", "account"),
        vpc_endpoints=_merge_list((v for s in snaps for v in s.vpc_endpoints), "id", "VPC endpoint"),
        sources=tuple(src for s in snaps for src in s.sources),
    )
    # A gap in one half is closed when the other half has the fact.
    # A half that holds the entity and records no gap for that layer read it, so its
    # null (e.g. "boundary": null, a role with no boundary) is "read, none", not "not read".
    gaps = {
        g
        for s in snaps
        for g in s.gaps
        if not _gap_filled(merged, g) and not any(_read_without_gap(o, g) for o in snaps)
    }
    return replace(merged, gaps=tuple(sorted(gaps, key=lambda g: (g.layer, g.resource, g.operation))))


def _read_without_gap(snap: Snapshot, gap: Gap) -> bool:
    """Whether this half read what `gap` says another half could not."""
    if any(g.layer == gap.layer and g.resource == gap.resource for g in snap.gaps):
        return False
    if gap.layer in ("identity-policy", "permissions-boundary"):
        return snap.principal(gap.resource) is not None
    if gap.layer in ("key-policy", "grant"):
        return snap.key(gap.resource) is not None
    return False


def _gap_filled(snap: Snapshot, gap: Gap) -> bool:
    if gap.layer == "key-policy":
        key = snap.key(gap.resource)
        return key is not None and key.policy is not None
    if gap.layer == "grant":
        key = snap.key(gap.resource)
        return key is not None and key.grants is not None
    if gap.layer == "identity-policy":
        principal = snap.principal(gap.resource)
        return principal is not None and principal.policies is not None
    if gap.layer == "permissions-boundary":
        principal = snap.principal(gap.resource)
        return principal is not None and principal.boundary is not None
    if gap.layer in ("queue", "resource-policy"):
        return snap.queue(gap.resource) is not None
    if gap.layer in ("scp", "rcp"):
        return snap.account(gap.resource) is not None
    if gap.layer == "key":
        return snap.key(gap.resource) is not None
    return False


# --------------------------------------------------------------------------- writing


def to_json(snap: Snapshot, collected: Mapping[str, Any] | None = None) -> dict[str, Any]:
    def doc(d: Document) -> dict[str, Any]:
        out: dict[str, Any] = {"name": d.name, "source": d.source, "document": d.document}
        if d.arn:
            out["arn"] = d.arn
        if d.group:
            out["group"] = d.group
        return out

    def docs(ds: tuple[Document, ...] | None) -> list[dict[str, Any]] | None:
        return None if ds is None else [doc(d) for d in ds]

    def grant(g: Grant) -> dict[str, Any]:
        out: dict[str, Any] = {
            "GrantId": g.grant_id,
            "GranteePrincipal": g.grantee,
            "Operations": list(g.operations),
        }
        constraints = {}
        if g.encryption_context_equals is not None:
            constraints["EncryptionContextEquals"] = dict(g.encryption_context_equals)
        if g.encryption_context_subset is not None:
            constraints["EncryptionContextSubset"] = dict(g.encryption_context_subset)
        if constraints:
            out["Constraints"] = constraints
        if g.name:
            out["Name"] = g.name
        if g.retiring:
            out["RetiringPrincipal"] = g.retiring
        return out

    def account(a: Account) -> dict[str, Any]:
        if a.org_id is None:
            return {"id": a.id, "organization": None}
        return {
            "id": a.id,
            "organization": {"id": a.org_id, "management_account": a.management_account},
            "path": [
                {"id": n.id, "type": n.type, "name": n.name, "scps": docs(n.scps), "rcps": docs(n.rcps)} for n in a.path
            ],
        }

    out: dict[str, Any] = {"schema": SCHEMA, "version": VERSION}
    if collected:
        out["collected"] = dict(collected)
    out["queues"] = [{"arn": q.arn, "url": q.url, "attributes": dict(q.attributes)} for q in snap.queues]
    out["keys"] = [
        {
            "arn": k.arn,
            "aliases": list(k.aliases),
            "manager": k.manager,
            "state": k.state,
            "spec": k.spec,
            "usage": k.usage,
            "policy": k.policy,
            "policy_source": k.policy_source,
            "grants": None if k.grants is None else [grant(g) for g in k.grants],
        }
        for k in snap.keys
    ]
    out["principals"] = [
        {
            "arn": p.arn,
            "type": p.type,
            "unique_id": p.unique_id,
            "policies": docs(p.policies),
            "boundary": doc(p.boundary) if p.boundary else None,
            "tags": None if p.tags is None else dict(p.tags),
            "groups": list(p.groups),
        }
        for p in snap.principals
    ]
    out["accounts"] = [account(a) for a in snap.accounts]
    out["vpc_endpoints"] = [
        {"id": v.id, "account": v.account, "service": v.service, "policy": v.policy} for v in snap.vpc_endpoints
    ]
    out["gaps"] = [{k: v for k, v in vars(g).items() if v not in (None, "")} for g in snap.gaps]
    return out


def save(snap: Snapshot, path: str | Path, collected: Mapping[str, Any] | None = None) -> None:
    Path(path).write_text(json.dumps(to_json(snap, collected), indent=2, sort_keys=False) + "\n", encoding="utf-8")


__all__ = [
    "SCHEMA",
    "VERSION",
    "Account",
    "Document",
    "Gap",
    "Grant",
    "Key",
    "OrgNode",
    "Principal",
    "Queue",
    "Snapshot",
    "SnapshotError",
    "VpcEndpoint",
    "from_json",
    "load",
    "merge",
    "save",
    "to_json",
]
