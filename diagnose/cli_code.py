"""``sqsdiag preflight --template / --terraform-plan``: pre-flight on infrastructure code (a thin shell over
``diagnose.sources`` and ``diagnose.preflight_code``)."""

from __future__ import annotations

import json
from pathlib import Path

from diagnose.arns import ACCOUNT_RE, parse_arn
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


def what_exists(planned: Planned) -> tuple[list[str], list[str], list[str], str]:
    """What a live read must add to the planned world: the queues and principals the code refers to but does not
    declare, every account involved, and the partition."""
    from diagnose.preflight_code import grants
    from diagnose.world import SERVICE_RE

    declared_queues = {q.arn for q in planned.queues}
    declared_principals = {p.arn for p in planned.principals}
    queues: dict[str, None] = {}
    principals: dict[str, None] = {}
    accounts: dict[str, None] = {planned.account: None} if planned.account else {}
    accounts.update((parse_arn(arn).account, None) for arn in (*declared_queues, *(k.arn for k in planned.keys)))
    asked = [(w.queue, w.principal) for w in planned.wires]
    for queue, document in planned.queue_policies.items():
        asked += [(queue, principal) for principal, _, _ in grants(queue, document, planned)]
    for queue, principal in asked:
        if queue not in declared_queues:
            queues[queue] = None
        if SERVICE_RE.match(principal):
            continue
        account = parse_arn(principal).account if principal.startswith("arn:") else principal
        accounts[account] = None
        if principal.startswith("arn:") and principal not in declared_principals and not principal.endswith(":root"):
            principals[principal] = None
    partition = parse_arn(next(iter(declared_queues or queues), "arn:aws:sqs:::x")).partition
    return list(queues), list(principals), list(accounts), partition


def code_preflight(base: Snapshot, planned: Planned, assumptions: Assumptions) -> CodePreflight:
    return check_code(base, planned, assumptions)


def render(result: CodePreflight, format: str) -> str:
    from diagnose.render.code_out import code_preflight_json, code_sarif, render_code_text

    if format == "json":
        return json.dumps(code_preflight_json(result), indent=2) + "\n"
    if format == "sarif":
        return json.dumps(code_sarif(result), indent=2) + "\n"
    return render_code_text(result)
