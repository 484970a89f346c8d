"""A Terraform plan (the JSON of ``terraform show -json PLAN``) read into a ``Planner``.

Known values come from ``planned_values``; a value known only after apply (``after_unknown``) is taken from the
configuration's reference to another planned resource (a queue's ``kms_master_key_id = aws_kms_key.k.arn``) when
that resource's own values determine it, and is unknown otherwise. Data sources read while planning come from
``prior_state``. Format: Terraform's "JSON Output Format" (plan representation), I9 in docs/reference.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from diagnose.arns import parse_queue
from diagnose.policy.parse import decode_json
from diagnose.snapshot import Document, Grant
from diagnose.sources.cloudformation import default_key_policy
from diagnose.sources.intrinsics import TemplateError, Unknown
from diagnose.sources.partitions import dns_suffix, partition_of
from diagnose.sources.planned import Origin, Planner, SourceKind, Wire, WireKind

_NAMESPACE = uuid.UUID("0f3f2a8e-3b7e-4d59-8d55-4f8e9c2b1a77")


@dataclass(frozen=True)
class _Resource:
    address: str
    type: str
    values: Mapping[str, Any]
    unknown: Mapping[str, Any]  # after_unknown
    expressions: Mapping[str, Any]  # configuration expressions
    module: str  # "" for the root module, else "module.a.module.b"


def read_plan(path: Path, *, account: str | None, region: str | None) -> Planner:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise TemplateError(f"--terraform-plan {path}: cannot read it ({err})") from None
    try:
        plan = decode_json(text)
    except ValueError as err:
        raise TemplateError(f"--terraform-plan {path}: not valid JSON ({err})") from None
    if not isinstance(plan, dict) or "planned_values" not in plan or "format_version" not in plan:
        raise TemplateError(f"--terraform-plan {path}: not the JSON of 'terraform show -json PLAN' (no planned_values)")
    region = region or _provider_region(plan)
    planner = Planner(SourceKind.TERRAFORM_PLAN, account, region)
    _Plan(plan, planner, str(path)).read()
    planner.files.append(str(path))
    return planner


def _provider_region(plan: Mapping[str, Any]) -> str | None:
    providers = (plan.get("configuration") or {}).get("provider_config") or {}
    for provider in providers.values():
        if isinstance(provider, dict) and provider.get("name") == "aws":
            region = ((provider.get("expressions") or {}).get("region") or {}).get("constant_value")
            if isinstance(region, str):
                return region
    return None


def _modules(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield module
    for child in module.get("child_modules") or []:
        yield from _modules(child)


def _config_modules(module: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield prefix, module
    for name, call in (module.get("module_calls") or {}).items():
        child = call.get("module") or {}
        yield from _config_modules(child, f"{prefix}.module.{name}" if prefix else f"module.{name}")


class _Plan:
    def __init__(self, plan: Mapping[str, Any], planner: Planner, file: str) -> None:
        self.planner, self.file = planner, file
        changes = {rc.get("address"): rc.get("change") or {} for rc in plan.get("resource_changes") or []}
        expressions: dict[str, Mapping[str, Any]] = {}
        config = (plan.get("configuration") or {}).get("root_module") or {}
        for prefix, module in _config_modules(config):
            for res in module.get("resources") or []:
                address = f"{prefix}.{res.get('address')}" if prefix else str(res.get("address"))
                expressions[address] = res.get("expressions") or {}
        self.resources: dict[str, _Resource] = {}
        for module in _modules((plan.get("planned_values") or {}).get("root_module") or {}):
            for res in module.get("resources") or []:
                if res.get("mode") != "managed":
                    continue
                address = str(res["address"])
                config_address = address.split("[", 1)[0]
                self.resources[address] = _Resource(
                    address=address,
                    type=str(res.get("type")),
                    values=res.get("values") or {},
                    unknown=(changes.get(address) or {}).get("after_unknown") or {},
                    expressions=expressions.get(config_address, {}),
                    module=address.rsplit(".", 2)[0] if address.startswith("module.") else "",
                )
        self.data: dict[str, Mapping[str, Any]] = {}
        prior = ((plan.get("prior_state") or {}).get("values") or {}).get("root_module") or {}
        for module in _modules(prior):
            for res in module.get("resources") or []:
                if res.get("mode") == "data":
                    self.data[str(res["address"])] = res.get("values") or {}
        self.partition = partition_of(planner.region) if planner.region else None

    # ----------------------------------------------------------------- values

    def _need(self, what: str) -> tuple[str, str, str]:
        if not (self.planner.account and self.planner.region and self.partition):
            raise Unknown(f"{what}: the account and Region (give --account, and --region if the provider has none)")
        return self.partition, self.planner.region, self.planner.account

    def value(self, res: _Resource, name: str, default: Any = None) -> Any:
        if name in res.values and res.values[name] is not None:
            return res.values[name]
        if res.unknown.get(name) is True and name in res.expressions:
            return self._from_reference(res, name)
        return default  # not configured: a computed attribute the configuration leaves to the provider

    def _from_reference(self, res: _Resource, name: str) -> Any:
        refs = (res.expressions.get(name) or {}).get("references") or []
        for ref in refs:
            target, _, attribute = str(ref).rpartition(".")
            if res.module and not target.startswith("module."):
                target = f"{res.module}.{target}"
            if target.startswith("data.") or ".data." in target:
                data = self.data.get(target)
                if data is not None and attribute in data:
                    return data[attribute]
                continue
            if target in self.resources:
                return self.attribute(self.resources[target], attribute)
        raise Unknown(f"{name} of {res.address} (known only after apply)")

    def attribute(self, res: _Resource, attribute: str) -> Any:
        if attribute in res.values and res.values[attribute] is not None:
            return res.values[attribute]
        partition, region, account = self._need(f"{attribute} of {res.address}")
        match res.type, attribute:
            case "aws_sqs_queue", "arn":
                return f"arn:{partition}:sqs:{region}:{account}:{self._name(res, 'name')}"
            case "aws_sqs_queue", "id" | "url":
                return f"https://sqs.{region}.{dns_suffix(partition)}/{account}/{self._name(res, 'name')}"
            case "aws_kms_key", "key_id" | "id":
                return str(uuid.uuid5(_NAMESPACE, res.address))
            case "aws_kms_key", "arn":
                return f"arn:{partition}:kms:{region}:{account}:key/{self.attribute(res, 'key_id')}"
            case "aws_iam_role", "arn":
                path = self.value(res, "path") or "/"
                return f"arn:{partition}:iam::{account}:role{path}{self._name(res, 'name')}"
            case "aws_iam_role", "name" | "id":
                return self._name(res, "name")
            case "aws_iam_policy", "arn" | "id":
                path = self.value(res, "path") or "/"
                return f"arn:{partition}:iam::{account}:policy{path}{self._name(res, 'name')}"
            case "aws_sns_topic", "arn" | "id":
                return f"arn:{partition}:sns:{region}:{account}:{self._name(res, 'name')}"
            case "aws_s3_bucket", "arn":
                return f"arn:{partition}:s3:::{self._name(res, 'bucket')}"
            case "aws_lambda_function", "arn":
                return f"arn:{partition}:lambda:{region}:{account}:function:{self._name(res, 'function_name')}"
            case "aws_cloudwatch_event_rule", "arn":
                bus = self.value(res, "event_bus_name")
                bus_part = f"{bus}/" if bus and bus != "default" and not str(bus).startswith("arn:") else ""
                return f"arn:{partition}:events:{region}:{account}:rule/{bus_part}{self._name(res, 'name')}"
            case "aws_pipes_pipe", "arn":
                return f"arn:{partition}:pipes:{region}:{account}:pipe/{self._name(res, 'name')}"
        raise Unknown(f"{attribute} of {res.address} (known only after apply)")

    def _name(self, res: _Resource, field: str) -> str:
        name = res.values.get(field)
        if isinstance(name, str) and name:
            return name
        # name_prefix, or a name Terraform generates: a stand-in keeps references to it equal
        return f"{res.values.get(f'{field}_prefix') or 'terraform-'}{res.address.rsplit('.', 1)[-1]}"

    def _policy(self, res: _Resource, field: str) -> Any:
        text = self.value(res, field)
        if text in (None, ""):
            return None
        if isinstance(text, dict):
            return text
        try:
            return decode_json(str(text))
        except ValueError:
            raise TemplateError(f"{res.address}: {field} is not valid JSON") from None

    def _origin(self, res: _Resource) -> Origin:
        return Origin(res.address, res.type, self.file, None)

    def _by(self, kind: str, field: str, value: Any) -> _Resource | None:
        for res in self.resources.values():
            if res.type == kind:
                try:
                    if self.value(res, field) == value or self.attribute(res, field) == value:
                        return res
                except Unknown:
                    continue
        return None

    # ----------------------------------------------------------------- resources

    def read(self) -> None:
        order = {"aws_iam_role": 0, "aws_kms_key": 0, "aws_sqs_queue": 0, "aws_iam_policy": 1}
        handlers = {
            "aws_sqs_queue": self._queue,
            "aws_sqs_queue_policy": self._queue_policy,
            "aws_kms_key": self._key,
            "aws_kms_alias": self._alias,
            "aws_kms_grant": self._grant,
            "aws_iam_role": self._role,
            "aws_iam_policy": self._managed,
            "aws_iam_role_policy": self._role_policy,
            "aws_iam_role_policy_attachment": self._attachment,
            "aws_sns_topic_subscription": self._subscription,
            "aws_lambda_event_source_mapping": self._esm,
            "aws_cloudwatch_event_target": self._event_target,
            "aws_s3_bucket_notification": self._bucket_notification,
            "aws_pipes_pipe": self._pipe,
        }
        for res in sorted(self.resources.values(), key=lambda r: order.get(r.type, 2)):
            handler = handlers.get(res.type)
            if handler is None:
                continue
            try:
                handler(res)
            except Unknown as err:
                layer = {"aws_sqs_queue_policy": "resource-policy", "aws_kms_key": "key"}.get(res.type, "queue")
                try:
                    resource = str(self.attribute(res, "arn"))
                except Unknown:
                    resource = res.address
                self.planner.unknown(layer, resource, f"{res.type} {res.address}", str(err), self._origin(res))

    def _queue(self, res: _Resource) -> None:
        arn = str(self.attribute(res, "arn"))
        attributes = {"QueueArn": arn}
        key = self.value(res, "kms_master_key_id")
        if key:
            attributes["KmsMasterKeyId"] = str(key)
            attributes["KmsDataKeyReusePeriodSeconds"] = str(self.value(res, "kms_data_key_reuse_period_seconds", 300))
            attributes["SqsManagedSseEnabled"] = "false"
        else:
            sse = self.value(res, "sqs_managed_sse_enabled")
            attributes["SqsManagedSseEnabled"] = "false" if sse is False else "true"  # S1, I4
        if self.value(res, "fifo_queue"):
            attributes["FifoQueue"] = "true"
        redrive = self.value(res, "redrive_policy")
        if redrive:
            attributes["RedrivePolicy"] = str(redrive)
        self.planner.queue(arn, str(self.attribute(res, "url")), attributes, self._origin(res))
        policy = self._policy(res, "policy")
        if policy is not None:
            self.planner.queue_policy(arn, policy, self._origin(res))

    def _queue_policy(self, res: _Resource) -> None:
        url = str(self.value(res, "queue_url"))
        arn = parse_queue(url).arn(self.planner.region)
        self.planner.queue_policy(arn, self._policy(res, "policy"), self._origin(res))

    def _key(self, res: _Resource) -> None:
        arn = str(self.attribute(res, "arn"))
        partition, _, account = self._need(f"the key policy of {res.address}")
        policy = self._policy(res, "policy") or default_key_policy(partition, account)
        self.planner.key(arn, policy, self._origin(res))
        if self.value(res, "is_enabled") is False:
            self.planner.keys[arn] = replace(self.planner.keys[arn], state="Disabled")

    def _key_arn(self, ref: str) -> str:
        if ref.startswith("arn:"):
            return ref
        partition, region, account = self._need("a key's ARN")
        return f"arn:{partition}:kms:{region}:{account}:key/{ref}"

    def _alias(self, res: _Resource) -> None:
        self.planner.aliases[str(self.value(res, "name"))] = self._key_arn(str(self.value(res, "target_key_id")))

    def _grant(self, res: _Resource) -> None:
        key_arn = self._key_arn(str(self.value(res, "key_id")))
        key = self.planner.keys.get(key_arn)
        if key is None:
            self.planner.notes.append(f"{res.address}: a grant on {key_arn}, which the plan does not declare; ignored")
            return
        constraints = (self.value(res, "constraints") or [{}])[0] or {}
        grant = Grant(
            grant_id=f"planned-{res.address}",
            grantee=str(self.value(res, "grantee_principal")),
            operations=tuple(self.value(res, "operations") or ()),
            encryption_context_equals=constraints.get("encryption_context_equals"),
            encryption_context_subset=constraints.get("encryption_context_subset"),
            name=self.value(res, "name"),
        )
        self.planner.keys[key_arn] = replace(key, grants=(*(key.grants or ()), grant))

    def _role(self, res: _Resource) -> None:
        arn = str(self.attribute(res, "arn"))
        inline = tuple(
            Document(name=str(p.get("name")), document=decode_json(p["policy"]))
            for p in self.value(res, "inline_policy", []) or []
            if p.get("policy")
        )
        boundary = None
        boundary_arn = self.value(res, "permissions_boundary")
        if boundary_arn:
            declared = self._by("aws_iam_policy", "arn", boundary_arn)
            if declared is None:
                self.planner.unknown(
                    "permissions-boundary",
                    arn,
                    f"permissions boundary of {res.address}",
                    f"{boundary_arn} is not declared in the plan",
                    self._origin(res),
                )
            else:
                doc = self._policy(declared, "policy")
                boundary = Document(
                    name=str(boundary_arn).rsplit("/", 1)[-1], document=doc, arn=boundary_arn, source="boundary"
                )
        self.planner.role(arn, inline, boundary, self._origin(res))
        for policy_arn in self.value(res, "managed_policy_arns", []) or []:
            self.planner.attachments.append((arn, str(policy_arn)))

    def _role_arn(self, name: str) -> str | None:
        role = self._by("aws_iam_role", "name", name)
        return str(self.attribute(role, "arn")) if role is not None else None

    def _managed(self, res: _Resource) -> None:
        self.planner.managed[str(self.attribute(res, "arn"))] = (self._policy(res, "policy"), self._origin(res))

    def _role_policy(self, res: _Resource) -> None:
        role = self._role_arn(str(self.value(res, "role")))
        if role is not None:
            document = Document(name=str(self.value(res, "name") or res.address), document=self._policy(res, "policy"))
            self.planner.role_policy(role, document, self._origin(res))

    def _attachment(self, res: _Resource) -> None:
        role = self._role_arn(str(self.value(res, "role")))
        if role is not None:
            self.planner.attachments.append((role, str(self.value(res, "policy_arn"))))

    def _subscription(self, res: _Resource) -> None:
        if self.value(res, "protocol") != "sqs":
            return
        wire = Wire(
            WireKind.SNS_SUBSCRIPTION,
            str(self.value(res, "endpoint")),
            str(self.value(res, "topic_arn")),
            "sns.amazonaws.com",
            self._origin(res),
        )
        self.planner.wires.append(wire)

    def _esm(self, res: _Resource) -> None:
        source = str(self.value(res, "event_source_arn"))
        if ":sqs:" not in source:
            return
        function = str(self.value(res, "function_name"))
        name = function.rsplit(":", 1)[-1]
        declared = self._by("aws_lambda_function", "function_name", name)
        if declared is None:
            raise Unknown(f"the execution role of function {function} (the function is not in the plan)")
        role = str(self.value(declared, "role"))
        self.planner.wires.append(Wire(WireKind.LAMBDA_ESM, source, function, role, self._origin(res), consumes=True))

    def _event_target(self, res: _Resource) -> None:
        target = str(self.value(res, "arn"))
        if ":sqs:" not in target:
            return
        rule = self._by("aws_cloudwatch_event_rule", "name", self.value(res, "rule"))
        if rule is None:
            raise Unknown(f"the rule {self.value(res, 'rule')} (not in the plan)")
        principal = str(self.value(res, "role_arn") or "events.amazonaws.com")
        self.planner.wires.append(
            Wire(WireKind.EVENTBRIDGE_TARGET, target, str(self.attribute(rule, "arn")), principal, self._origin(res))
        )

    def _bucket_notification(self, res: _Resource) -> None:
        partition, _, _ = self._need(f"the bucket of {res.address}")
        bucket = f"arn:{partition}:s3:::{self.value(res, 'bucket')}"
        for item in self.value(res, "queue", []) or []:
            queue = item.get("queue_arn")
            if queue:
                self.planner.wires.append(
                    Wire(WireKind.S3_NOTIFICATION, str(queue), bucket, "s3.amazonaws.com", self._origin(res))
                )

    def _pipe(self, res: _Resource) -> None:
        pipe = str(self.attribute(res, "arn"))
        role = str(self.value(res, "role_arn"))
        source, target = str(self.value(res, "source", "")), str(self.value(res, "target", ""))
        if ":sqs:" in source:
            self.planner.wires.append(Wire(WireKind.PIPE, source, pipe, role, self._origin(res), consumes=True))
        if ":sqs:" in target:
            self.planner.wires.append(Wire(WireKind.PIPE, target, pipe, role, self._origin(res)))
