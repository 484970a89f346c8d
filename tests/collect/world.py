"""Moto-backed worlds for the collection tests: per-account credentials through STS assume_role, an
``AccountSessions`` that hands the collector per-account clients, world builders, failure injection."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any
from unittest import mock

import boto3
from botocore.config import Config

from diagnose.collect import CollectOptions
from diagnose.collect.sessions import NoCredentials

A, B, C = "111111111111", "222222222222", "333333333333"
REGION = "us-east-1"
NO_RETRY = Config(retries={"total_max_attempts": 1})
FAST = CollectOptions(region=REGION, max_workers=8)


class Accounts:
    """Credentials per account (STS assume_role into role ``admin``), one shared boto3 session.

    ``admin(account, service)`` gives unguarded clients to build the world; ``client`` is the
    ``AccountSessions`` interface the collector uses, limited to ``visible`` accounts (None: all).
    """

    def __init__(self, endpoint_url: str | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.visible: set[str] | None = None
        self.hooks: list[Callable[[Any, str], None]] = []  # (client, account), on every collector client
        self._session = boto3.Session(region_name=REGION)
        self._lock = threading.Lock()
        self._creds: dict[str, dict[str, str]] = {}
        self._clients: dict[tuple[str, str, str, bool], Any] = {}

    @property
    def default_region(self) -> str | None:
        return REGION

    def credentials(self, account: str) -> dict[str, str]:
        with self._lock:
            if account not in self._creds:
                boot = self._session.client(
                    "sts",
                    endpoint_url=self.endpoint_url,
                    config=NO_RETRY,
                    aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                    aws_secret_access_key="x",
                )
                c = boot.assume_role(RoleArn=f"arn:aws:iam::{account}:role/admin", RoleSessionName="fixture")
                cred = c["Credentials"]
                self._creds[account] = {
                    "aws_access_key_id": cred["AccessKeyId"],
                    "aws_secret_access_key": cred["SecretAccessKey"],
                    "aws_session_token": cred["SessionToken"],
                }
            return self._creds[account]

    def _client(self, account: str, service: str, region: str, collector: bool) -> Any:
        creds = self.credentials(account)
        with self._lock:
            key = (account, service, region, collector)
            if key not in self._clients:
                client = self._session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url, config=NO_RETRY, **creds
                )
                if collector:
                    for hook in self.hooks:
                        hook(client, account)
                self._clients[key] = client
            return self._clients[key]

    def admin(self, account: str, service: str, region: str = REGION) -> Any:
        return self._client(account, service, region, False)

    def client(self, account: str, service: str, region: str) -> Any:
        if self.visible is not None and account not in self.visible:
            raise NoCredentials(account, f"no credentials for account {account}")
        return self._client(account, service, region, True)


# --------------------------------------------------------------------------- world building


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def key_policy(account: str, *extra: dict[str, Any]) -> dict[str, Any]:
    root = {
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    return doc(root, *extra)


class World:
    """Builds resources in named accounts through ``Accounts.admin`` clients."""

    doc = staticmethod(doc)
    key_policy = staticmethod(key_policy)

    def __init__(self, aws: Accounts) -> None:
        self.aws = aws

    def key(self, account: str, policy: dict[str, Any] | None = None, alias: str | None = None) -> Any:
        kms = self.aws.admin(account, "kms")
        # moto omits KeyUsage unless given (AWS defaults it to ENCRYPT_DECRYPT)
        created = kms.create_key(Policy=json.dumps(policy or key_policy(account)), KeyUsage="ENCRYPT_DECRYPT")
        meta = created["KeyMetadata"]
        if alias:
            kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        return meta

    def queue(self, account: str, name: str = "orders", **attributes: str) -> str:
        return str(self.aws.admin(account, "sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])

    def policy(self, account: str, name: str, document: dict[str, Any], path: str = "/") -> str:
        iam = self.aws.admin(account, "iam")
        created = iam.create_policy(PolicyName=name, Path=path, PolicyDocument=json.dumps(document))
        return str(created["Policy"]["Arn"])

    def role(
        self,
        account: str,
        name: str,
        path: str = "/",
        boundary: str | None = None,
        inline: dict[str, dict[str, Any]] | None = None,
        managed: tuple[str, ...] = (),
        tags: dict[str, str] | None = None,
    ) -> Any:
        iam = self.aws.admin(account, "iam")
        extra: dict[str, Any] = {"PermissionsBoundary": boundary} if boundary else {}
        if tags:
            extra["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        trust = doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        )
        role = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=json.dumps(trust), **extra)
        for pname, document in (inline or {}).items():
            iam.put_role_policy(RoleName=name, PolicyName=pname, PolicyDocument=json.dumps(document))
        for arn in managed:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        return role["Role"]

    def org(self, management: str, members: dict[str, str]) -> dict[str, Any]:
        """An organization run by ``management``; ``members``: account id -> OU name ('' = the root)."""
        org = self.aws.admin(management, "organizations")
        org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        root = org.list_roots()["Roots"][0]["Id"]
        org.enable_policy_type(RootId=root, PolicyType="RESOURCE_CONTROL_POLICY")
        ous: dict[str, str] = {}
        for account, ou in members.items():
            if account != management:
                with mock.patch("moto.organizations.utils.make_random_account_id", return_value=account):
                    org.create_account(AccountName=f"acct-{account}", Email=f"{account}@example.com")
            if ou:
                if ou not in ous:
                    ous[ou] = org.create_organizational_unit(ParentId=root, Name=ou)["OrganizationalUnit"]["Id"]
                org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ous[ou])
        return {"id": org_id, "root": root, "ous": ous, "client": org}

    @staticmethod
    def attach(org: dict[str, Any], target: str, name: str, ptype: str, document: dict[str, Any]) -> str:
        client = org["client"]
        created = client.create_policy(Name=name, Description=name, Type=ptype, Content=json.dumps(document))
        pid = str(created["Policy"]["PolicySummary"]["Id"])
        client.attach_policy(PolicyId=pid, TargetId=target)
        return pid


# --------------------------------------------------------------------------- failure injection


class _Response:
    def __init__(self, status: int) -> None:
        self.status_code = status
        self.headers: dict[str, str] = {}
        self.content = b""


def fail(client: Any, operation: str, code: str = "AccessDeniedException", status: int = 400) -> None:
    """Make ``operation`` on ``client`` fail with ``code`` without reaching moto (like a denying policy)."""

    def respond(**_: Any) -> Any:
        message = f"User is not authorized to perform: {operation}"
        return _Response(status), {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"before-call.{service}.{operation}", respond)


def failing(
    operation: str,
    code: str = "AccessDeniedException",
    *,
    service: str | None = None,
    account: str | None = None,
) -> Callable[[Any, str], None]:
    """A collector-client hook: ``operation`` fails with ``code`` (in ``account`` / ``service`` only, if given).
    Use as ``aws.hooks.append(failing("GetKeyPolicy", account=A))``."""

    def hook(client: Any, in_account: str) -> None:
        if service and client.meta.service_model.service_name != service:
            return
        if account and in_account != account:
            return
        if operation in client.meta.service_model.operation_names:
            fail(client, operation, code)

    return hook


def base_environment() -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "NO_PROXY": "127.0.0.1,localhost",
    }
