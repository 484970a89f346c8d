"""CloudFormation (and CDK-synthesised) templates, JSON or YAML, read into a ``Planner``.

Decoding (YAML short-form intrinsics, JSON, line numbers) is cfn-lint's template decoder; resolving is
``intrinsics``. Each resource type sqsdiag understands maps to snapshot facts; the rest are read only for what
their ``Ref``/``Fn::GetAtt`` return. Return values and defaults: the CloudFormation resource reference of each
type (IaC rules in docs/reference.md).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from diagnose.arns import parse_queue
from diagnose.snapshot import Document
from diagnose.sources.intrinsics import NO_VALUE, Scope, TemplateError, Unknown, resolve
from diagnose.sources.partitions import dns_suffix, partition_of
from diagnose.sources.planned import Origin, Planner, SourceKind, Wire, WireKind

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

# A key policy CloudFormation gives a key whose KeyPolicy is omitted: the default key policy (I3).
_NAMESPACE = uuid.UUID("6b1f0c52-0d8e-4c4f-9a59-5c8d2d0e7a11")


def default_key_policy(partition: str, account: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def decode(path: Path) -> Any:
    """The template as plain JSON values whose dicts remember their line (cfn-lint's nodes)."""
    try:
        from cfnlint.decode import decode as cfn_decode
    except ImportError:  # pragma: no cover - the extra is part of the test install
        raise TemplateError("reading templates needs cfn-lint: pip install 'sqsdiag[iac]'") from None
    template, matches = cfn_decode(str(path))
    if matches:
        first = matches[0]
        line = getattr(first, "linenumber", None)
        raise TemplateError(f"{path}:{line}: {first.message}" if line else f"{path}: {first.message}")
    if not isinstance(template, dict):
        raise TemplateError(f"{path}: not a CloudFormation template (expected an object with Resources)")
    return template


def line_of(node: Any) -> int | None:
    mark = getattr(node, "start_mark", None)
    return int(mark.line) + 1 if mark is not None else None


@dataclass
class Stack:
    """One template with what it is resolved against."""

    path: Path
    template: Mapping[str, Any]
    name: str
    account: str | None
    region: str | None
    parameters: Mapping[str, str]
    import_value: Callable[[str], Any]

    @property
    def resources(self) -> Mapping[str, Any]:
        res = self.template.get("Resources")
        if not isinstance(res, dict) or not res:
            raise TemplateError(f"{self.path}: Resources: a template needs at least one resource")
        return res


def read_template(
    path: Path,
    planner: Planner,
    *,
    parameters: Mapping[str, str],
    stack_name: str | None = None,
    account: str | None = None,
    region: str | None = None,
    import_value: Callable[[str], Any] | None = None,
    template: Mapping[str, Any] | None = None,
) -> _Reader:
    """A reader of the template at ``path`` (``template``: already decoded) for ``planner``; ``.read()`` reads it."""
    tpl = template if template is not None else decode(path)
    if import_value is None:

        def import_value(name: str) -> Any:
            raise Unknown(f"Fn::ImportValue {name} (an export of another stack: give that stack too, or a snapshot)")

    stack = Stack(
        path=path,
        template=tpl,
        name=stack_name or path.stem,
        account=account or planner.account,
        region=region or planner.region,
        parameters=parameters,
        import_value=import_value,
    )
    planner.files.append(str(path))
    return _Reader(stack, planner)


class _Reader:
    def __init__(self, stack: Stack, planner: Planner) -> None:
        self.stack, self.planner = stack, planner
        self.resources = stack.resources
        region, account = stack.region, stack.account
        self.partition = partition_of(region) if region else None
        pseudo: dict[str, Any] = {
            "AWS::AccountId": account,
            "AWS::Region": region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": dns_suffix(self.partition) if self.partition else None,
            "AWS::StackName": stack.name,
        }
        self.scope = Scope(
            parameters=self._parameters(),
            pseudo=pseudo,
            mappings=stack.template.get("Mappings") or {},
            ref=self._ref,
            get_att=self._get_att,
            import_value=stack.import_value,
            conditions=stack.template.get("Conditions") or {},
        )
        transform = stack.template.get("Transform")
        transforms = transform if isinstance(transform, list) else [transform] if transform else []
        if SAM_TRANSFORM in transforms:
            planner.notes.append(
                f"{stack.path}: a SAM template; AWS::Serverless::* resources are read for their queues and event "
                "sources only (the roles SAM generates are not modelled)"
            )

    def export(self, name: str) -> tuple[bool, Any]:
        """The value this stack exports as ``name`` (found, value)."""
        for output in (self.stack.template.get("Outputs") or {}).values():
            if not isinstance(output, dict) or not isinstance(output.get("Export"), dict):
                continue
            if resolve(output["Export"].get("Name"), self.scope) == name:
                return True, resolve(output.get("Value"), self.scope)
        return False, None

    # ----------------------------------------------------------------- the template's values

    def _parameters(self) -> dict[str, Any]:
        declared = self.stack.template.get("Parameters") or {}
        given = dict(self.stack.parameters)
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise TemplateError(f"--template-parameter {unknown[0]}: {self.stack.path} declares no such parameter")
        out: dict[str, Any] = {}
        for name, spec in declared.items():
            value: Any = given.get(name, spec.get("Default") if isinstance(spec, dict) else None)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            kind = str(spec.get("Type", "")) if isinstance(spec, dict) else ""
            if kind.startswith("AWS::SSM::Parameter::Value") and name not in given:
                value = None  # its default is the parameter's name in SSM, not its value
            elif value is not None and (kind.startswith("List<") or kind == "CommaDelimitedList"):
                value = [v.strip() for v in str(value).split(",")]
            out[name] = value
        return out

    def _origin(self, logical: str) -> Origin:
        node = self.resources[logical]
        return Origin(logical, str(node.get("Type", "")), str(self.stack.path), line_of(node))

    def _props(self, logical: str) -> dict[str, Any]:
        props = self.resources[logical].get("Properties") or {}
        if not isinstance(props, dict):
            raise TemplateError(f"{self.stack.path}: Resources.{logical}.Properties: expected an object")
        return props

    def _prop(self, logical: str, name: str, default: Any = None) -> Any:
        raw = self._props(logical).get(name)
        if raw is None:
            return default
        value = resolve(raw, self.scope)
        return default if value is NO_VALUE else value

    def _stand_in(self, logical: str, limit: int = 64) -> str:
        # CloudFormation names it STACK-LOGICALID-RANDOM; the random part is unknown before the deployment.
        return f"{self.stack.name}-{logical}"[:limit]

    def _need(self, what: str) -> tuple[str, str, str]:
        if not (self.stack.account and self.stack.region and self.partition):
            raise Unknown(f"{what}: the account and Region (give --account and --region)")
        return self.partition, self.stack.region, self.stack.account

    def _type(self, logical: str) -> str:
        if logical not in self.resources:
            raise TemplateError(f"{self.stack.path}: {logical!r} is not a resource or parameter of the template")
        return str(self.resources[logical].get("Type", ""))

    def _ref(self, logical: str) -> Any:
        kind = self._type(logical)
        match kind:
            case "AWS::SQS::Queue":
                return self._queue_url(logical)
            case "AWS::SNS::Topic" | "AWS::IAM::ManagedPolicy":
                return self._get_att(logical, "Arn")
            case "AWS::KMS::Key":
                return self._key_id(logical)
            case "AWS::KMS::Alias":
                return self._prop(logical, "AliasName")
            case "AWS::IAM::Role":
                return self._role_name(logical)
            case "AWS::S3::Bucket":
                return self._prop(logical, "BucketName") or self._stand_in(logical).lower()
            case "AWS::Lambda::Function" | "AWS::Serverless::Function":
                return self._prop(logical, "FunctionName") or self._stand_in(logical)
            case "AWS::Events::Rule" | "AWS::Pipes::Pipe":
                return self._prop(logical, "Name") or self._stand_in(logical)
            case _:
                raise Unknown(f"Ref {logical} (a {kind}: its physical id is known only after deployment)")

    def _get_att(self, logical: str, attribute: str) -> Any:
        kind = self._type(logical)
        match kind, attribute:
            case "AWS::SQS::Queue", "Arn":
                partition, region, account = self._need(f"the ARN of {logical}")
                return f"arn:{partition}:sqs:{region}:{account}:{self._queue_name(logical)}"
            case "AWS::SQS::Queue", "QueueName":
                return self._queue_name(logical)
            case "AWS::SQS::Queue", "QueueUrl":
                return self._queue_url(logical)
            case "AWS::KMS::Key", "Arn":
                partition, region, account = self._need(f"the ARN of {logical}")
                return f"arn:{partition}:kms:{region}:{account}:key/{self._key_id(logical)}"
            case "AWS::KMS::Key", "KeyId":
                return self._key_id(logical)
            case "AWS::IAM::Role", "Arn":
                partition, _, account = self._need(f"the ARN of {logical}")
                path = self._prop(logical, "Path") or "/"
                return f"arn:{partition}:iam::{account}:role{path}{self._role_name(logical)}"
            case "AWS::SNS::Topic", "TopicArn" | "Arn":
                partition, region, account = self._need(f"the ARN of {logical}")
                name = self._prop(logical, "TopicName") or self._stand_in(logical, 256)
                return f"arn:{partition}:sns:{region}:{account}:{name}"
            case "AWS::S3::Bucket", "Arn":
                partition, _, _ = self._need(f"the ARN of {logical}")
                return f"arn:{partition}:s3:::{self._ref(logical)}"
            case (("AWS::Lambda::Function" | "AWS::Serverless::Function"), "Arn"):
                partition, region, account = self._need(f"the ARN of {logical}")
                return f"arn:{partition}:lambda:{region}:{account}:function:{self._ref(logical)}"
            case "AWS::Events::Rule", "Arn":
                partition, region, account = self._need(f"the ARN of {logical}")
                bus = self._prop(logical, "EventBusName")
                bus_part = f"{bus}/" if bus and bus != "default" and not str(bus).startswith("arn:") else ""
                return f"arn:{partition}:events:{region}:{account}:rule/{bus_part}{self._ref(logical)}"
            case "AWS::Pipes::Pipe", "Arn":
                partition, region, account = self._need(f"the ARN of {logical}")
                return f"arn:{partition}:pipes:{region}:{account}:pipe/{self._ref(logical)}"
            case "AWS::IAM::ManagedPolicy", "Arn" | "PolicyArn":
                partition, _, account = self._need(f"the ARN of {logical}")
                path = self._prop(logical, "Path") or "/"
                name = self._prop(logical, "ManagedPolicyName") or self._stand_in(logical, 128)
                return f"arn:{partition}:iam::{account}:policy{path}{name}"
        raise Unknown(f"Fn::GetAtt {logical}.{attribute} (known only after deployment)")

    def _queue_name(self, logical: str) -> str:
        name = self._prop(logical, "QueueName")
        if name:
            return str(name)
        fifo = str(self._prop(logical, "FifoQueue", False)).lower() == "true"
        stand_in = self._stand_in(logical, 75 if fifo else 80)
        return f"{stand_in}.fifo" if fifo else stand_in

    def _queue_url(self, logical: str) -> str:
        partition, region, account = self._need(f"the URL of {logical}")
        return f"https://sqs.{region}.{dns_suffix(partition)}/{account}/{self._queue_name(logical)}"

    def _key_id(self, logical: str) -> str:
        # A new key's id is chosen by KMS at creation: a stable stand-in keeps every reference to it equal.
        return str(uuid.uuid5(_NAMESPACE, f"{self.stack.name}/{logical}"))

    def _role_name(self, logical: str) -> str:
        return str(self._prop(logical, "RoleName") or self._stand_in(logical))

    # ----------------------------------------------------------------- resources

    def read(self) -> None:
        conditions_checked = {}
        for logical, node in self.resources.items():
            if not isinstance(node, dict) or "Type" not in node:
                raise TemplateError(f"{self.stack.path}: Resources.{logical}: a resource needs a Type")
            condition = node.get("Condition")
            if condition is not None:
                conditions_checked[logical] = self.scope.condition(str(condition))
        self.skipped = {logical for logical, on in conditions_checked.items() if not on}
        handlers: dict[str, Callable[[str], None]] = {
            "AWS::SQS::Queue": self._sqs_queue,
            "AWS::SQS::QueuePolicy": self._sqs_queue_policy,
            "AWS::SQS::QueueInlinePolicy": self._sqs_queue_inline_policy,
            "AWS::KMS::Key": self._kms_key,
            "AWS::KMS::Alias": self._kms_alias,
            "AWS::IAM::Role": self._iam_role,
            "AWS::IAM::ManagedPolicy": self._iam_managed_policy,
            "AWS::IAM::Policy": self._iam_policy,
            "AWS::IAM::RolePolicy": self._iam_role_policy,
            "AWS::SNS::Topic": self._sns_topic,
            "AWS::SNS::Subscription": self._sns_subscription,
            "AWS::Lambda::EventSourceMapping": self._lambda_esm,
            "AWS::Events::Rule": self._events_rule,
            "AWS::Pipes::Pipe": self._pipe,
            "AWS::S3::Bucket": self._s3_bucket,
            "AWS::Serverless::Function": self._sam_function,
        }
        # roles and managed policies first: the policy resources that follow attach to them
        order = sorted(self.resources, key=lambda lid: 0 if self._type(lid) == "AWS::IAM::Role" else 1)
        for logical in order:
            if logical in self.skipped:
                continue
            handler = handlers.get(self._type(logical))
            if handler is None:
                continue
            try:
                handler(logical)
            except Unknown as err:
                self._unknown_resource(logical, str(err))
            except TemplateError as err:
                raise TemplateError(f"{self.stack.path}: Resources.{logical}: {err}") from None

    def _unknown_resource(self, logical: str, reason: str) -> None:
        origin = self._origin(logical)
        kind = origin.type
        layer = {
            "AWS::SQS::Queue": "queue",
            "AWS::SQS::QueuePolicy": "resource-policy",
            "AWS::SQS::QueueInlinePolicy": "resource-policy",
            "AWS::KMS::Key": "key",
            "AWS::IAM::Role": "identity-policy",
        }.get(kind, "queue")
        try:
            resource = self._arn_of(logical)
        except (Unknown, TemplateError):
            resource = logical
        self.planner.unknown(layer, resource, f"{kind} {logical}", reason, origin)

    def _arn_of(self, logical: str) -> str:
        attribute = "Arn"
        return str(self._get_att(logical, attribute))

    # SQS
    def _sqs_queue(self, logical: str) -> None:
        arn = self._arn_of(logical)
        attributes: dict[str, str] = {"QueueArn": arn}
        key = self._prop(logical, "KmsMasterKeyId")
        sse = self._prop(logical, "SqsManagedSseEnabled")
        if key:
            attributes["KmsMasterKeyId"] = self._key_ref(str(key))
            reuse = self._prop(logical, "KmsDataKeyReusePeriodSeconds")
            attributes["KmsDataKeyReusePeriodSeconds"] = str(reuse if reuse is not None else 300)
            attributes["SqsManagedSseEnabled"] = "false"
        else:
            # a new queue without SSE-KMS gets SSE-SQS unless it is turned off (S1, I4)
            attributes["SqsManagedSseEnabled"] = "false" if str(sse).lower() == "false" else "true"
        if str(self._prop(logical, "FifoQueue", False)).lower() == "true":
            attributes["FifoQueue"] = "true"
        for name in ("RedrivePolicy", "RedriveAllowPolicy"):
            value = self._prop(logical, name)
            if value is not None:
                attributes[name] = value if isinstance(value, str) else json.dumps(value)
        self.planner.queue(arn, self._queue_url(logical), attributes, self._origin(logical))
        redrive = self._prop(logical, "RedrivePolicy")
        if isinstance(redrive, str):
            redrive = json.loads(redrive)
        if isinstance(redrive, dict) and redrive.get("deadLetterTargetArn"):
            self.planner.wires.append(
                Wire(
                    WireKind.DEAD_LETTER,
                    str(redrive["deadLetterTargetArn"]),
                    arn,
                    "sqs.amazonaws.com",
                    self._origin(logical),
                )
            )

    def _key_ref(self, ref: str) -> str:
        """``KmsMasterKeyId`` as a full ARN where the template determines it (a planned key's id or alias)."""
        if ref.startswith("arn:") or not self.partition or not self.stack.account or not self.stack.region:
            return ref
        for logical in self.resources:
            if logical in self.skipped:
                continue
            kind = self._type(logical)
            if kind == "AWS::KMS::Key" and self._key_id(logical) == ref:
                return str(self._get_att(logical, "Arn"))
        return ref

    def _queue_arns(self, urls: Any, field: str) -> list[str]:
        items = urls if isinstance(urls, list) else [urls]
        out = []
        for url in items:
            if not isinstance(url, str):
                raise TemplateError(f"{field}: expected queue URLs")
            ref = parse_queue(url)
            out.append(ref.arn(self.stack.region))
        return out

    def _sqs_queue_policy(self, logical: str) -> None:
        document = self._prop(logical, "PolicyDocument")
        for arn in self._queue_arns(self._prop(logical, "Queues", []), "Queues"):
            self.planner.queue_policy(arn, document, self._origin(logical))

    def _sqs_queue_inline_policy(self, logical: str) -> None:
        document = self._prop(logical, "PolicyDocument")
        for arn in self._queue_arns(self._prop(logical, "Queue"), "Queue"):
            self.planner.queue_policy(arn, document, self._origin(logical))

    # KMS
    def _kms_key(self, logical: str) -> None:
        arn = self._arn_of(logical)
        partition, _, account = self._need(f"the key policy of {logical}")
        policy = self._prop(logical, "KeyPolicy") or default_key_policy(partition, account)
        if isinstance(policy, str):
            policy = json.loads(policy)
        self.planner.key(arn, policy, self._origin(logical))
        if str(self._prop(logical, "Enabled", True)).lower() == "false":
            self.planner.keys[arn] = replace(self.planner.keys[arn], state="Disabled")
        spec = self._prop(logical, "KeySpec")
        usage = self._prop(logical, "KeyUsage")
        if spec or usage:
            key = self.planner.keys[arn]
            self.planner.keys[arn] = replace(key, spec=spec or key.spec, usage=usage or key.usage)

    def _kms_alias(self, logical: str) -> None:
        name = str(self._prop(logical, "AliasName"))
        target = str(self._prop(logical, "TargetKeyId"))
        partition, region, account = self._need(f"the key of {logical}")
        arn = target if target.startswith("arn:") else f"arn:{partition}:kms:{region}:{account}:key/{target}"
        self.planner.aliases[name] = arn

    # IAM
    def _iam_role(self, logical: str) -> None:
        arn = self._arn_of(logical)
        inline = []
        for i, item in enumerate(self._prop(logical, "Policies", []) or []):
            if not isinstance(item, dict) or "PolicyDocument" not in item:
                raise TemplateError(f"Properties.Policies[{i}]: expected PolicyName and PolicyDocument")
            inline.append(Document(name=str(item.get("PolicyName")), document=item["PolicyDocument"]))
        boundary_arn = self._prop(logical, "PermissionsBoundary")
        boundary = None
        if boundary_arn:
            boundary_logical = self._managed_logical(str(boundary_arn))
            if boundary_logical is None:
                self.planner.unknown(
                    "permissions-boundary",
                    arn,
                    f"permissions boundary of {logical}",
                    f"{boundary_arn} is not declared in the template",
                    self._origin(logical),
                )
            else:
                doc = self._prop(boundary_logical, "PolicyDocument")
                boundary = Document(
                    name=str(boundary_arn).rsplit("/", 1)[-1], document=doc, arn=str(boundary_arn), source="boundary"
                )
        self.planner.role(arn, tuple(inline), boundary, self._origin(logical))
        for policy_arn in self._prop(logical, "ManagedPolicyArns", []) or []:
            self.planner.attachments.append((arn, str(policy_arn)))

    def _managed_logical(self, policy_arn: str) -> str | None:
        for logical in self.resources:
            if logical not in self.skipped and self._type(logical) == "AWS::IAM::ManagedPolicy":
                try:
                    if self._get_att(logical, "Arn") == policy_arn:
                        return logical
                except Unknown:
                    continue
        return None

    def _roles_named(self, names: Any) -> list[str]:
        out = []
        for name in names or []:
            for logical in self.resources:
                if logical in self.skipped or self._type(logical) != "AWS::IAM::Role":
                    continue
                if self._role_name(logical) == name:
                    out.append(self._arn_of(logical))
        return out

    def _iam_managed_policy(self, logical: str) -> None:
        arn = str(self._get_att(logical, "Arn"))
        self.planner.managed[arn] = (self._prop(logical, "PolicyDocument"), self._origin(logical))
        for role_arn in self._roles_named(self._prop(logical, "Roles")):
            self.planner.attachments.append((role_arn, arn))

    def _iam_policy(self, logical: str) -> None:
        name = str(self._prop(logical, "PolicyName") or logical)
        document = Document(name=name, document=self._prop(logical, "PolicyDocument"))
        for role_arn in self._roles_named(self._prop(logical, "Roles")):
            self.planner.role_policy(role_arn, document, self._origin(logical))

    def _iam_role_policy(self, logical: str) -> None:
        name = str(self._prop(logical, "PolicyName") or logical)
        document = Document(name=name, document=self._prop(logical, "PolicyDocument"))
        for role_arn in self._roles_named([self._prop(logical, "RoleName")]):
            self.planner.role_policy(role_arn, document, self._origin(logical))

    # wires
    def _sns_topic(self, logical: str) -> None:
        topic = str(self._get_att(logical, "TopicArn"))
        for item in self._prop(logical, "Subscription", []) or []:
            if isinstance(item, dict) and str(item.get("Protocol", "")).lower() == "sqs":
                self._sns_wire(str(item.get("Endpoint")), topic, logical)

    def _sns_subscription(self, logical: str) -> None:
        if str(self._prop(logical, "Protocol", "")).lower() != "sqs":
            return
        self._sns_wire(str(self._prop(logical, "Endpoint")), str(self._prop(logical, "TopicArn")), logical)

    def _sns_wire(self, endpoint: str, topic: str, logical: str) -> None:
        self.planner.wires.append(
            Wire(WireKind.SNS_SUBSCRIPTION, endpoint, topic, "sns.amazonaws.com", self._origin(logical))
        )

    def _function_role(self, function: str, logical: str) -> str:
        """The execution role of a function named by name or ARN, when the template declares it."""
        name = function.rsplit(":", 1)[-1] if function.startswith("arn:") else function
        for other in self.resources:
            if other in self.skipped or self._type(other) != "AWS::Lambda::Function":
                continue
            if self._ref(other) == name:
                role = self._prop(other, "Role")
                if role:
                    return str(role)
        raise Unknown(f"the execution role of function {function} (the function is not declared in the template)")

    def _lambda_esm(self, logical: str) -> None:
        source = str(self._prop(logical, "EventSourceArn"))
        if ":sqs:" not in source:
            return
        function = str(self._prop(logical, "FunctionName"))
        role = self._function_role(function, logical)
        self.planner.wires.append(
            Wire(WireKind.LAMBDA_ESM, source, function, role, self._origin(logical), consumes=True)
        )

    def _events_rule(self, logical: str) -> None:
        rule = str(self._get_att(logical, "Arn"))
        for target in self._prop(logical, "Targets", []) or []:
            if not isinstance(target, dict) or ":sqs:" not in str(target.get("Arn", "")):
                continue
            principal = str(target.get("RoleArn") or "events.amazonaws.com")
            self.planner.wires.append(
                Wire(WireKind.EVENTBRIDGE_TARGET, str(target["Arn"]), rule, principal, self._origin(logical))
            )

    def _pipe(self, logical: str) -> None:
        pipe = str(self._get_att(logical, "Arn"))
        role = str(self._prop(logical, "RoleArn"))
        source, target = str(self._prop(logical, "Source", "")), str(self._prop(logical, "Target", ""))
        if ":sqs:" in source:
            self.planner.wires.append(Wire(WireKind.PIPE, source, pipe, role, self._origin(logical), consumes=True))
        if ":sqs:" in target:
            self.planner.wires.append(Wire(WireKind.PIPE, target, pipe, role, self._origin(logical)))

    def _s3_bucket(self, logical: str) -> None:
        config = self._prop(logical, "NotificationConfiguration") or {}
        bucket = None
        for item in config.get("QueueConfigurations", []) if isinstance(config, dict) else []:
            if isinstance(item, dict) and item.get("Queue"):
                bucket = bucket or str(self._get_att(logical, "Arn"))
                self.planner.wires.append(
                    Wire(
                        WireKind.S3_NOTIFICATION, str(item["Queue"]), bucket, "s3.amazonaws.com", self._origin(logical)
                    )
                )

    def _sam_function(self, logical: str) -> None:
        events = self._prop(logical, "Events") or {}
        for name, event in events.items() if isinstance(events, dict) else []:
            if not isinstance(event, dict) or event.get("Type") != "SQS":
                continue
            queue = str((event.get("Properties") or {}).get("Queue"))
            role = self._prop(logical, "Role")
            if not role:
                raise Unknown(
                    f"the role SAM generates for {logical} (event {name}): give Role, or check the deployed stack"
                )
            self.planner.wires.append(
                Wire(
                    WireKind.LAMBDA_ESM,
                    queue,
                    str(self._get_att(logical, "Arn")),
                    str(role),
                    self._origin(logical),
                    consumes=True,
                )
            )


def read_cloudformation(
    paths: list[Path], *, account: str | None, region: str | None, parameters: Mapping[str, str]
) -> Planner:
    planner = Planner(SourceKind.CLOUDFORMATION, account, region)
    for path in paths:
        read_template(path, planner, parameters=parameters).read()
    return planner
