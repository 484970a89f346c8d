"""Pre-flight on infrastructure code: templates, plans and a cloud assembly that reproduce failures reported in
public threads (each file names its thread), checked end to end; the proposed change, applied to the code in the
code's own terms, makes every check pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from diagnose.cli_code import read_sources
from diagnose.preflight_code import CodePreflight, check_code
from diagnose.render.code_out import code_preflight_json, code_sarif
from diagnose.snapshot import load
from diagnose.sources.cloudformation import decode
from diagnose.verdict import Assumptions
from tests.helpers import run_bad, run_cli

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
WORLD = HERE / "world.json"
ACCOUNT, REGION = "111111111111", "us-east-1"


def _check(templates: list[Path] | None = None, plan: Path | None = None, **params: str) -> CodePreflight:
    planned = read_sources(templates or [], [plan] if plan else [], list(params.items()), ACCOUNT, REGION)
    return check_code(load(WORLD), planned, Assumptions())


# template, wire kind (None: a cross-account grant), error code AWS returns, the resource the fix edits, instruction
CASES = [
    (
        "sns-aws-managed-key.yaml",
        "sns-subscription",
        "KMS.AccessDeniedException",
        "FailureQueue",
        "SqsManagedSseEnabled",
    ),
    ("s3-customer-key.yaml", "s3-notification", "KMS.AccessDeniedException", "QueueKey", "KeyPolicy of QueueKey"),
    ("lambda-esm-no-decrypt.yaml", "lambda-esm", "KMS.AccessDeniedException", "WorkerRole", "Policies of WorkerRole"),
    ("eventbridge-customer-key.yaml", "eventbridge-target", "KMS.AccessDeniedException", "EventsKey", "KeyPolicy"),
    ("cross-account-queue-policy-only.json", None, "AccessDenied", "OrdersKey", "KeyPolicy of OrdersKey"),
]


@pytest.mark.parametrize(("name", "wire", "code", "fixed_resource", "instruction"), CASES)
def test_reported_failures_are_caught_with_a_fix_in_the_code(
    name: str, wire: str | None, code: str, fixed_resource: str, instruction: str
) -> None:
    out = code_preflight_json(_check([TEMPLATES / name]))
    assert out["status"] == "changes-needed"
    assert out["source"] == {"kind": "cloudformation", "files": [str(TEMPLATES / name)]}
    (check,) = out["checks"]
    assert check["wire"] == wire
    assert check["check"] == ("wire" if wire else "grant")
    assert check["file"] == str(TEMPLATES / name) and isinstance(check["line"], int)
    errors = [b["error"]["code"] for b in check["preflight"]["before"] if b["error"]]
    assert errors[0] == code
    edited = [c for c in check["code_changes"] if c["resource"] == fixed_resource]
    assert edited, check["code_changes"]
    assert instruction in edited[0]["instruction"]
    assert edited[0]["line"] == decode(TEMPLATES / name)["Resources"][fixed_resource].start_mark.line + 1


def _apply(template: dict[str, Any], change: dict[str, Any]) -> None:
    """Apply one code change as a user would, by the instruction's resource and property."""
    props = template["Resources"][change["resource"]].setdefault("Properties", {})
    body = change["code"]
    match change["property"]:
        case "KeyPolicy":
            props.setdefault("KeyPolicy", {"Version": "2012-10-17", "Statement": []})["Statement"].append(body)
        case "Policies":
            props.setdefault("Policies", []).append({"PolicyName": "sqsdiag-fix", "PolicyDocument": body})
        case "PolicyDocument":
            props["PolicyDocument"]["Statement"].append(body)
        case "encryption properties":
            props.pop("KmsMasterKeyId", None)
            props["SqsManagedSseEnabled"] = True
        case other:
            raise AssertionError(f"no way to apply {other!r}")


@pytest.mark.parametrize("name", [c[0] for c in CASES if c[1] is not None])
def test_the_code_changes_applied_to_the_template_make_it_pass(name: str, tmp_path: Path) -> None:
    out = code_preflight_json(_check([TEMPLATES / name]))
    template = json.loads(json.dumps(decode(TEMPLATES / name)))
    for change in out["checks"][0]["code_changes"]:
        _apply(template, change)
    fixed = tmp_path / name  # the same stack name: the same stand-ins for what CloudFormation names
    fixed.write_text(json.dumps(template))
    after = code_preflight_json(_check([fixed]))
    assert after["status"] == "works", after["checks"][0]["preflight"]["before"]


def test_the_fixed_sns_template_from_the_thread_passes() -> None:
    result = _check([TEMPLATES / "sns-aws-managed-key.fixed.yaml"])
    assert result.status == "works" and result.exit_code == 0
    assert [str(c.wire) for c in result.checks] == ["sns-subscription"]


