"""The command line: options in, verdict out. Exit codes: 0 allowed, 1 denied, 3 inconclusive, 2 bad input."""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import click
import typer

from diagnose import __version__
from diagnose.arns import parse_queue
from diagnose.authz import Decision
from diagnose.policy import context_value_error
from diagnose.snapshot import Snapshot, load, merge, save
from diagnose.sqs import parse_action
from diagnose.verdict import Assumptions, Query

if TYPE_CHECKING:
    from diagnose.collect import Collection

app = typer.Typer(
    name="sqsdiag",
    help="Will this principal's call to this SQS queue succeed? If not: exactly why, and what to change.",
    no_args_is_help=True,
    epilog="Exit codes: 0 allowed, 1 denied, 3 inconclusive, 2 bad input or usage, 70 internal error (a bug).",
    pretty_exceptions_enable=False,
    add_completion=False,
)

EXIT = {Decision.ALLOWED: 0, Decision.DENIED: 1, Decision.INCONCLUSIVE: 3}


class Format(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    mermaid = "mermaid"
    dot = "dot"
    graph_json = "graph-json"


class MessageStyle(str, Enum):
    current = "current"
    legacy = "legacy"


class PendingDeletionCode(str, Enum):
    invalid_state = "KMS.InvalidStateException"
    disabled = "KMS.DisabledException"


class KeyStateFirst(str, Enum):
    auto = "auto"
    state = "state"
    authorization = "authorization"


# --------------------------------------------------------------------------- shared options

SnapshotOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--snapshot",
        "-s",
        help="Snapshot file (repeatable; halves of the world merge). Without it, the world is collected live from AWS.",
    ),
]
ProfileOpt = Annotated[str | None, typer.Option(help="AWS profile for every account (default credential chain).")]
RegionOpt = Annotated[str | None, typer.Option(help="AWS Region (needed for emulator queue URLs).")]
EndpointOpt = Annotated[str | None, typer.Option("--endpoint-url", help="Endpoint URL, e.g. a local emulator.")]
AccountProfileOpt = Annotated[
    list[str] | None,
    typer.Option("--account-profile", help="ACCOUNT_ID=PROFILE: credentials for one account (repeatable)."),
]
AssumeRoleOpt = Annotated[
    str | None, typer.Option("--assume-role-name", help="Role name to assume in each account to read it.")
]
ConnectTimeoutOpt = Annotated[
    float, typer.Option("--cli-connect-timeout", help="Seconds to wait for a connection to AWS (default 5).")
]
ReadTimeoutOpt = Annotated[
    float, typer.Option("--cli-read-timeout", help="Seconds to wait for each AWS response (default 15).")
]
ContextOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--context",
        "-c",
        help="KEY=VALUE request context, e.g. aws:SourceVpce=vpce-1 (repeatable; repeat a key for several values).",
    ),
]
AbsentOpt = Annotated[
    list[str] | None,
    typer.Option("--absent", help="Context key known to be absent from the request (repeatable)."),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="List each AWS call and its outcome.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress output on stderr.")]

# The assumptions where AWS's behaviour is undocumented (verdict.Assumptions), shared by the commands that
# evaluate calls; build them with _assumptions().
MessageStyleOpt = Annotated[MessageStyle, typer.Option(help="Error text: current or legacy format (X4, X6).")]
PendingDeletionCodeOpt = Annotated[
    PendingDeletionCode, typer.Option(help="Code for a key pending deletion (K8, UNVERIFIED).")
]
KeyStateFirstOpt = Annotated[
    KeyStateFirst,
    typer.Option(help="Which error wins when the key state and the authorization both fail (UNVERIFIED)."),
]
FasSourceIpOpt = Annotated[
    str | None,
    typer.Option(help="Assume the caller's IP is seen on the SQS→KMS hop (default: it is not, C7)."),
]
CrossAccountGrantNeedsIamOpt = Annotated[
    bool, typer.Option(help="Assume a cross-account grantee also needs an IAM allow (K7, UNVERIFIED).")
]
AssumeEmptyQueueOpt = Annotated[bool, typer.Option(help="ReceiveMessage on an empty queue (S9).")]


