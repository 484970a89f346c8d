"""``sqsdiag preflight --template / --terraform-plan``: pre-flight on infrastructure code (a thin shell over
``diagnose.sources`` and ``diagnose.preflight_code``)."""

from __future__ import annotations

import json
from pathlib import Path

from diagnose.arns import ACCOUNT_RE
from diagnose.preflight_code import CodePreflight, check_code
from diagnose.snapshot import Snapshot
from diagnose.sources.intrinsics import TemplateError
from diagnose.sources.planned import Planned
from diagnose.verdict import Assumptions


def read_sources(
    templates: list[Path],
    terraform_plans: list[Path],
    parameters: list[tuple[str, str]],
    account: str | None,
    region: str | None,
) -> Planned:
    """The planned world of the given code; ValueError (one line) on bad input."""
    from diagnose.sources.cdk import read_cdk_out
    from diagnose.sources.cloudformation import read_cloudformation
    from diagnose.sources.terraform import read_plan

    if account is not None and not ACCOUNT_RE.match(account):
        raise ValueError(f"--account {account!r}: expected a 12-digit account id")
    if templates and terraform_plans:
        raise ValueError("give --template or --terraform-plan, not both")
    try:
        if terraform_plans:
            if len(terraform_plans) > 1:
                raise ValueError("--terraform-plan: give one plan")
            planner = read_plan(terraform_plans[0], account=account, region=region)
        elif len(templates) == 1 and templates[0].is_dir():
            planner = read_cdk_out(templates[0], account=account, region=region)
        else:
            for path in templates:
                if not path.is_file():
                    raise ValueError(f"--template {path}: no such file (or a cdk.out directory)")
            planner = read_cloudformation(templates, account=account, region=region, parameters=dict(parameters))
    except TemplateError as err:
        raise ValueError(str(err)) from None
    return planner.done(tuple(planner.files))


def code_preflight(base: Snapshot, planned: Planned, assumptions: Assumptions) -> CodePreflight:
    return check_code(base, planned, assumptions)


def render(result: CodePreflight, format: str) -> str:
    from diagnose.render.code_out import code_preflight_json, code_sarif, render_code_text

    if format == "json":
        return json.dumps(code_preflight_json(result), indent=2) + "\n"
    if format == "sarif":
        return json.dumps(code_sarif(result), indent=2) + "\n"
    return render_code_text(result)
