"""The snapshot seen through the engine's eyes: parsed documents, the caller, org levels per account.

This is where "not in the snapshot" becomes *unknown* (never empty), and where gaps recorded by
collection become the text of what a verdict depends on.
"""

from __future__ import annotations

import re
from typing import Any

from diagnose.arns import ACCOUNT_RE, parse_arn
from diagnose.authz import Docs, GrantInfo, Grants, Layer, OrgLevels
from diagnose.docref import Boundary, IdentityPolicy, KeyPolicy, OrgPolicy, PolicyRef, QueuePolicy
from diagnose.managed_keys import aws_sqs_key_policy, is_aws_managed
from diagnose.policy import Caller, Policy, PolicyKind, PrincipalType, parse_policy
from diagnose.snapshot import Account, Document, Key, OrgNode, Principal, Queue, Snapshot

SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$")
DEFAULT_SESSION_NAME = "sqsdiag-session"
_IAM_NAME = re.compile(r"^[\w+=,.@/-]+$", re.ASCII)


def org_level_label(kind: str, node: OrgNode) -> str:
    """How evidence names one level of an org path, e.g. "SCPs at organizational unit Workloads"."""
    return f"{kind.upper()}s at {node.type.lower().replace('_', ' ')} {node.name or node.id}"


class World:
    """Read-only view over a snapshot, parsing each document once."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._parsed: dict[tuple[int, str, PolicyKind], Policy] = {}
        self.locations: dict[str, PolicyRef] = {}  # origin -> where the document lives (for proven fixes)

    # ----------------------------------------------------------------- documents

    def parse(self, document: Any, origin: str, kind: PolicyKind, location: PolicyRef | None = None) -> Policy:
        cache_key = (id(document), origin, kind)
        if cache_key not in self._parsed:
            self._parsed[cache_key] = parse_policy(document, origin=origin, kind=kind)
        if location is not None:
            self.locations[origin] = location
        return self._parsed[cache_key]

    def _gap_text(self, layer: str, resource: str, what: str) -> str:
        gaps = self.snapshot.gaps_for(layer, resource)
        if not gaps:
            return f"{what} (not in the snapshot)"
        g = gaps[0]
        if g.operation == "template":
            return f"{what} (not determined by the code: {g.message})"
        who = f" in account {g.account}" if g.account else ""
        needs = f"; needs {g.needs}" if g.needs else ""
        return f"{what} ({g.operation}{who} failed: {g.error}{needs})"

    def queue_policy(self, queue: Queue) -> Docs:
        text = queue.attributes.get("Policy")
        if not text:
            return Docs()
        origin = f"queue policy of {queue.name}"
        return Docs((self.parse(text, origin, PolicyKind.RESOURCE, QueuePolicy(queue.arn)),))

    def key_policy(self, key: Key) -> Docs:
        if key.policy is not None:
            origin = f"key policy of {key.arn}"
            if key.policy_source == "documented":
                origin += " (documented AWS managed policy)"
            location = (
                None if is_aws_managed(key.manager, key.aliases) else KeyPolicy(key.arn)
            )  # AWS managed: unchangeable
            return Docs((self.parse(key.policy, origin, PolicyKind.KEY, location),))
        if key.manager == "AWS" and "alias/aws/sqs" in key.aliases:
            doc = aws_sqs_key_policy(key.account, key.region)
            return Docs((self.parse(doc, f"key policy of {key.arn} (documented AWS managed policy)", PolicyKind.KEY),))
        return Docs(unknown=(self._gap_text("key-policy", key.arn, f"key policy of {key.arn}"),))

    def grants(self, key: Key) -> Grants:
        origin = f"grants on {key.arn}"
        if key.grants is None:
            return Grants(unknown=(self._gap_text("grant", key.arn, origin),), origin=origin)
        infos = tuple(
            GrantInfo(
                grant_id=g.grant_id,
                grantee=g.grantee,
                operations=g.operations,
                context_equals=dict(g.encryption_context_equals) if g.encryption_context_equals is not None else None,
                context_subset=dict(g.encryption_context_subset) if g.encryption_context_subset is not None else None,
                name=g.name,
            )
            for g in key.grants
        )
        return Grants(infos, origin=origin)

    def _docs(self, docs: tuple[Document, ...], owner: Principal, kind: PolicyKind) -> tuple[Policy, ...]:
        out = []
        name = owner.arn.rsplit("/", 1)[-1]
        for d in docs:
            where = f" (group {d.group.rsplit('/', 1)[-1]})" if d.group else ""
            origin = f"{d.source} policy {d.name!r} of {name}{where}"
            ref: PolicyRef = (
                Boundary(owner.arn)
                if kind is PolicyKind.BOUNDARY
                else IdentityPolicy(owner.arn, d.name, d.source, d.group)
            )
            out.append(self.parse(d.document, origin, kind, ref))
        return tuple(out)

    def identity(self, principal: Principal | None, caller: Caller) -> Docs:
        if principal is None:
            ref = caller.role_arn or caller.arn
            return Docs(unknown=(self._gap_text("identity-policy", ref, f"identity policies of {ref}"),))
        if principal.policies is None:
            return Docs(
                unknown=(self._gap_text("identity-policy", principal.arn, f"identity policies of {principal.arn}"),)
            )
        return Docs(self._docs(principal.policies, principal, PolicyKind.IDENTITY))

    def boundary(self, principal: Principal | None) -> Docs | None:
        if principal is None:
            return None  # unknown principal: its identity layer is already unknown
        if principal.boundary is None:
            if self.snapshot.gaps_for("permissions-boundary", principal.arn):
                return Docs(unknown=(self._gap_text("permissions-boundary", principal.arn, "permissions boundary"),))
            return None
        return Docs(self._docs((principal.boundary,), principal, PolicyKind.BOUNDARY))

    # ----------------------------------------------------------------- organizations

    def org_levels(self, account_id: str | None, kind: str) -> OrgLevels | None:
        """SCPs (``kind='scp'``) or RCPs of an account; None when they do not apply."""
        if account_id is None:
            return None
        account = self.snapshot.account(account_id)
        if account is None:
            what = f"{kind.upper()}s of account {account_id}"
            return OrgLevels(unknown=(self._gap_text(kind, account_id, what),))
        if account.org_id is None or account.is_management:
            return None  # no organization; the management account is exempt (O1, O3)
        levels = []
        for node_index, node in enumerate(account.path):
            docs = node.scps if kind == "scp" else node.rcps
            label = org_level_label(kind, node)
            if docs is None:
                levels.append((label, Docs(unknown=(label,))))
            else:
                pkind = PolicyKind.SCP if kind == "scp" else PolicyKind.RCP
                parsed = tuple(
                    self.parse(
                        d.document,
                        f"{kind.upper()} {d.name!r} at {node.name or node.id}",
                        pkind,
                        OrgPolicy(Layer.SCP if kind == "scp" else Layer.RCP, account_id, node_index, d.name),
                    )
                    for d in docs
                )
                levels.append((label, Docs(parsed)))
        return OrgLevels(tuple(levels))

    def account(self, account_id: str | None) -> Account | None:
        return self.snapshot.account(account_id) if account_id else None

    # ----------------------------------------------------------------- the caller

    def caller(self, text: str, session_name: str | None = None) -> tuple[Caller, Principal | None]:
        """Turn ``--principal`` into a Caller; raise ValueError naming what is wrong."""
        text = text.strip()
        if text in ("*", "anonymous"):
            return Caller(PrincipalType.ANONYMOUS, "anonymous"), None
        if SERVICE_RE.match(text):
            return Caller(PrincipalType.SERVICE, text, service=text), None
        if ACCOUNT_RE.match(text):
            text = f"arn:aws:iam::{text}:root"
        try:
            arn = parse_arn(text, "--principal")
        except ValueError:
            raise ValueError(
                f"--principal {text!r} is not an IAM role, user, session or root ARN, an account id, "
                "or a service principal such as sns.amazonaws.com"
            ) from None
        account, resource = arn.account, arn.resource
        if resource.endswith("/") or "//" in resource:
            raise ValueError(f"--principal {text!r}: the name after the last '/' is missing")
        if not _IAM_NAME.match(resource):
            # IAM names and paths allow letters, digits and +=,.@_- only; a session name adds nothing new (P3)
            raise ValueError(f"--principal {text[:100]!r}: a name holds only letters, digits and +=,.@_-")
        if arn.service == "sts" and resource.startswith("assumed-role/"):
            parts = resource.split("/")
            if len(parts) != 3 or not all(parts[1:]):
                raise ValueError(f"--principal {text!r}: expected arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION")
            role = self.snapshot.role_by_name(account, parts[1])
            return self._session(account, parts[1], parts[2], role), role
        if arn.service == "sts" and resource.startswith("federated-user/"):
            return Caller(PrincipalType.FEDERATED_USER, str(arn), account=account, **self._org(account)), None
        if arn.service != "iam":
            raise ValueError(f"--principal {text!r}: expected an iam or sts ARN")
        if resource == "root":
            principal = self.snapshot.principal(str(arn))
            return Caller(PrincipalType.ROOT, str(arn), account=account, tags={}, **self._org(account)), principal
        if resource.startswith("role/"):
            name = resource.rsplit("/", 1)[-1]
            role = self.snapshot.principal(str(arn)) or self.snapshot.role_by_name(account, name)
            if role is not None and role.arn != str(arn):
                raise ValueError(f"--principal {text!r}: the role's ARN is {role.arn} (a role ARN includes its path)")
            return self._session(account, name, session_name or DEFAULT_SESSION_NAME, role, str(arn)), role
        if resource.startswith("user/"):
            user = self.snapshot.principal(str(arn))
            name = resource.rsplit("/", 1)[-1]
            return (
                Caller(
                    PrincipalType.IAM_USER,
                    str(arn),
                    account=account,
                    user_name=name,
                    unique_id=user.unique_id if user else None,
                    tags=dict(user.tags) if user and user.tags is not None else None,
                    **self._org(account),
                ),
                user,
            )
        raise ValueError(f"--principal {text!r}: expected a role, user, assumed-role session or root ARN")

    def _org(self, account: str) -> dict[str, Any]:
        record = self.snapshot.account(account)
        if record is None:
            return {}
        return {"org_id": record.org_id, "org_known": True}

    def _session(
        self, account: str, role_name: str, session: str, role: Principal | None, role_arn: str | None = None
    ) -> Caller:
        return Caller(
            PrincipalType.ROLE_SESSION,
            f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}",
            account=account,
            role_arn=role.arn if role else role_arn or f"arn:aws:iam::{account}:role/{role_name}",
            session_name=session,
            unique_id=role.unique_id if role else None,
            tags=dict(role.tags) if role and role.tags is not None else None,
            **self._org(account),
        )