def _fail(message: str) -> typer.Exit:
    from diagnose.policy.parse import clip

    # one line, whatever the input held (a key with a newline in it, say)
    typer.echo(f"sqsdiag: error: {clip(message, 1000)}", err=True)
    return typer.Exit(2)


def _pairs(values: list[str] | None, option: str) -> list[tuple[str, str]]:
    out = []
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{option} {item!r}: expected KEY=VALUE")
        out.append((key.strip(), value.strip()))
    return out


_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")


def _context(values: list[str] | None, absent: list[str] | None) -> dict[str, tuple[str, ...]]:
    """--context KEY=VALUE pairs, checked where the key's type is known (C5, C7).

    A typed key's value is checked by the condition operators' own parsers (``context_value_error``):
    what is accepted here is what a condition reads, never a value that silently matches nothing.
    """
    context: dict[str, tuple[str, ...]] = {}
    for key, value in _pairs(values, "--context"):
        lower = key.lower()
        if ":" not in key:
            raise ValueError(f"--context {key!r}: a condition key looks like aws:SourceVpce or kms:ViaService")
        if not value:
            raise ValueError(f"--context {key}: give a value (to say the key is absent, use --absent {key})")
        error = context_value_error(key, value)
        if error is not None:
            raise ValueError(f"--context {key}={value}: {error}")
        context[lower] = (*context.get(lower, ()), value)
    for key in absent or ():
        if key.lower() in context:
            raise ValueError(f"--absent {key}: the same key is given a value with --context")
    return context


def _load_snapshots(paths: list[Path]) -> Snapshot:
    return merge(load(p) for p in paths)


def _queue_arn(queue: str, region: str | None, snapshot: Snapshot | None) -> str:
    ref = parse_queue(queue)
    if ref.region is None and region is None and snapshot is not None:
        matches = [q.arn for q in snapshot.queues if q.account == ref.account and q.name == ref.name]
        if len(matches) == 1:
            return matches[0]
    return ref.arn(region)


@dataclass(frozen=True)
class Aws:
    """The AWS options every command shares, for live collection."""

    profile: str | None
    region: str | None
    endpoint_url: str | None
    account_profile: list[str] | None
    assume_role_name: str | None
    verbose: bool
    quiet: bool
    connect_timeout: float = 5.0
    read_timeout: float = 15.0


def _aws(
    *,
    profile: str | None,
    region: str | None,
    endpoint_url: str | None,
    account_profile: list[str] | None,
    assume_role_name: str | None,
    verbose: bool,
    quiet: bool,
    machine_output: bool = False,
    connect_timeout: float = 5.0,
    read_timeout: float = 15.0,
) -> Aws:
    """The AWS options of a command; progress output is off when stdout is for a program (JSON)."""
    return Aws(
        profile,
        region,
        endpoint_url,
        account_profile,
        assume_role_name,
        verbose,
        quiet or machine_output,
        connect_timeout,
        read_timeout,
    )


def _assumptions(
    *,
    message_style: MessageStyle,
    pending_deletion_code: PendingDeletionCode,
    key_state_first: KeyStateFirst,
    fas_source_ip: str | None,
    cross_account_grant_needs_iam: bool,
    assume_empty_queue: bool,
) -> Assumptions:
    """The assumption flags of a command; ``ValueError`` for a --fas-source-ip the conditions cannot read."""
    if fas_source_ip is not None and context_value_error("aws:SourceIp", fas_source_ip) is not None:
        # It becomes aws:SourceIp of the KMS call (C7): the same check as --context aws:SourceIp.
        raise ValueError(f"--fas-source-ip {fas_source_ip!r}: expected an IPv4 or IPv6 address")
    return Assumptions(
        message_style=message_style.value,
        pending_deletion_code=pending_deletion_code.value,
        key_state_first=key_state_first.value,
        fas_source_ip=fas_source_ip,
        cross_account_grant_needs_iam=cross_account_grant_needs_iam,
        queue_has_messages=not assume_empty_queue,
    )


