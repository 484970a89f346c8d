"""The queue's KMS key: DescribeKey, GetKeyPolicy, ListGrants, ListAliases in the key owner's account.

``KmsMasterKeyId`` is stored verbatim (aws-semantics S3): a key ARN or alias ARN names its account,
a bare key id or alias name is resolved in the queue owner's account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from diagnose.arns import parse_arn
from diagnose.collect.documents import policy_json
from diagnose.collect.reader import POLICY, Kind, Reader
from diagnose.managed_keys import AWS_SQS_ALIAS, aws_sqs_key_policy
from diagnose.snapshot import Gap, Grant, Key

# What each read must hold to be a read (else a MalformedResponse gap, never a fact).
KEY_METADATA: dict[str, Kind] = {
    "KeyMetadata": dict,
    "KeyMetadata.Arn": str,
    "KeyMetadata.KeyId": str,
    "KeyMetadata.KeyState": str,
}
GRANT: dict[str, Kind] = {"GrantId": str, "Operations": list}
ALIAS: dict[str, Kind] = {"AliasName": str}


@dataclass(frozen=True)
class KeyRef:
    account: str
    region: str
    key_id: str  # what DescribeKey is given: the configured value
    arn: str  # the key or alias ARN it names (gaps are recorded against it until the key is known)
    alias: str | None  # the alias name, when the queue names the key by alias


def key_ref(configured: str, queue_account: str, region: str, partition: str = "aws") -> KeyRef:
    value = configured.strip()
    if value.startswith("arn:"):
        try:
            arn = parse_arn(value)
        except ValueError:
            arn = None
        if arn is not None and arn.service == "kms" and arn.account and arn.region:
            alias = arn.resource if arn.resource.startswith("alias/") else None
            return KeyRef(arn.account, arn.region, value, value, alias)
    prefix = f"arn:{partition}:kms:{region}:{queue_account}"
    if value.startswith("alias/"):
        return KeyRef(queue_account, region, value, f"{prefix}:{value}", value)
    return KeyRef(queue_account, region, value, f"{prefix}:key/{value}", None)


class KeyCollector:
    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._ref: KeyRef | None = None

    def _k(self, what: str) -> tuple[str, str, str]:
        assert self._ref is not None
        return ("kms", what, self._ref.arn)

    def start(self, ref: KeyRef) -> None:
        self._ref = ref
        read = self._reader

        def describe() -> Any:
            response = read.call(
                ref.account, "kms", "DescribeKey", ref.arn, ref.region, expect=KEY_METADATA, KeyId=ref.key_id
            )
            return response["KeyMetadata"]

        if ref.alias is None:
            # A key id or ARN is enough for the other reads: run them beside DescribeKey (one wave fewer).
            read.fetch(self._k("describe"), describe)
            self._details(ref.key_id)
        else:
            read.fetch(self._k("describe"), describe, lambda meta: self._details(str(meta["KeyId"])))

    def _details(self, key_id: str) -> None:
        assert self._ref is not None
        ref, read = self._ref, self._reader

        def policy() -> Any:
            document = read.field(
                ref.account,
                "kms",
                "GetKeyPolicy",
                ref.arn,
                ref.region,
                "Policy",
                POLICY,
                KeyId=key_id,
                PolicyName="default",
            )
            return policy_json(document)

        def grants() -> list[Any]:
            return read.pages(
                ref.account, "kms", "ListGrants", ref.arn, ref.region, "Grants", each=GRANT, KeyId=key_id, Limit=100
            )

        def aliases() -> list[Any]:
            return read.pages(
                ref.account, "kms", "ListAliases", ref.arn, ref.region, "Aliases", each=ALIAS, KeyId=key_id, Limit=100
            )

        read.fetch(self._k("policy"), policy)
        read.fetch(self._k("grants"), grants)
        read.fetch(self._k("aliases"), aliases)

    def build(self) -> tuple[list[Key], list[Gap]]:
        ref = self._ref
        if ref is None:
            return [], []
        described = self._reader.outcome(self._k("describe"))
        if described is None:
            return [], []
        if described.error is not None:
            # NotFound: the key does not exist (the gap says so); anything else: it could not be read.
            return [], [described.error.gap("key", ref.arn)]
        meta = described.value
        arn = str(meta["Arn"])
        gaps: list[Gap] = []

        names = [] if ref.alias is None else [ref.alias]
        listed = self._reader.outcome(self._k("aliases"))
        if listed is not None and listed.error is None:
            names += [str(a["AliasName"]) for a in listed.value if a.get("AliasName")]
        elif listed is not None and listed.error is not None:
            self._reader.say(f"{ref.account} aliases of {arn} unknown: {listed.error.code}")
        aliases = tuple(dict.fromkeys(names))

        manager = meta.get("KeyManager")
        policy, source = None, None
        read_policy = self._reader.outcome(self._k("policy"))
        if read_policy is not None and read_policy.error is None:
            policy, source = read_policy.value, "GetKeyPolicy"
        elif manager == "AWS" and AWS_SQS_ALIAS in aliases:
            key_arn = parse_arn(arn)
            policy, source = (
                aws_sqs_key_policy(key_arn.account, key_arn.region, key_arn.partition),
                "documented",
            )
            self._reader.say(f"{ref.account} {arn}: key policy unreadable; using the documented {AWS_SQS_ALIAS} policy")
        elif read_policy is not None and read_policy.error is not None:
            gaps.append(read_policy.error.gap("key-policy", arn))

        grants: tuple[Grant, ...] | None = None
        read_grants = self._reader.outcome(self._k("grants"))
        if read_grants is not None and read_grants.error is None:
            grants = tuple(_grant(g) for g in read_grants.value)
        elif read_grants is not None and read_grants.error is not None:
            gaps.append(read_grants.error.gap("grant", arn))

        key = Key(
            arn=arn,
            aliases=aliases,
            manager=manager,
            state=meta.get("KeyState"),
            spec=meta.get("KeySpec") or meta.get("CustomerMasterKeySpec"),
            usage=meta.get("KeyUsage"),
            policy=policy,
            policy_source=source,
            grants=grants,
        )
        return [key], gaps


def _grant(g: Any) -> Grant:
    constraints = g.get("Constraints") if isinstance(g.get("Constraints"), dict) else {}
    equals, subset = constraints.get("EncryptionContextEquals"), constraints.get("EncryptionContextSubset")
    equals, subset = (None if not isinstance(c, dict) else c for c in (equals, subset))
    return Grant(
        grant_id=str(g["GrantId"]),
        grantee=str(g.get("GranteePrincipal") or ""),
        operations=tuple(str(o) for o in g.get("Operations") or ()),
        encryption_context_equals=None if equals is None else {str(k): str(v) for k, v in equals.items()},
        encryption_context_subset=None if subset is None else {str(k): str(v) for k, v in subset.items()},
        name=g.get("Name") or None,
        retiring=g.get("RetiringPrincipal") or None,
    )
