"""preflight: the data-driven cases of tests/cases/preflight/ through the CLI, and the proof that the
documents it prints, written into a copy of the snapshot JSON, make every action succeed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from diagnose.snapshot import from_json
from diagnose.sqs import parse_action
from diagnose.verdict import Query, diagnose
from tests.helpers import ARTICLE, CONSUMER, ROOT, run_bad, run_cli

CASES = sorted((ROOT / "tests" / "cases" / "preflight").glob("*.json"))
# The cases whose answer is a verified change set: the ones whose printed documents are applied below.
APPLY = [p for p in CASES if json.loads(p.read_text(encoding="utf-8"))["expect"]["status"] == "changes-needed"]


def _case(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _snapshot_data(case: dict[str, Any]) -> dict[str, Any]:
    if "snapshot_file" in case:
        return json.loads((ROOT / case["snapshot_file"]).read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    data: dict[str, Any] = copy.deepcopy(case["snapshot"])
    return data


def _snapshot_path(case: dict[str, Any], tmp_path: Path) -> Path:
    if "snapshot_file" in case:
        return ROOT / str(case["snapshot_file"])
    path = tmp_path / f"{case['id']}.json"
    path.write_text(json.dumps(case["snapshot"]), encoding="utf-8")
    return path


def _args(case: dict[str, Any], snapshot: Path) -> list[str]:
    args = ["preflight", "--snapshot", str(snapshot), "--queue", case["args"]["queue"]]
    for option in ("consumer", "producer", "source_arn"):
        if option in case["args"]:
            args += [f"--{option.replace('_', '-')}", case["args"][option]]
    if "actions" in case["args"]:
        args += ["--actions", ",".join(case["args"]["actions"])]
    return args


def _run(capsys: pytest.CaptureFixture[str], case: dict[str, Any], tmp_path: Path) -> tuple[int, dict[str, Any]]:
    run = run_cli(capsys, *_args(case, _snapshot_path(case, tmp_path)), "--format", "json")
    assert run.err == "", run.err
    return run.code, json.loads(run.out)


def _by_account(changes: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        out.setdefault(change["account"], []).append(change)
    return out


def _match_changes(actual: list[dict[str, Any]], expected: dict[str, list[dict[str, Any]]]) -> None:
    grouped = _by_account(actual)
    assert sorted(grouped) == sorted(expected), (sorted(grouped), sorted(expected))
    for account, wanted in expected.items():
        got = grouped[account]
        assert len(got) == len(wanted), (account, [(c["layer"], c["kind"]) for c in got])
        for g, w in zip(got, wanted, strict=True):
            for field, value in w.items():
                assert g.get(field) == value, (account, field, g.get(field), value)


# --------------------------------------------------------------------------- applying the printed documents


def _apply(data: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any]:
    """Write the documents the output prints into a copy of the snapshot JSON, as an administrator would."""
    data = copy.deepcopy(data)
    for change in changes:
        layer, kind, resource, document = (
            change["layer"],
            change["kind"],
            change.get("resource"),
            change.get("document"),
        )
        if layer == "resource-policy":
            queue = next(q for q in data["queues"] if q["arn"] == resource)
            queue["attributes"]["Policy"] = json.dumps(document)
        elif layer == "key-policy" and kind == "create-key":
            data["keys"].append(
                {
                    "arn": resource,
                    "aliases": [],
                    "manager": "CUSTOMER",
                    "state": "Enabled",
                    "spec": "SYMMETRIC_DEFAULT",
                    "usage": "ENCRYPT_DECRYPT",
                    "policy": document,
                    "grants": [],
                }
            )
        elif layer == "key-policy":
            key = next(k for k in data["keys"] if k["arn"] == resource)
            key["policy"] = document
        elif layer == "queue" and kind == "set-queue-attributes":
            queue = next(q for q in data["queues"] if q["arn"] == resource)
            queue["attributes"].update(document)
        elif layer == "identity-policy":
            principal = next((p for p in data["principals"] if p["arn"] == resource), None)
            if principal is None:
                principal = {"arn": resource, "type": "role", "tags": {}, "policies": []}
                data["principals"].append(principal)
            principal["policies"].append({"name": "from-preflight", "source": "inline", "document": document})
        else:
            raise AssertionError(f"no way to apply {layer}/{kind} in this test")
    return data


def _all_allowed(data: dict[str, Any], out: dict[str, Any]) -> list[tuple[str, str]]:
    snapshot = from_json(data, "applied")
    subject = out["subject"]
    context: dict[str, tuple[str, ...]] = {}
    if subject["source_arn"]:
        context["aws:sourcearn"] = (subject["source_arn"],)
        context["aws:sourceaccount"] = (subject["source_arn"].split(":")[4],)
    decisions = []
    for action in out["actions"]:
        verdict = diagnose(snapshot, Query(out["queue"]["arn"], subject["evaluated_as"], parse_action(action), context))
        decisions.append((action, verdict.decision.value))
    return decisions


# --------------------------------------------------------------------------- the cases


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(capsys: pytest.CaptureFixture[str], tmp_path: Path, path: Path) -> None:
    case = _case(path)
    expect = case["expect"]
    code, out = _run(capsys, case, tmp_path)
    assert (code, out["status"]) == (expect["exit"], expect["status"])
    assert {b["action"]: b["decision"] for b in out["before"]} == expect["before"]
    assert (out["cannot_work"] is not None) == expect["cannot_work"]
    if expect["changes"] is None:
        assert out["change_set"] is None
    else:
        assert out["change_set"] is not None
        assert out["change_set"]["verified"] == expect["verified"]
        _match_changes(out["change_set"]["changes"], expect["changes"])
        # Every side's list of changes is the change set's, split by account.
        per_side = [c for side in out["sides"] for c in side["changes"]]
        assert sorted(json.dumps(c, sort_keys=True) for c in per_side) == sorted(
            json.dumps(c, sort_keys=True) for c in out["change_set"]["changes"]
        )
    for i, alt in enumerate(expect.get("alternatives", [])):
        got = out["alternatives"][i]
        assert (got["title"], got["verified"]) == (alt["title"], alt["verified"])
        _match_changes(got["changes"], alt["changes"])
    assert len(out["alternatives"]) == len(expect.get("alternatives", []))
    for needle in expect.get("warnings", []):
        assert any(needle in w for w in out["warnings"]), (needle, out["warnings"])
    unfixable: list[str] = (out["change_set"] or {}).get("unfixable", [])
    for needle in expect.get("unfixable", []):
        assert any(needle in u for u in unfixable), (needle, unfixable)
    verified_line = "verified: the call succeeds after these changes"
    assert out["verification"].startswith(verified_line) == (expect["status"] == "changes-needed")


@pytest.mark.parametrize("path", APPLY, ids=[p.stem for p in APPLY])
def test_applying_the_printed_documents_makes_every_action_succeed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, path: Path
) -> None:
    case = _case(path)
    _, out = _run(capsys, case, tmp_path)
    sets = ([out["change_set"]] if out["change_set"] else []) + out["alternatives"]
    verified = [s for s in sets if s["verified"]]
    assert verified and len(verified) == len(sets)
    for change_set in verified:
        data = _apply(_snapshot_data(case), change_set["changes"])
        decisions = _all_allowed(data, out)
        assert decisions == [(a, "allowed") for a in out["actions"]], (change_set["title"], decisions)
        assert [(a["action"], a["decision"]) for a in change_set["after"]] == decisions


def test_the_original_snapshot_is_still_denied_without_the_changes(tmp_path: Path) -> None:
    """The proof above is not vacuous: the same check on the unchanged snapshot fails."""
    case = _case(ROOT / "tests" / "cases" / "preflight" / "cmk-third-account.json")
    data = _snapshot_data(case)
    data["principals"].append(
        {"arn": "arn:aws:iam::222222222222:role/preflight-consumer", "type": "role", "tags": {}, "policies": []}
    )
    out = {
        "subject": {"evaluated_as": "arn:aws:iam::222222222222:role/preflight-consumer", "source_arn": None},
        "actions": ["ReceiveMessage"],
        "queue": {"arn": "arn:aws:sqs:ap-northeast-1:111111111111:orders"},
    }
    assert _all_allowed(data, out) == [("ReceiveMessage", "denied")]


# --------------------------------------------------------------------------- behaviour beyond the case table


QUEUE2 = "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-customer"
QUEUE4 = "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-default"


def test_aws_managed_key_says_why_and_weighs_both_ways_out(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(
        capsys,
        "preflight",
        "-s",
        str(ARTICLE / "4-aws-sqs-key-cross-account.json"),
        "--queue",
        QUEUE4,
        "--consumer",
        "222222222222",
        "--format",
        "json",
    )
    out = json.loads(run.out)
    assert "alias/aws/sqs" in out["cannot_work"] and "kms:CallerAccount=111111111111" in out["cannot_work"]
    assert "S10" in out["cannot_work"]
    # No change anywhere edits the AWS managed key's policy.
    managed = out["queue"]["key_arn"]
    assert all(c.get("resource") != managed for alt in out["alternatives"] for c in alt["changes"])
    sse_sqs, cmk = out["alternatives"]
    assert any("CloudTrail" in t for t in sse_sqs["trade_offs"])
    assert any("one layer" in t for t in sse_sqs["trade_offs"])
    assert any("two layers" in t and "encryption context" in t for t in cmk["trade_offs"])
    assert any("KmsDataKeyReusePeriodSeconds=300" in t and "revocation" in t for t in cmk["trade_offs"])
    assert any("KMS requests" in t for t in cmk["trade_offs"])
    assert any("drain" in n for n in cmk["notes"]) and any("drain" in n for n in sse_sqs["notes"])
    create = cmk["changes"][0]
    assert create["kind"] == "create-key"
    assert create["document"]["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::111111111111:root"}


def test_actions_option_limits_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(
        capsys,
        "preflight",
        "-s",
        str(ARTICLE / "2-sse-kms-queue-policy-only.json"),
        "--queue",
        QUEUE2,
        "--consumer",
        CONSUMER,
        "--actions",
        "DeleteMessage,ChangeMessageVisibilityBatch",
        "--format",
        "json",
    )
    out = json.loads(run.out)
    assert run.code == 0 and out["status"] == "works"
    assert out["actions"] == ["DeleteMessage", "ChangeMessageVisibilityBatch"]  # no KMS call for these (S5)


def test_consumer_after_the_key_is_shared_works(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(
        capsys,
        "preflight",
        "-s",
        str(ARTICLE / "3-sse-kms-key-shared.json"),
        "--queue",
        QUEUE2,
        "--consumer",
        CONSUMER,
    )
    assert run.code == 0
    assert run.out.startswith("PREFLIGHT WORKS AS IS")
    assert "no change is needed" in run.out


def test_per_side_checks_name_what_passes_and_what_fails(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(
        capsys,
        "preflight",
        "-s",
        str(ARTICLE / "2-sse-kms-queue-policy-only.json"),
        "--queue",
        QUEUE2,
        "--consumer",
        CONSUMER,
        "--format",
        "json",
    )
    sides = {s["account"]: s for s in json.loads(run.out)["sides"]}
    owner, consumer = sides["111111111111"], sides["222222222222"]
    assert owner["roles"] == ["queue owner", "key owner"] and consumer["roles"] == ["consumer"]
    assert [(c["layer"], c["steps"]) for c in owner["failed"]] == [("key-policy", ["kms:Decrypt"])]
    assert owner["passed"][0]["layer"] == "resource-policy"
    assert "Sid 'AllowConsumerAccount'" in owner["passed"][0]["evidence"][0]
    assert [(c["layer"], c["steps"]) for c in consumer["failed"]] == [("identity-policy", ["kms:Decrypt"])]
    assert consumer["passed"][0]["steps"] == [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
    ]


def test_text_output_reads_top_down(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(
        capsys,
        "preflight",
        "-s",
        str(ARTICLE / "2-sse-kms-queue-policy-only.json"),
        "--queue",
        QUEUE2,
        "--consumer",
        "222222222222",
    )
    assert run.code == 1
    lines = run.out.splitlines()
    assert lines[0].startswith("PREFLIGHT CHANGES NEEDED")
    assert lines[1].startswith("verified: the call succeeds after these changes")
    out = run.out
    assert out.index("Account 111111111111 (queue owner, key owner)") < out.index("Account 222222222222 (consumer)")
    assert out.index("Account 222222222222") < out.index("Verification")
    assert '"kms:ViaService": "sqs.ap-northeast-1.amazonaws.com"' in out
    assert "the full document after the change" in out


def test_markdown_is_a_runbook_with_checkboxes(capsys: pytest.CaptureFixture[str]) -> None:
    run = run_cli(
        capsys,
        "preflight",
        "-s",
        str(ARTICLE / "4-aws-sqs-key-cross-account.json"),
        "--queue",
        QUEUE4,
        "--consumer",
        "222222222222",
        "--format",
        "markdown",
    )
    assert run.code == 1
    assert run.out.startswith("# PREFLIGHT CHANGES NEEDED")
    assert "## Why it cannot work as is" in run.out
    assert "### Way out 1: move the queue to SSE-SQS" in run.out
    assert "### Way out 2: re-encrypt with a new customer managed key" in run.out
    assert "- [ ] 1." in run.out and "```json" in run.out


# --------------------------------------------------------------------------- bad input


CASE2 = str(ARTICLE / "2-sse-kms-queue-policy-only.json")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "exactly one of --consumer or --producer"),
        (("--consumer", "222222222222", "--producer", "222222222222"), "exactly one of --consumer or --producer"),
        (("--consumer", "sns.amazonaws.com"), "--consumer"),
        (("--consumer", "consumer"), "--consumer"),
        (("--producer", "arn:aws:s3:::bucket"), "--producer"),
        (("--consumer", "222222222222", "--source-arn", "arn:aws:sns:ap-northeast-1:111111111111:t"), "--source-arn"),
        (("--producer", "sns.amazonaws.com", "--source-arn", "topic"), "--source-arn"),
        (("--consumer", "222222222222", "--actions", "ReceiveMessage,Fly"), "--actions 'Fly'"),
        (("--consumer", "222222222222", "--actions", " , "), "--actions"),
        (("--consumer", "222222222222", "--format", "dot"), "--format"),
    ],
)
def test_bad_arguments(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], needle: str) -> None:
    line = run_bad(capsys, "preflight", "-s", CASE2, "--queue", QUEUE2, *args)
    assert needle in line


def test_bad_queue_and_snapshot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    other = "arn:aws:sqs:ap-northeast-1:111111111111:other"
    line = run_bad(capsys, "preflight", "-s", CASE2, "--queue", other, "--consumer", "222222222222")
    assert "--queue" in line and "not in the snapshot" in line
    line = run_bad(capsys, "preflight", "-s", str(tmp_path / "nope.json"), "--queue", QUEUE2, "--consumer", CONSUMER)
    assert "nope.json" in line and "cannot read" in line
    line = run_bad(capsys, "preflight", "-s", CASE2, "--consumer", CONSUMER)
    assert "--queue" in line


def test_p3_a_session_of_a_role_with_a_path_is_named_by_the_role_arn_with_its_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = json.loads((ARTICLE / "2-sse-kms-queue-policy-only.json").read_text())
    data["principals"][0]["arn"] = "arn:aws:iam::222222222222:role/app/consumer"
    path = tmp_path / "path.json"
    path.write_text(json.dumps(data))
    run = run_cli(
        capsys,
        "preflight",
        "-s",
        str(path),
        "--queue",
        "arn:aws:sqs:ap-northeast-1:111111111111:hoge-sse-customer",
        "--consumer",
        "arn:aws:sts::222222222222:assumed-role/consumer/s1",
        "--format",
        "json",
    )
    out = json.loads(run.out)
    assert run.code == 1 and out["verified"] is True
    named = {json.dumps(c["statement"].get("Principal")) for c in out["change_set"]["changes"] if c.get("statement")}
    assert named == {json.dumps({"AWS": "arn:aws:iam::222222222222:role/app/consumer"})}