def _collect(queue: str, principals: list[str], aws: Aws, vpc_endpoint: str | None = None) -> Collection:
    from diagnose.collect import collect

    options = _collect_options(aws)
    return _collecting(aws, lambda log: collect(queue, principals, options=options, vpc_endpoint=vpc_endpoint, log=log))


def _collect_options(aws: Aws) -> Any:
    from diagnose.collect import CollectOptions
    from diagnose.collect.options import check_endpoints, timeout_error

    # Before any client exists: an endpoint URL's query string would be signed and sent with every read.
    check_endpoints(aws.endpoint_url)
    for option, value in (("--cli-connect-timeout", aws.connect_timeout), ("--cli-read-timeout", aws.read_timeout)):
        problem = timeout_error(option, value)
        if problem:
            raise ValueError(problem)
    profiles = _pairs(aws.account_profile, "--account-profile")
    for account, _ in profiles:
        if not (account.isdigit() and len(account) == 12):
            raise ValueError(f"--account-profile {account!r}: expected a 12-digit account id before '='")
    return CollectOptions(
        region=aws.region,
        profile=aws.profile,
        endpoint_url=aws.endpoint_url,
        account_profiles=dict(profiles),
        assume_role_name=aws.assume_role_name,
        connect_timeout=aws.connect_timeout,
        read_timeout=aws.read_timeout,
    )


def _collecting(aws: Aws, run: Callable[[Callable[[str], None]], Collection]) -> Collection:
    """Run a collection with the progress lines the options ask for."""
    started = time.monotonic()

    def log(line: str) -> None:
        if aws.verbose:
            typer.echo(line, err=True)

    if not aws.quiet and not aws.verbose:
        typer.echo("collecting from AWS (read-only)…", err=True)
    result = run(log)
    if not aws.quiet:
        typer.echo(
            f"collected in {time.monotonic() - started:.2f} s ({result.calls} read calls); "
            f"{len(result.snapshot.gaps)} gap(s)",
            err=True,
        )
    return result


def _world(
    snapshot: list[Path] | None, queue: str, principals: list[str], aws: Aws, vpc_endpoint: str | None = None
) -> Snapshot:
    """The world to diagnose: the given snapshots merged, or collected live."""
    if snapshot:
        return _load_snapshots(snapshot)
    return _collect(queue, principals, aws, vpc_endpoint).snapshot


# --------------------------------------------------------------------------- why-denied


