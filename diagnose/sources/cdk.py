"""A CDK cloud assembly (``cdk.out``): its CloudFormation stacks, each in its own environment, with the
cross-stack references CDK writes as ``Fn::ImportValue`` of another stack's export resolved across them.

Format: the cloud assembly's ``manifest.json`` (artifacts of type ``aws:cloudformation:stack``, their
``templateFile`` and ``environment`` ``aws://ACCOUNT/REGION``), I10 in docs/reference.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from diagnose.policy.parse import decode_json
from diagnose.sources.cloudformation import _Reader, read_template
from diagnose.sources.intrinsics import TemplateError, Unknown
from diagnose.sources.planned import Planner, SourceKind

STACK = "aws:cloudformation:stack"


def _environment(env: Any) -> tuple[str | None, str | None]:
    if not isinstance(env, str) or not env.startswith("aws://"):
        return None, None
    account, _, region = env[len("aws://") :].partition("/")
    return (None if account.startswith("unknown") else account), (None if region.startswith("unknown") else region)


def read_cdk_out(directory: Path, *, account: str | None, region: str | None) -> Planner:
    manifest = directory / "manifest.json"
    try:
        data = decode_json(manifest.read_text(encoding="utf-8"))
    except OSError:
        raise TemplateError(f"{directory}: not a cdk.out directory (no manifest.json)") from None
    except ValueError as err:
        raise TemplateError(f"{manifest}: not valid JSON ({err})") from None
    artifacts = data.get("artifacts") if isinstance(data, dict) else None
    if not isinstance(artifacts, dict):
        raise TemplateError(f"{manifest}: artifacts: expected an object")
    planner = Planner(SourceKind.CDK_OUT, account, region)
    readers: list[_Reader] = []

    def import_value(name: str) -> Any:
        for reader in readers:
            found, value = reader.export(name)
            if found:
                return value
        raise Unknown(f"Fn::ImportValue {name} (no stack of the assembly exports it)")

    for artifact_id, artifact in artifacts.items():
        if not isinstance(artifact, dict) or artifact.get("type") != STACK:
            continue
        props = artifact.get("properties") or {}
        template_file = props.get("templateFile")
        if not isinstance(template_file, str):
            raise TemplateError(f"{manifest}: artifacts.{artifact_id}.properties.templateFile: missing")
        env_account, env_region = _environment(artifact.get("environment"))
        readers.append(
            read_template(
                directory / template_file,
                planner,
                parameters={},
                stack_name=str(props.get("stackName") or artifact_id),
                account=env_account or account,
                region=env_region or region,
                import_value=import_value,
            )
        )
    if not readers:
        raise TemplateError(f"{manifest}: the assembly has no CloudFormation stack")
    for reader in readers:
        reader.read()
    return planner