def test_an_aws_managed_key_wire_names_the_ways_out() -> None:
    (check,) = _check([TEMPLATES / "sns-aws-managed-key.yaml"]).checks
    assert check.result is not None and check.result.cannot_work is not None
    assert "alias/aws/sqs" in check.result.cannot_work
    assert [a.title for a in check.result.alternatives] == [
        "move the queue to SSE-SQS",
        "re-encrypt with a new customer managed key",
    ]


def test_the_s3_wire_carries_the_bucket_account_and_names_the_deploy_failure() -> None:
    result = _check([TEMPLATES / "s3-customer-key.yaml"])
    (check,) = result.checks
    assert check.result is not None
    assert check.result.subject.context["aws:sourceaccount"] == (ACCOUNT,)
    assert check.result.subject.source_arn == "arn:aws:s3:::workload-extract-bucket"
    assert any("Unable to validate the following destination configurations" in n for n in result.notes)


def test_a_template_parameter_changes_the_bucket_the_wire_comes_from() -> None:
    (check,) = _check([TEMPLATES / "s3-customer-key.yaml"], BucketName="other-bucket").checks
    assert check.result is not None and check.result.subject.source_arn == "arn:aws:s3:::other-bucket"
    # the queue policy's SourceArn is built from the same parameter: the queue side still admits the bucket
    assert check.result.before[0].error is not None
    assert check.result.before[0].error.code == "KMS.AccessDeniedException"


# --------------------------------------------------------------------------- Terraform plans


@pytest.mark.parametrize(
    ("name", "wire", "code", "resource", "instruction"),
    [
        (
            "sns-aws-managed-key.plan.json",
            "sns-subscription",
            "KMS.AccessDeniedException",
            "aws_sqs_queue.failures",
            "sqs_managed_sse_enabled = true",
        ),
        (
            "s3-customer-key.plan.json",
            "s3-notification",
            "KMS.AccessDeniedException",
            "aws_kms_key.queue",
            "policy of aws_kms_key.queue",
        ),
        (
            "eventbridge-customer-key.plan.json",
            "eventbridge-target",
            "KMS.AccessDeniedException",
            "aws_kms_key.queue",
            "policy of aws_kms_key.queue",
        ),
        (
            "cross-account-queue-policy-only.plan.json",
            None,
            "AccessDenied",
            "aws_kms_key.queue",
            "policy of aws_kms_key.queue",
        ),
        (
            "lambda-esm-no-decrypt.plan.json",
            "lambda-esm",
            "KMS.AccessDeniedException",
            "aws_iam_role.worker",
            "inline_policy of aws_iam_role.worker",
        ),
    ],
)
def test_terraform_plans(name: str, wire: str | None, code: str, resource: str, instruction: str) -> None:
    out = code_preflight_json(_check(plan=HERE / "terraform" / name))
    assert out["source"]["kind"] == "terraform-plan"
    (check,) = out["checks"]
    assert check["wire"] == wire and check["status"] == "changes-needed"
    assert check["preflight"]["before"][0]["error"]["code"] == code
    edited = [c for c in check["code_changes"] if c["resource"] == resource]
    assert edited and instruction in edited[0]["instruction"]


def test_a_plan_resolves_values_known_only_after_apply_through_references() -> None:
    planned = read_sources([], [HERE / "terraform" / "lambda-esm-no-decrypt.plan.json"], [], ACCOUNT, None)
    (queue,) = planned.queues
    (key,) = planned.keys
    assert queue.attributes["KmsMasterKeyId"] == key.arn  # kms_master_key_id = aws_kms_key.jobs.arn
    assert planned.region == REGION  # from the provider configuration
    (wire,) = planned.wires
    assert wire.principal == f"arn:aws:iam::{ACCOUNT}:role/jobs-worker"


# --------------------------------------------------------------------------- a CDK cloud assembly


def test_cdk_out_resolves_a_cross_stack_key_and_fixes_the_other_stack() -> None:
    out = code_preflight_json(_check([HERE / "cdk.out"]))
    assert out["source"]["kind"] == "cdk-out"
    (check,) = out["checks"]
    assert check["check"] == "grant" and check["subject"] == "arn:aws:iam::222222222222:role/consumer"
    assert check["preflight"]["before"][0]["error"]["code"] == "KMS.AccessDeniedException"
    (change,) = check["code_changes"]
    assert change["resource"] == "OrdersKey1A2B3C4D" and change["file"].endswith("KeyStack.template.json")
    assert change["change"]["statement"]["Principal"] == {"AWS": "arn:aws:iam::222222222222:role/consumer"}