@app.command("why-denied")
def why_denied(
    queue: Annotated[str, typer.Option("--queue", help="Queue URL or ARN.")],
    principal: Annotated[
        str,
        typer.Option(
            "--principal",
            help="Role/user/session/root ARN, account id, or a service principal such as sns.amazonaws.com.",
        ),
    ],
    action: Annotated[
        str, typer.Option("--action", help="SQS action (batch actions map to their base).")
    ] = "ReceiveMessage",
    snapshot: SnapshotOpt = None,
    context: ContextOpt = None,
    absent: AbsentOpt = None,
    session_policy: Annotated[
        Path | None,
        typer.Option("--session-policy", help="The session policy the role session was created with (JSON file)."),
    ] = None,
    session_name: Annotated[str | None, typer.Option("--session-name", help="Session name for a role ARN.")] = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    message_style: MessageStyleOpt = MessageStyle.current,
    pending_deletion_code: PendingDeletionCodeOpt = PendingDeletionCode.invalid_state,
    key_state_first: KeyStateFirstOpt = KeyStateFirst.auto,
    fas_source_ip: FasSourceIpOpt = None,
    cross_account_grant_needs_iam: CrossAccountGrantNeedsIamOpt = False,
    assume_empty_queue: AssumeEmptyQueueOpt = False,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    endpoint_url: EndpointOpt = None,
    account_profile: AccountProfileOpt = None,
    assume_role_name: AssumeRoleOpt = None,
    connect_timeout: ConnectTimeoutOpt = 5.0,
    read_timeout: ReadTimeoutOpt = 15.0,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Will PRINCIPAL's call to QUEUE succeed? If not: the error it sees, every blocking layer, proven fixes."""
    from diagnose.api import why_denied

    try:
        ctx = _context(context, absent)
        assumptions = _assumptions(
            message_style=message_style,
            pending_deletion_code=pending_deletion_code,
            key_state_first=key_state_first,
            fas_source_ip=fas_source_ip,
            cross_account_grant_needs_iam=cross_account_grant_needs_iam,
            assume_empty_queue=assume_empty_queue,
        )
        if session_name is not None and not _SESSION_NAME.match(session_name):
            raise ValueError(f"--session-name {session_name!r}: 2-64 characters of letters, digits and +=,.@_-")
        policy_doc: Any = None
        if session_policy is not None:
            from diagnose.snapshot import decode_input, read_input

            # strict: a repeated key, NaN, a huge number or deep nesting is an error naming its path
            origin = f"--session-policy {session_policy}"
            policy_doc = decode_input(read_input(session_policy, "session policy"), origin)
            if not isinstance(policy_doc, dict):
                raise ValueError(f"--session-policy {session_policy}: expected a policy document (a JSON object)")
        parsed_action = parse_action(action)
        aws = _aws(
            profile=profile,
            region=region,
            endpoint_url=endpoint_url,
            account_profile=account_profile,
            assume_role_name=assume_role_name,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            verbose=verbose,
            quiet=quiet,
            machine_output=format is Format.json,
        )
        world = _world(snapshot, queue, [principal], aws, ctx.get("aws:sourcevpce", (None,))[0])
        query = Query(
            queue_arn=_queue_arn(queue, region, world),
            principal=principal,
            action=parsed_action,
            context=ctx,
            absent=frozenset(k.lower() for k in absent or ()),
            session_policy=policy_doc,
            session_name=session_name,
        )
        answer = why_denied(world, query, assumptions)
        verdict, fixes = answer.verdict, answer.remedy
    except ValueError as err:
        raise _fail(str(err)) from None
    typer.echo(_render(verdict, fixes, format), nl=False)
    raise typer.Exit(EXIT[verdict.decision])


def _render(verdict: Any, fixes: Any, format: Format) -> str:
    if format is Format.json:
        from diagnose.render.json_out import verdict_json

        return json.dumps(verdict_json(verdict, fixes), indent=2) + "\n"
    if format in (Format.mermaid, Format.dot, Format.graph_json):
        from diagnose.graph import build_graph, explanation
        from diagnose.render.graph_out import to_dot, to_json, to_mermaid

        graph = build_graph(verdict)
        if format is Format.graph_json:
            return json.dumps({**to_json(graph), "explanation": explanation(graph, verdict)}, indent=2) + "\n"
        return to_mermaid(graph) if format is Format.mermaid else to_dot(graph)
    from diagnose.render.text import render_markdown, render_text

    return render_markdown(verdict, fixes) if format is Format.markdown else render_text(verdict, fixes)


# --------------------------------------------------------------------------- collect


def _check_output(path: Path, force: bool) -> None:
    """``ValueError`` unless ``path`` can be written as a new snapshot file (or, with ``force``, replace one)."""
    import os

    parent = path.parent
    if not parent.is_dir():
        raise ValueError(f"--output {path}: cannot write (directory {parent} does not exist)")
    if path.is_symlink():
        raise ValueError(f"--output {path}: is a symbolic link (refused, even with --force)")
    if path.exists():
        if not path.is_file():
            raise ValueError(f"--output {path}: not a regular file")
        if not force:
            raise ValueError(f"--output {path}: file exists (use --force to overwrite)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"--output {path}: cannot write (no write access to directory {parent})")


def _write_private(path: Path, snap: Snapshot, metadata: Any, *, force: bool) -> None:
    """Write the snapshot to ``path`` as a new file of mode 0600, never through a symlink.

    It is written to a fresh temporary file beside ``path`` (``mkstemp``: O_EXCL, mode 0600), then linked
    in: without ``force`` by a hard link, which fails if anything (a file, a dangling symlink) is at
    ``path``; with ``force`` by a rename, which replaces a regular file, or a symlink put there since the
    check, but never writes to its target.
    """
    import os
    import tempfile

    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        os.fchmod(fd, 0o600)
        os.close(fd)
        save(snap, tmp, metadata)
        if force:
            if path.is_symlink():
                raise ValueError(f"--output {path}: is a symbolic link (refused, even with --force)")
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise ValueError(f"--output {path}: file exists (use --force to overwrite)") from None
        except OSError:  # no hard links on this file system: an exclusive create, which refuses symlinks too
            try:
                out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            except FileExistsError:
                raise ValueError(f"--output {path}: file exists (use --force to overwrite)") from None
            with os.fdopen(out, "wb") as handle:
                handle.write(tmp.read_bytes())
    finally:
        tmp.unlink(missing_ok=True)


@app.command("collect")
def collect(
    queue: Annotated[str, typer.Option("--queue", help="Queue URL or ARN.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the snapshot (JSON).")],
    principal: Annotated[
        list[str] | None, typer.Option("--principal", help="Principal to collect (repeatable).")
    ] = None,
    vpc_endpoint: Annotated[str | None, typer.Option("--vpc-endpoint", help="VPC endpoint id to collect.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUTPUT if it exists.")] = False,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    endpoint_url: EndpointOpt = None,
    account_profile: AccountProfileOpt = None,
    assume_role_name: AssumeRoleOpt = None,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
    connect_timeout: ConnectTimeoutOpt = 5.0,
    read_timeout: ReadTimeoutOpt = 15.0,
) -> None:
    """Collect what this side can read into a snapshot file (read-only AWS calls only)."""
    try:
        _check_output(output, force)  # before collecting: a bad path is known now, not after every read
        aws = _aws(
            profile=profile,
            region=region,
            endpoint_url=endpoint_url,
            account_profile=account_profile,
            assume_role_name=assume_role_name,
            verbose=verbose,
            quiet=quiet,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        result = _collect(queue, list(principal or []), aws, vpc_endpoint)
        snap = result.snapshot
        try:
            _write_private(output, snap, result.metadata(), force=force)
        except OSError as err:
            raise ValueError(f"--output {output}: cannot write ({err.strerror or err})") from None
    except (ValueError, OSError) as err:
        raise _fail(str(err)) from None
    if not quiet:
        typer.echo(
            f"wrote {output}: {len(snap.queues)} queue(s), {len(snap.keys)} key(s), "
            f"{len(snap.principals)} principal(s), {len(snap.gaps)} gap(s)",
            err=True,
        )
        for gap in snap.gaps:
            who = f" (ask account {gap.account} to run `sqsdiag collect` and send the file)" if gap.account else ""
            typer.echo(f"  gap: {gap.layer} {gap.resource}: {gap.operation} {gap.error}{who}", err=True)


# --------------------------------------------------------------------------- preflight, who-can


class PreflightFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"
    sarif = "sarif"  # with --template / --terraform-plan


class WhoCanFormat(str, Enum):
    text = "text"
    json = "json"


@app.command("preflight")
def preflight_command(
    queue: Annotated[
        str | None, typer.Option("--queue", help="Queue URL or ARN (not with --template / --terraform-plan).")
    ] = None,
    consumer: Annotated[
        str | None,
        typer.Option("--consumer", help="Account id or principal ARN that will receive from the queue."),
    ] = None,
    producer: Annotated[
        str | None,
        typer.Option(
            "--producer",
            help="Account id, principal ARN or service principal (e.g. sns.amazonaws.com) that will send.",
        ),
    ] = None,
    actions: Annotated[
        str | None,
        typer.Option(
            "--actions",
            help="Comma-separated SQS actions (default: ReceiveMessage,DeleteMessage,ChangeMessageVisibility,"
            "GetQueueAttributes for a consumer, SendMessage for a producer).",
        ),
    ] = None,
    source_arn: Annotated[
        str | None,
        typer.Option("--source-arn", help="For a service producer: the topic, bucket or rule ARN that sends."),
    ] = None,
    template: Annotated[
        list[Path] | None,
        typer.Option(
            "--template", help="CloudFormation/SAM template (JSON or YAML, repeatable) or a cdk.out directory."
        ),
    ] = None,
    template_parameter: Annotated[
        list[str] | None, typer.Option("--template-parameter", help="KEY=VALUE for a template parameter.")
    ] = None,
    terraform_plan: Annotated[
        list[Path] | None, typer.Option("--terraform-plan", help="The JSON of 'terraform show -json PLAN'.")
    ] = None,
    account: Annotated[
        str | None, typer.Option("--account", help="Account the code deploys to (AWS::AccountId).")
    ] = None,
    snapshot: SnapshotOpt = None,
    format: Annotated[PreflightFormat, typer.Option("--format", "-f")] = PreflightFormat.text,
    message_style: MessageStyleOpt = MessageStyle.current,
    pending_deletion_code: PendingDeletionCodeOpt = PendingDeletionCode.invalid_state,
    key_state_first: KeyStateFirstOpt = KeyStateFirst.auto,
    fas_source_ip: FasSourceIpOpt = None,
    cross_account_grant_needs_iam: CrossAccountGrantNeedsIamOpt = False,
    assume_empty_queue: AssumeEmptyQueueOpt = False,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    endpoint_url: EndpointOpt = None,
    account_profile: AccountProfileOpt = None,
    assume_role_name: AssumeRoleOpt = None,
    connect_timeout: ConnectTimeoutOpt = 5.0,
    read_timeout: ReadTimeoutOpt = 15.0,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Before sharing QUEUE: what breaks, per account, and the exact statements to add, proven on a copy.

    Exit codes: 0 works as is, 1 changes needed (and a verified change set is shown), 3 inconclusive, 2 bad input.
    """
    from diagnose.api import preflight
    from diagnose.render.preflight_out import preflight_json, render_preflight_markdown, render_preflight_text
    from diagnose.subject import subject_of

    aws = _aws(
        profile=profile,
        region=region,
        endpoint_url=endpoint_url,
        account_profile=account_profile,
        assume_role_name=assume_role_name,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        verbose=verbose,
        quiet=quiet,
        machine_output=format in (PreflightFormat.json, PreflightFormat.sarif),
    )
    if template or terraform_plan:
        _code_preflight(
            template or [],
            terraform_plan or [],
            _pairs(template_parameter, "--template-parameter"),
            account,
            snapshot,
            format,
            aws,
            given=[o for o, v in (("--queue", queue), ("--consumer", consumer), ("--producer", producer)) if v],
            assumptions=_assumptions(
                message_style=message_style,
                pending_deletion_code=pending_deletion_code,
                key_state_first=key_state_first,
                fas_source_ip=fas_source_ip,
                cross_account_grant_needs_iam=cross_account_grant_needs_iam,
                assume_empty_queue=assume_empty_queue,
            ),
        )
    try:
        if queue is None:
            raise ValueError("give --queue (or --template / --terraform-plan)")
        if format is PreflightFormat.sarif:
            raise ValueError("--format sarif applies to --template and --terraform-plan")
        if (consumer is None) == (producer is None):
            raise ValueError("give exactly one of --consumer or --producer")
        role: Literal["consumer", "producer"] = "consumer" if consumer is not None else "producer"
        subject = subject_of(consumer or producer or "", role, source_arn, parse_queue(queue).partition)
        parsed = None
        if actions is not None:
            names = [a.strip() for a in actions.split(",") if a.strip()]
            if not names:
                raise ValueError("--actions: give at least one SQS action, e.g. ReceiveMessage,DeleteMessage")
            parsed_list = []
            for name in names:
                try:
                    parsed_list.append(parse_action(name))
                except ValueError:
                    raise ValueError(
                        f"--actions {name!r} is not an SQS action (e.g. ReceiveMessage,DeleteMessage)"
                    ) from None
            parsed = tuple({a.api: a for a in parsed_list}.values())
        assumptions = _assumptions(
            message_style=message_style,
            pending_deletion_code=pending_deletion_code,
            key_state_first=key_state_first,
            fas_source_ip=fas_source_ip,
            cross_account_grant_needs_iam=cross_account_grant_needs_iam,
            assume_empty_queue=assume_empty_queue,
        )
        world = _world(snapshot, queue, [subject.given] if subject.kind != "service" else [], aws)
        result = preflight(world, _queue_arn(queue, region, world), subject, parsed, assumptions=assumptions)
    except ValueError as err:
        raise _fail(str(err)) from None
    if format is PreflightFormat.json:
        typer.echo(json.dumps(preflight_json(result), indent=2))
    elif format is PreflightFormat.markdown:
        typer.echo(render_preflight_markdown(result), nl=False)
    else:
        typer.echo(render_preflight_text(result), nl=False)
    raise typer.Exit(result.exit_code)


def _code_preflight(
    templates: list[Path],
    plans: list[Path],
    parameters: list[tuple[str, str]],
    account: str | None,
    snapshot: list[Path] | None,
    format: PreflightFormat,
    aws: Aws,
    *,
    given: list[str],
    assumptions: Any,
) -> None:
    from diagnose.cli_code import code_preflight, read_sources, render, what_exists

    try:
        if given:
            raise ValueError(f"{given[0]}: the checks come from the code; not with --template / --terraform-plan")
        if format is PreflightFormat.markdown:
            raise ValueError("--format markdown: use text, json or sarif with --template / --terraform-plan")
        planned = read_sources(templates, plans, parameters, account, aws.region)
        if snapshot:
            base = _load_snapshots(snapshot)
        else:
            from diagnose.collect import collect_world

            # live: what the code refers to but does not declare, and every account it involves
            queues, principals, accounts, partition = what_exists(planned)
            options = _collect_options(aws)
            base = _collecting(
                aws,
                lambda log: collect_world(
                    queues, principals, accounts=accounts, partition=partition, options=options, log=log
                ),
            ).snapshot
        result = code_preflight(base, planned, assumptions)
    except ValueError as err:
        raise _fail(str(err)) from None
    typer.echo(render(result, format.value), nl=False)
    raise typer.Exit(result.exit_code)


@app.command("who-can")
def who_can_command(
    queue: Annotated[str, typer.Option("--queue", help="Queue URL or ARN.")],
    action: Annotated[
        str, typer.Option("--action", help="SQS action (batch actions map to their base).")
    ] = "ReceiveMessage",
    snapshot: SnapshotOpt = None,
    format: Annotated[WhoCanFormat, typer.Option("--format", "-f")] = WhoCanFormat.text,
    message_style: MessageStyleOpt = MessageStyle.current,
    pending_deletion_code: PendingDeletionCodeOpt = PendingDeletionCode.invalid_state,
    key_state_first: KeyStateFirstOpt = KeyStateFirst.auto,
    fas_source_ip: FasSourceIpOpt = None,
    cross_account_grant_needs_iam: CrossAccountGrantNeedsIamOpt = False,
    assume_empty_queue: AssumeEmptyQueueOpt = False,
    profile: ProfileOpt = None,
    region: RegionOpt = None,
    endpoint_url: EndpointOpt = None,
    account_profile: AccountProfileOpt = None,
    assume_role_name: AssumeRoleOpt = None,
    connect_timeout: ConnectTimeoutOpt = 5.0,
    read_timeout: ReadTimeoutOpt = 15.0,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Every principal, account and service that can perform ACTION on QUEUE end to end (SQS and KMS).

    Those that pass the SQS step but fail at KMS, and the inconclusive ones, are listed apart. Exit code 0
    (2 for bad input).
    """
    from diagnose.api import who_can
    from diagnose.render.whocan_out import render_whocan_text, whocan_json

    try:
        parsed_action = parse_action(action)
        assumptions = _assumptions(
            message_style=message_style,
            pending_deletion_code=pending_deletion_code,
            key_state_first=key_state_first,
            fas_source_ip=fas_source_ip,
            cross_account_grant_needs_iam=cross_account_grant_needs_iam,
            assume_empty_queue=assume_empty_queue,
        )
        aws = _aws(
            profile=profile,
            region=region,
            endpoint_url=endpoint_url,
            account_profile=account_profile,
            assume_role_name=assume_role_name,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            verbose=verbose,
            quiet=quiet,
            machine_output=format is WhoCanFormat.json,
        )
        world = _world(snapshot, queue, [], aws)
        result = who_can(world, _queue_arn(queue, region, world), parsed_action, assumptions=assumptions)
    except ValueError as err:
        raise _fail(str(err)) from None
    if format is WhoCanFormat.json:
        typer.echo(json.dumps(whocan_json(result), indent=2))
    else:
        typer.echo(render_whocan_text(result), nl=False)


@app.command("version")
def version() -> None:
    """Print the version."""
    typer.echo(f"sqsdiag {__version__}")


# Newer typer versions vendor click: accept either family of usage errors.
_CLI_ERRORS: tuple[type[Exception], ...] = (
    click.ClickException,
    *((typer.TyperException,) if hasattr(typer, "TyperException") else ()),
)
_ABORTS: tuple[type[BaseException], ...] = (click.exceptions.Abort, typer.Abort, KeyboardInterrupt)


EX_SOFTWARE = 70  # an unexpected exception: a bug in sqsdiag, never a verdict (sysexits.h)


def _debug() -> bool:
    """A traceback is shown for an internal error with -v/--verbose or SQSDIAG_DEBUG=1."""
    args = sys.argv[1:]
    return "-v" in args or "--verbose" in args or os.environ.get("SQSDIAG_DEBUG", "") not in ("", "0")


def _repeated_option(group: click.Command, argv: list[str]) -> str | None:
    """A single-valued option given twice: click would keep the last one silently."""
    command = group.commands.get(argv[0]) if argv and isinstance(group, click.Group) else None
    if command is None:
        return None
    single = {
        opt: param.name or opt
        for param in command.params
        if isinstance(param, click.Option) and not param.multiple
        for opt in (*param.opts, *param.secondary_opts)
    }
    seen: set[str] = set()
    expects_value = False
    for token in argv[1:]:
        if token == "--":
            break
        if expects_value:  # the value of the option before it, whatever it looks like
            expects_value = False
            continue
        name = token.split("=", 1)[0]
        if name in single:
            if single[name] in seen:
                return name
            seen.add(single[name])
            param = next(p for p in command.params if name in (*p.opts, *p.secondary_opts))
            expects_value = "=" not in token and not (isinstance(param, click.Option) and param.is_flag)
    return None


def main() -> None:
    """Console entry point: one line on stderr and exit 2 for any usage error, exit 70 with one line for an
    internal error (a bug); a traceback only for the latter and only when asked for."""
    try:
        cli = typer.main.get_command(app)  # built once: checked here, then run
        repeated = _repeated_option(cli, sys.argv[1:])
        if repeated is not None:
            typer.echo(f"sqsdiag: error: {repeated} is given twice; it takes one value", err=True)
            sys.exit(2)
        code = cli.main(standalone_mode=False)
    except _ABORTS:
        sys.exit(130)
    except _CLI_ERRORS as err:
        message = err.format_message() if hasattr(err, "format_message") else str(err)
        ctx = getattr(err, "ctx", None)
        no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())
        if (no_args and isinstance(err, no_args)) or not message.strip():
            # no arguments: the usage and the commands (rich help has printed itself already)
            if message.strip():
                typer.echo(message, err=True)
            sys.exit(2)
        hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
        typer.echo(f"sqsdiag: error: {message}{hint}", err=True)
        sys.exit(2)
    except Exception as err:  # anything else is a bug: its own exit code, never read as "denied"
        if _debug():
            traceback.print_exc()
        try:
            detail = " ".join(str(err).split())
        except Exception:  # an exception that cannot even say what it is
            detail = ""
        detail = detail if len(detail) <= 100 else detail[:99] + "…"
        typer.echo(
            f"sqsdiag: internal error ({type(err).__name__}{': ' + detail if detail else ''}): this is a bug in "
            "sqsdiag, not a verdict; please report it to the sqsdiag maintainers with the command line and input"
            + ("" if _debug() else " (rerun with -v or SQSDIAG_DEBUG=1 for the traceback)"),
            err=True,
        )
        sys.exit(EX_SOFTWARE)
    sys.exit(code if isinstance(code, int) else 0)
