"""Read-only by construction: every client the collector uses refuses all but the reads it makes.

The guard is an allow-list of the exact (service, operation) pairs the collectors call, not a rule on
names: ``sts:GetSessionToken`` or ``ec2:GetPasswordData`` start with "Get" and are still refused. The
check runs on botocore's ``before-parameter-build`` event, the first thing a call does, so a refused
operation never builds, signs or sends a request (and never reaches a stub either).
"""

from __future__ import annotations

from typing import Any

# Every operation a collector makes, by service (grep diagnose/collect for reader.call/pages and _pages).
READS: dict[str, frozenset[str]] = {
    "sqs": frozenset({"GetQueueAttributes"}),
    "kms": frozenset({"DescribeKey", "GetKeyPolicy", "ListAliases", "ListGrants"}),
    "iam": frozenset(
        {
            "GetGroupPolicy",
            "GetPolicy",
            "GetPolicyVersion",
            "GetRole",
            "GetRolePolicy",
            "GetUser",
            "GetUserPolicy",
            "ListAttachedGroupPolicies",
            "ListAttachedRolePolicies",
            "ListAttachedUserPolicies",
            "ListGroupPolicies",
            "ListGroupsForUser",
            "ListRolePolicies",
            "ListUserPolicies",
        }
    ),
    "organizations": frozenset(
        {
            "DescribeOrganization",
            "DescribeOrganizationalUnit",
            "DescribePolicy",
            "ListParents",
            "ListPoliciesForTarget",
            "ListRoots",
        }
    ),
    "ec2": frozenset({"DescribeVpcEndpoints"}),
    "sts": frozenset({"GetCallerIdentity"}),
}
# Not a read, but it only obtains credentials for --assume-role-name: nothing in any account changes.
CREDENTIALS: dict[str, frozenset[str]] = {"sts": frozenset({"AssumeRole"})}

_HANDLER_ID = "sqsdiag-read-only-guard"


class WriteRefused(RuntimeError):
    """A collector tried an operation that is not on the allow-list. A bug, never an AWS condition."""


def is_read(service: str, operation: str) -> bool:
    """Whether ``service:operation`` is one the collectors may call."""
    return operation in READS.get(service, frozenset()) or operation in CREDENTIALS.get(service, frozenset())


def _refuse_others(model: Any, **_: Any) -> None:
    service = model.service_model.service_name
    if not is_read(service, model.name):
        raise WriteRefused(f"refused {service}:{model.name}: sqsdiag collection only makes its own reads")


def install(client: Any) -> Any:
    """Guard ``client`` (idempotent) and return it."""
    client.meta.events.register_first("before-parameter-build", _refuse_others, unique_id=_HANDLER_ID)
    return client