def test_a_statement_names_declared_resources_as_the_code_does() -> None:
    out = code_preflight_json(_check([TEMPLATES / "lambda-esm-no-decrypt.yaml"]))
    (change,) = out["checks"][0]["code_changes"]
    (statement,) = change["code"]["Statement"]
    assert statement["Resource"] == {"Fn::GetAtt": ["JobsKey", "Arn"]}
    plan = code_preflight_json(_check(plan=HERE / "terraform" / "lambda-esm-no-decrypt.plan.json"))
    (statement,) = plan["checks"][0]["code_changes"][0]["code"]["Statement"]
    assert statement["Resource"] == "${aws_kms_key.jobs.arn}"


def test_an_import_of_a_stack_not_given_is_unknown_and_named() -> None:
    result = _check([HERE / "cdk.out" / "QueueStack.template.json"])
    assert result.status == "inconclusive" and result.exit_code == 3
    (check,) = result.checks
    assert check.result is None and "Fn::ImportValue" in (check.reason or "")
    assert any("Fn::ImportValue" in u.reason for u in result.planned.unresolved)


# --------------------------------------------------------------------------- SARIF and the command line


def test_sarif_has_one_result_per_failing_check_with_its_location() -> None:
    sarif = code_sarif(_check([TEMPLATES / "lambda-esm-no-decrypt.yaml"]))
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    (result,) = run["results"]
    assert result["ruleId"] == "broken-wire" and result["level"] == "error"
    location = result["locations"][0]
    assert location["physicalLocation"]["region"]["startLine"] == 41
    assert location["logicalLocations"][0]["name"] == "Mapping"
    assert "Policies of WorkerRole" in result["message"]["text"]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} >= {result["ruleId"]}


def test_sarif_is_empty_when_every_check_passes() -> None:
    sarif = code_sarif(_check([TEMPLATES / "sns-aws-managed-key.fixed.yaml"]))
    assert sarif["runs"][0]["results"] == []


def test_cli_exit_codes_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["preflight", "--account", ACCOUNT, "--region", REGION, "-s", str(WORLD), "--format", "json"]
    bad = run_cli(capsys, *args, "--template", str(TEMPLATES / "lambda-esm-no-decrypt.yaml"))
    assert bad.code == 1 and json.loads(bad.out)["checks"][0]["wire"] == "lambda-esm"
    good = run_cli(capsys, *args, "--template", str(TEMPLATES / "sns-aws-managed-key.fixed.yaml"))
    assert good.code == 0 and json.loads(good.out)["status"] == "works"


@pytest.mark.parametrize(
    ("extra", "content", "message"),
    [
        ([], "Resources:\n  Q: [\n    Type: x\n", "broken.yaml:"),
        (["--template-parameter", "Nope=1"], None, "--template-parameter Nope"),
        (["--queue", "arn:aws:sqs:us-east-1:111111111111:q"], None, "--queue"),
        (["--format", "markdown"], None, "--format markdown"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], content: str | None, message: str
) -> None:
    path = TEMPLATES / "s3-customer-key.yaml"
    if content is not None:
        path = tmp_path / "broken.yaml"
        path.write_text(content)
    line = run_bad(capsys, "preflight", "--account", ACCOUNT, "--region", REGION, "--template", str(path), *extra)
    assert message in line


def test_sarif_without_code_is_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    queue = "arn:aws:sqs:us-east-1:111111111111:q"
    line = run_bad(capsys, "preflight", "--queue", queue, "--consumer", "222222222222", "-s", str(WORLD), "-f", "sarif")
    assert "--format sarif" in line


def test_a_pipe_reads_as_its_role_and_a_false_condition_drops_a_resource() -> None:
    result = _check([TEMPLATES / "pipe-and-condition.yaml"])
    (check,) = result.checks
    assert str(check.wire) == "pipe" and check.status == "changes-needed"
    assert check.subject == "arn:aws:iam::111111111111:role/pipe-and-condition-PipeRole"  # a stand-in name (I1)
    assert check.result is not None
    assert [a.api for a in check.result.actions] == ["ReceiveMessage", "DeleteMessage", "GetQueueAttributes"]
    assert check.result.before[0].error is not None
    assert check.result.before[0].error.code == "KMS.AccessDeniedException"
    assert [c.origin.resource for c in check.changes if c.origin] == ["PipeRole"]
    with_audit = _check([TEMPLATES / "pipe-and-condition.yaml"], Audit="yes")
    assert sorted(str(c.wire) for c in with_audit.checks) == ["pipe", "sns-subscription"]
