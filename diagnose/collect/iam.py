"""The principal: a role or user with every policy that decides its permissions, or an account root.

A role's or user's policies are either all known or ``None`` (unknown) with a gap per failed read:
a partial list would let the evaluator mistake a missing Deny for no Deny.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from diagnose.arns import ACCOUNT_RE, parse_arn
from diagnose.collect.documents import policy_json, tags
from diagnose.collect.reader import POLICY, Kind, Outcome, Reader, ReadError, check, require
from diagnose.snapshot import Document, Gap, Principal, PrincipalKind

SERVICE_PRINCIPAL_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$")


@dataclass(frozen=True)
class PrincipalRef:
    kind: PrincipalKind | Literal["service"]
    arn: str  # as far as known before reading: a role ARN may lack its path
    account: str | None = None
    name: str | None = None


def parse_principal(text: str, partition: str = "aws") -> PrincipalRef:
    value = text.strip()
    if ACCOUNT_RE.match(value):
        return PrincipalRef("root", f"arn:{partition}:iam::{value}:root", value)
    if SERVICE_PRINCIPAL_RE.match(value):
        return PrincipalRef("service", value)
    bad = ValueError(
        f"principal {text!r} is not a role, user, assumed-role session, account id, root ARN or service principal"
    )
    try:
        arn = parse_arn(value, "principal")
    except ValueError:
        raise bad from None
    if not ACCOUNT_RE.match(arn.account):
        raise bad
    parts = arn.resource.split("/")
    if arn.service == "iam" and arn.resource == "root":
        return PrincipalRef("root", value, arn.account)
    if arn.service == "iam" and parts[0] in ("role", "user") and len(parts) >= 2 and parts[-1]:
        return PrincipalRef("role" if parts[0] == "role" else "user", value, arn.account, parts[-1])
    if arn.service == "sts" and parts[0] == "assumed-role" and len(parts) == 3 and parts[1]:
        # The session's ARN drops the role's path; GetRole gives it back.
        return PrincipalRef("role", f"arn:{arn.partition}:iam::{arn.account}:role/{parts[1]}", arn.account, parts[1])
    raise bad


# What each read must hold to be a read (else a MalformedResponse gap, never a fact).
ENTITY: dict[str, Kind] = {"Arn": str}
GROUP: dict[str, Kind] = {"GroupName": str, "Arn": str}
NAME: dict[str, Kind] = {"": str}
ATTACHED: dict[str, Kind] = {"PolicyArn": str}
TAG: dict[str, Kind] = {"": dict, "Key": str}


class PrincipalCollector:
    def __init__(self, reader: Reader, ref: PrincipalRef, region: str) -> None:
        self._reader, self._ref, self._region = reader, ref, region

    # -- reading

    def _field(self, op: str, path: str, kind: Kind, **params: Any) -> Any:
        assert self._ref.account is not None
        return self._reader.field(self._ref.account, "iam", op, self._ref.arn, self._region, path, kind, **params)

    def _pages(self, op: str, items: str, each: Mapping[str, Kind], **params: Any) -> list[Any]:
        assert self._ref.account is not None
        return self._reader.pages(self._ref.account, "iam", op, self._ref.arn, self._region, items, each=each, **params)

    def _entity(self, op: str, path: str, **params: Any) -> Any:
        entity = self._field(op, path, dict, **params)
        assert self._ref.account is not None
        check(entity, ENTITY, self._ref.account, f"iam:{op}")
        if entity.get("PermissionsBoundary") is not None:
            require(entity, "PermissionsBoundary.PermissionsBoundaryArn", str, self._ref.account, f"iam:{op}")
        for tag in entity.get("Tags") or ():
            check(tag, TAG, self._ref.account, f"iam:{op}")
        if entity.get("Tags") is not None:
            require(entity, "Tags", list, self._ref.account, f"iam:{op}")
        return entity

    def _k(self, *parts: str) -> Hashable:
        return ("iam", self._ref.account, *parts)

    def start(self) -> None:
        ref, fetch = self._ref, self._reader.fetch
        if ref.kind not in ("role", "user"):
            return
        assert ref.name is not None
        if ref.kind == "role":
            fetch(
                self._k("role", ref.name),
                lambda: self._entity("GetRole", "Role", RoleName=ref.name),
                self._boundary,
            )
            self._inline("role", ref.name, "ListRolePolicies", "GetRolePolicy", RoleName=ref.name)
            self._attached("role", ref.name, "ListAttachedRolePolicies", RoleName=ref.name)
            return
        fetch(
            self._k("user", ref.name),
            lambda: self._entity("GetUser", "User", UserName=ref.name),
            self._boundary,
        )
        self._inline("user", ref.name, "ListUserPolicies", "GetUserPolicy", UserName=ref.name)
        self._attached("user", ref.name, "ListAttachedUserPolicies", UserName=ref.name)
        fetch(
            self._k("groups", ref.name),
            lambda: self._pages("ListGroupsForUser", "Groups", GROUP, UserName=ref.name),
            self._groups,
        )

    def _groups(self, groups: list[Any]) -> None:
        for group in groups:
            self._group(str(group["GroupName"]))

    def _group(self, group: str) -> None:
        self._inline("group", group, "ListGroupPolicies", "GetGroupPolicy", GroupName=group)
        self._attached("group", group, "ListAttachedGroupPolicies", GroupName=group)

    def _inline(self, kind: str, name: str, list_op: str, get_op: str, **who: str) -> None:
        def get_one(policy: str) -> Any:
            return policy_json(self._field(get_op, "PolicyDocument", POLICY, PolicyName=policy, **who))

        def get_each(names: list[str]) -> None:
            for policy in names:
                self._reader.fetch(self._k(kind, name, "inline", policy), partial(get_one, policy))

        self._reader.fetch(
            self._k(kind, name, "inline"), lambda: self._pages(list_op, "PolicyNames", NAME, **who), get_each
        )

    def _attached(self, kind: str, name: str, list_op: str, **who: str) -> None:
        def get_each(attached: list[Any]) -> None:
            for policy in attached:
                self._managed(str(policy["PolicyArn"]))

        self._reader.fetch(
            self._k(kind, name, "attached"),
            lambda: self._pages(list_op, "AttachedPolicies", ATTACHED, **who),
            get_each,
        )

    def _managed(self, arn: str) -> None:
        def version(policy: Any) -> None:
            vid = str(policy["DefaultVersionId"])
            self._reader.fetch(
                self._k("policy", arn, vid),
                lambda: policy_json(
                    self._field("GetPolicyVersion", "PolicyVersion.Document", POLICY, PolicyArn=arn, VersionId=vid)
                ),
            )

        self._reader.fetch(self._k("policy", arn), partial(self._managed_policy, arn), version)

    def _managed_policy(self, arn: str) -> Any:
        policy = self._field("GetPolicy", "Policy", dict, PolicyArn=arn)
        assert self._ref.account is not None
        require(policy, "DefaultVersionId", str, self._ref.account, "iam:GetPolicy")
        return policy

    def _boundary(self, entity: Any) -> None:
        boundary = (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if boundary:
            self._managed(str(boundary))

    # -- assembling

    def build(self) -> tuple[list[Principal], list[Gap]]:
        ref = self._ref
        if ref.kind == "service":
            return [], []
        if ref.kind == "root":
            return [Principal(arn=ref.arn, type="root", policies=())], []
        assert ref.name is not None
        return _Assembly(self, ref).principal()


class _Assembly:
    def __init__(self, collector: PrincipalCollector, ref: PrincipalRef) -> None:
        self._c, self._ref = collector, ref
        self.gaps: list[Gap] = []
        self.known = True
        self.arn = ref.arn

    def _get(self, *key: str) -> Outcome:
        outcome = self._c._reader.outcome(self._c._k(*key))
        if outcome is None:  # never started: its parent read failed, which has its own gap
            return Outcome(error=ReadError(self._ref.account or "", "iam:?", "NotRead", "not read"))
        return outcome

    def _fail(self, error: ReadError, layer: str = "identity-policy", about: str | None = None) -> None:
        self.gaps.append(error.gap(layer, self.arn, about))
        if layer == "identity-policy":
            self.known = False

    def principal(self) -> tuple[list[Principal], list[Gap]]:
        ref = self._ref
        assert ref.name is not None
        entity = self._get(ref.kind, ref.name)
        if entity.error is not None:
            self._fail(entity.error)
            if entity.error.code != "NoSuchEntity":  # it may exist, with a boundary nobody could read
                self._fail(entity.error, "permissions-boundary")
            return [], self.gaps
        info = entity.value
        self.arn = str(info["Arn"])
        docs = self._inline(ref.kind, ref.name, "inline") + self._attached(ref.kind, ref.name, "managed")
        groups: list[str] = []
        if ref.kind == "user":
            listed = self._get("groups", ref.name)
            if listed.error is not None:
                self._fail(listed.error)
            else:
                for group in listed.value:
                    groups.append(str(group["Arn"]))
                    gname = str(group["GroupName"])
                    docs += self._inline("group", gname, "group-inline") + self._attached(
                        "group", gname, "group-managed"
                    )
        boundary = self._boundary(info)
        principal = Principal(
            arn=self.arn,
            type="user" if ref.kind == "user" else "role",  # roots and services never get here
            unique_id=info.get("RoleId") or info.get("UserId"),
            policies=tuple(docs) if self.known else None,
            boundary=boundary,
            tags=tags(info.get("Tags")),
            groups=tuple(groups),
        )
        return [principal], self.gaps

    def _inline(self, kind: str, name: str, source: str) -> list[Document]:
        listed = self._get(kind, name, "inline")
        if listed.error is not None:
            self._fail(listed.error)
            return []
        out = []
        for policy in listed.value:
            got = self._get(kind, name, "inline", str(policy))
            if got.error is not None:
                self._fail(got.error, about=f"{kind} {name} inline policy {policy}")
                continue
            group = name if kind == "group" else None
            out.append(Document(name=str(policy), document=got.value, source=source, group=group))
        return out

    def _attached(self, kind: str, name: str, source: str) -> list[Document]:
        listed = self._get(kind, name, "attached")
        if listed.error is not None:
            self._fail(listed.error)
            return []
        out = []
        for attached in listed.value:
            doc = self._managed(str(attached["PolicyArn"]), source, "identity-policy")
            if doc is not None:
                out.append(doc if kind != "group" else Document(doc.name, doc.document, doc.arn, source, name))
        return out

    def _managed(self, arn: str, source: str, layer: str) -> Document | None:
        policy = self._get("policy", arn)
        if policy.error is not None:
            self._fail(policy.error, layer, arn)
            return None
        version = self._get("policy", arn, str(policy.value["DefaultVersionId"]))
        if version.error is not None:
            self._fail(version.error, layer, arn)
            return None
        return Document(name=str(policy.value.get("PolicyName") or arn), document=version.value, arn=arn, source=source)

    def _boundary(self, info: Any) -> Document | None:
        arn = (info.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        return self._managed(str(arn), "boundary", "permissions-boundary") if arn else None
