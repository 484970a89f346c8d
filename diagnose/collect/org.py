"""Each account's place in its organization and the SCPs/RCPs on the way from the root to it.

Membership is read from the account itself (DescribeOrganization); the path and the policies only
from the management account. Reads are keyed by management account and node, so accounts that
share a root or an OU read it once, and the root is found with ListRoots beside the first
ListParents rather than at the end of the walk.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Mapping
from functools import partial
from typing import Any, cast

from diagnose.collect.documents import policy_json
from diagnose.collect.reader import POLICY, Kind, Outcome, Reader, ReadError
from diagnose.snapshot import Account, Document, Gap, NodeType, OrgNode

NOT_IN_USE = "AWSOrganizationsNotInUseException"
POLICY_TYPES = {"scp": "SERVICE_CONTROL_POLICY", "rcp": "RESOURCE_CONTROL_POLICY"}

# What each read must hold to be a read (else a MalformedResponse gap, never a fact).
ORGANIZATION: dict[str, Kind] = {"Organization": dict, "Organization.Id": str, "Organization.MasterAccountId": str}
NODE: dict[str, Kind] = {"Id": str}
PARENT: dict[str, Kind] = {"Id": str, "Type": str}
POLICY_DOC: dict[str, Kind] = {"Policy": dict, "Policy.Content": POLICY}


class OrgCollector:
    def __init__(self, reader: Reader, region: str) -> None:
        self._reader, self._region = reader, region
        self._accounts: list[str] = []
        self._lock = threading.Lock()

    def account(self, account: str) -> None:
        with self._lock:
            if account in self._accounts:
                return
            self._accounts.append(account)

        def describe() -> Any:
            response = self._reader.call(
                account, "organizations", "DescribeOrganization", account, self._region, expect=ORGANIZATION
            )
            return response["Organization"]

        def walk(org: Any) -> None:
            mgmt = str(org["MasterAccountId"])
            self._reader.fetch(
                ("org", mgmt, "roots"), lambda: self._pages(mgmt, "ListRoots", "Roots", NODE), self._roots(mgmt)
            )
            self._node(mgmt, account, "ACCOUNT")

        self._reader.fetch(("org", "describe", account), describe, walk)

    def _pages(
        self, mgmt: str, op: str, items: str, each: Mapping[str, Kind], resource: str = "-", **params: Any
    ) -> list[Any]:
        return self._reader.pages(mgmt, "organizations", op, resource, self._region, items, each=each, **params)

    def _roots(self, mgmt: str) -> Any:
        def each(roots: list[Any]) -> None:
            for root in roots:
                self._node(mgmt, str(root["Id"]), "ROOT")

        return each

    def _node(self, mgmt: str, node: str, kind: str) -> None:
        fetch = self._reader.fetch

        def describe_each(policies: list[Any]) -> None:
            for policy in policies:
                self._policy(mgmt, str(policy["Id"]))

        for short, ptype in POLICY_TYPES.items():
            fetch(("org", mgmt, node, short), partial(self._attached, mgmt, node, ptype), describe_each)
        if kind == "ORGANIZATIONAL_UNIT":
            fetch(
                ("org", mgmt, node, "name"),
                lambda: self._reader.field(
                    mgmt,
                    "organizations",
                    "DescribeOrganizationalUnit",
                    node,
                    self._region,
                    "OrganizationalUnit",
                    dict,
                    OrganizationalUnitId=node,
                ),
            )
        if kind != "ROOT":

            def up(parents: list[Any]) -> None:
                for parent in parents:
                    self._node(mgmt, str(parent["Id"]), str(parent["Type"]))

            fetch(
                ("org", mgmt, node, "parents"),
                lambda: self._pages(mgmt, "ListParents", "Parents", PARENT, node, ChildId=node),
                up,
            )

    def _attached(self, mgmt: str, node: str, ptype: str) -> list[Any]:
        try:
            return self._pages(mgmt, "ListPoliciesForTarget", "Policies", NODE, node, TargetId=node, Filter=ptype)
        except ReadError as err:
            if err.code == "PolicyTypeNotEnabledException":
                return []  # the type is off in this organization: no such policy applies
            raise

    def _policy(self, mgmt: str, policy_id: str) -> None:
        self._reader.fetch(
            ("org", mgmt, "policy", policy_id),
            lambda: self._reader.call(
                mgmt, "organizations", "DescribePolicy", policy_id, self._region, expect=POLICY_DOC, PolicyId=policy_id
            )["Policy"],
        )

    # -- assembling

    def build(self) -> tuple[list[Account], list[Gap]]:
        accounts: list[Account] = []
        gaps: list[Gap] = []
        for account_id in self._accounts:
            account, missing = self._assemble(account_id)
            gaps += missing
            if account is not None:
                accounts.append(account)
        return accounts, gaps

    def _get(self, key: Hashable) -> Outcome | None:
        return self._reader.outcome(key)

    def _assemble(self, account_id: str) -> tuple[Account | None, list[Gap]]:
        described = self._get(("org", "describe", account_id))
        if described is None:
            return None, []
        if described.error is not None:
            if described.error.code == NOT_IN_USE:
                return Account(id=account_id), []
            return None, _both(described.error, account_id)
        org_id, mgmt = str(described.value["Id"]), str(described.value["MasterAccountId"])

        chain: list[tuple[str, str]] = [(account_id, "ACCOUNT")]
        while chain[-1][1] != "ROOT":
            parents = self._get(("org", mgmt, chain[-1][0], "parents"))
            if parents is None or parents.error is not None or not parents.value or len(chain) > 10:
                error = parents.error if parents is not None and parents.error is not None else _unreadable(mgmt)
                return None, _both(error, account_id)
            chain.append((str(parents.value[0]["Id"]), str(parents.value[0]["Type"])))

        gaps: list[Gap] = []
        path = []
        for node_id, kind in reversed(chain):
            policies: dict[str, tuple[Document, ...] | None] = {}
            for short in POLICY_TYPES:
                policies[short], failed = self._documents(mgmt, node_id, short)
                if failed is not None:
                    gaps.append(failed.gap(short, account_id))
            path.append(
                OrgNode(
                    id=node_id,
                    type=cast(NodeType, kind),  # Organizations' own node types
                    name=self._name(mgmt, node_id, kind),
                    scps=policies["scp"],
                    rcps=policies["rcp"],
                )
            )
        return Account(id=account_id, org_id=org_id, management_account=mgmt, path=tuple(path)), gaps

    def _documents(self, mgmt: str, node: str, short: str) -> tuple[tuple[Document, ...] | None, ReadError | None]:
        attached = self._get(("org", mgmt, node, short))
        if attached is None:
            return None, _unreadable(mgmt)
        if attached.error is not None:
            return None, attached.error
        docs = []
        for summary in attached.value:
            read = self._get(("org", mgmt, "policy", str(summary["Id"])))
            if read is None or read.error is not None:
                return None, read.error if read is not None and read.error is not None else _unreadable(mgmt)
            policy = read.value
            meta = policy.get("PolicySummary") if isinstance(policy.get("PolicySummary"), dict) else summary
            docs.append(
                Document(
                    name=str(meta.get("Name") or summary["Id"]),
                    document=policy_json(policy.get("Content")),
                    arn=meta.get("Arn"),
                    source=short,
                )
            )
        return tuple(docs), None

    def _name(self, mgmt: str, node: str, kind: str) -> str | None:
        if kind == "ROOT":
            roots = self._get(("org", mgmt, "roots"))
            if roots is not None and roots.error is None:
                return next((str(r.get("Name")) for r in roots.value if r.get("Id") == node), None)
        if kind == "ORGANIZATIONAL_UNIT":
            ou = self._get(("org", mgmt, node, "name"))
            if ou is not None and ou.error is None:
                return str(ou.value.get("Name")) if ou.value.get("Name") else None
        return None


def _both(error: ReadError, account: str) -> list[Gap]:
    return [error.gap("scp", account), error.gap("rcp", account)]


def _unreadable(mgmt: str) -> ReadError:
    return ReadError(mgmt, "organizations:ListParents", "NotRead", "the organization path was not read")
