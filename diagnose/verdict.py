"""why-denied: the whole chain for one SQS call — transport, the SQS action, then the KMS calls SQS makes
as the caller — combined into one verdict with the caller's error, every blocking layer and the unknowns.

The recipe is reference section 12; each step is decided by ``diagnose.authz.authorize``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from diagnose.arns import ACCOUNT_RE
from diagnose.authz import (
    AuthzInput,
    Blocking,
    Decision,
    Docs,
    Evidence,
    Fact,
    Layer,
    OrgLevels,
    Outcome,
    StepResult,
    authorize,
    authorize_facts,
)
from diagnose.authz.explain import near_misses
from diagnose.docref import EndpointPolicy, PolicyRef, SessionPolicy
from diagnose.errors import (
    CallerError,
    invalid_security,
    key_not_found,
    key_state_error,
    key_usage_error,
    kms_access_denied,
    sqs_access_denied,
)
from diagnose.managed_keys import is_aws_managed
from diagnose.policy import (
    Caller,
    PolicyKind,
    PrincipalType,
    Request,
    RequestContext,
    derive_context,
)
from diagnose.policy.parse import decode_json
from diagnose.snapshot import Key, Principal, Queue, Snapshot
from diagnose.sqs import (
    NO_CROSS_ACCOUNT,
    Action,
    Encryption,
    KeyResolution,
    encryption_of,
    fas_context,
    resolve_key,
)
from diagnose.world import World

SCHEMA_VERSION = "1"


@dataclass(frozen=True)
class Assumptions:
    """Choices where AWS's behaviour is UNVERIFIED (reference section 14); each is overridable."""

    message_style: Literal["current", "legacy"] = "current"  # X4, X6
    pending_deletion_code: str = "KMS.InvalidStateException"  # K8
    key_state_first: Literal["auto", "state", "authorization"] = "auto"  # section 12 step 4
    fas_source_ip: str | None = None  # C7: None = the caller IP is not seen on the KMS hop
    cross_account_grant_needs_iam: bool = False  # K7
    queue_has_messages: bool = True  # S9: an empty ReceiveMessage may never call KMS


@dataclass(frozen=True)
class Query:
    queue_arn: str
    principal: str
    action: Action
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # given by the user, lower-case keys
    absent: frozenset[str] = frozenset()  # keys the user declares absent
    session_policy: dict[str, Any] | None = None  # the JSON document passed to AssumeRole
    session_name: str | None = None


@dataclass(frozen=True)
class BlockingEntry:
    step: str
    block: Blocking
    reached: bool
    resource: str = ""  # the queue or key the step acts on


@dataclass(frozen=True, kw_only=True)
class Verdict:
    decision: Decision
    query: Query
    caller: Caller
    queue: Queue
    encryption: Encryption
    key: KeyResolution | None
    steps: tuple[StepResult, ...]
    error: CallerError | None
    blocking: tuple[BlockingEntry, ...]
    unknowns: tuple[str, ...]
    notes: tuple[str, ...]
    assumptions: tuple[str, ...]
    delivery_side: bool = False  # a service principal's failure is invisible to the publisher (X8)
    locations: Mapping[str, PolicyRef] = field(default_factory=dict)  # document origin -> where it lives


class QueryError(ValueError):
    """The question cannot be asked of this snapshot (queue or principal missing, bad document)."""


def source_keys(query: Query) -> dict[str, tuple[str, ...]]:
    """aws:SourceArn / aws:SourceAccount of a service's call, as given; the account is read off the source
    ARN when only the ARN is given and it names one (C7: both are present when a service acts for a resource;
    an S3 bucket ARN names no account)."""
    out = {k: v for k, v in query.context.items() if k in ("aws:sourcearn", "aws:sourceaccount")}
    if "aws:sourcearn" in out and "aws:sourceaccount" not in out and "aws:sourceaccount" not in query.absent:
        parts = out["aws:sourcearn"][0].split(":")
        if len(parts) > 4 and ACCOUNT_RE.match(parts[4]):
            out["aws:sourceaccount"] = (parts[4],)
    return out


def _sqs_context(query: Query, caller: Caller, now: float) -> tuple[RequestContext, list[str]]:
    values: dict[str, tuple[str, ...]] = {
        "aws:currenttime": (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),),
        "aws:epochtime": (str(int(now)),),
        "aws:viaawsservice": ("false",),
    }
    absent = {"aws:calledvia", "aws:calledviafirst", "aws:calledvialast"}
    assumed: list[str] = []
    if "aws:securetransport" not in query.context:
        values["aws:securetransport"] = ("true",)
        assumed.append("the call uses HTTPS (aws:SecureTransport=true), as SDKs and the CLI do by default")
    if "aws:sourcevpce" not in query.context:
        absent |= {"aws:sourcevpce", "aws:sourcevpc", "aws:vpcsourceip"}
        assumed.append(
            "the call does not come through a VPC endpoint (give --context aws:SourceVpce=vpce-... if it does)"
        )
    elif "aws:sourceip" in query.context:
        raise QueryError("--context aws:SourceIp: a call through a VPC endpoint has no aws:SourceIp (C5, C7)")
    else:
        absent.add("aws:sourceip")  # C5/C7: absent through a VPC endpoint (aws:VpcSourceIp is present instead)
    if caller.type is not PrincipalType.SERVICE:
        # C7: aws:SourceArn/SourceAccount exist only when a service acts for a resource owner.
        absent |= {"aws:sourcearn", "aws:sourceaccount", "aws:sourceowner"} - set(query.context)
    values.update(query.context)
    if caller.type is PrincipalType.SERVICE:
        values.update(source_keys(query))
    absent = (absent | set(query.absent)) - set(values)
    given = RequestContext(values=values, absent=frozenset(absent), multi_valued=frozenset({"aws:calledvia"}))
    return derive_context(caller, given), assumed


def require_queue(snapshot: Snapshot, queue_arn: str) -> Queue:
    """The queue the question is about; a one-line QueryError naming what the snapshot has instead."""
    queue = snapshot.queue(queue_arn)
    if queue is None:
        known = ", ".join(q.arn for q in snapshot.queues) or "none"
        raise QueryError(f"--queue {queue_arn}: not in the snapshot (queues: {known})")
    return queue


def diagnose(
    snapshot: Snapshot,
    query: Query,
    assumptions: Assumptions = Assumptions(),
    world: World | None = None,
    now: float | None = None,
) -> Verdict:
    """The whole chain for one SQS call (reference section 12), each step decided by ``authorize``:

    1. the queue must be readable (else inconclusive, naming the read and who can make it);
    2. TLS and SigV4 on an SSE queue (N4) — a step of facts only;
    3. the SQS action as the caller (E1-E9, Q3);
    4. on SSE-KMS, the KMS calls SQS makes as the caller (S5, S6): resolve the key, then each operation
       with the forward-access context and the key's state as a fact (K8-K11);
    5. ReceiveMessage on a dead-letter queue also decrypts with its sources' keys (S5, S8).
    The first denied step that AWS reaches gives the caller's error; later steps are listed unreached.
    """
    world = world or World(snapshot)
    queue = snapshot.queue(query.queue_arn)
    queue_gaps = snapshot.gaps_for("queue", query.queue_arn) if queue is None else ()
    for gap in queue_gaps:
        if "NonExistentQueue" in gap.error or "QueueDoesNotExist" in gap.error:
            # Q9: read with the owner's credentials, the queue does not exist; the caller would see the same.
            raise QueryError(
                f"--queue {query.queue_arn}: no such queue in account {gap.account or '?'} ({gap.operation}: "
                f"{gap.error}); the caller would get AWS.SimpleQueueService.NonExistentQueue"
            )
    if queue_gaps:
        return _unreadable_queue(snapshot, query, world)
    queue = require_queue(snapshot, query.queue_arn)
    caller, principal = world.caller(query.principal, query.session_name)
    now = time.time() if now is None else now
    context, assumed = _sqs_context(query, caller, now)
    session = None
    if query.session_policy is not None:
        if caller.type is not PrincipalType.ROLE_SESSION and caller.type is not PrincipalType.FEDERATED_USER:
            raise QueryError("--session-policy applies only to role or federated-user sessions")
        session = Docs((world.parse(query.session_policy, "session policy", PolicyKind.SESSION, SessionPolicy()),))

    enc = encryption_of(queue)
    steps: list[StepResult] = []
    notes: list[str] = []
    errors: list[CallerError | None] = []
    operation = query.action.api
    legacy = assumptions.message_style == "legacy"

    # N4 / Q8: SSE queues need HTTPS and SigV4, whatever the policies say.
    if enc.mode != "none":
        insecure = context.values.get("aws:securetransport", ("true",))[0].lower() == "false"
        if insecure or caller.type is PrincipalType.ANONYMOUS:
            why = "the call is not over HTTPS" if insecure else "anonymous calls are not signed with SigV4"
            transport = Fact(
                Layer.TRANSPORT,
                Outcome.EXPLICIT_DENY,
                (Evidence("queue encryption", why),),
                f"SSE queues require HTTPS and SigV4 (N4); {why}",
            )
            steps.append(authorize_facts(query.action.iam, queue.arn, (transport,)))
            errors.append(invalid_security(operation))

    sqs_step = _sqs_step(world, query, caller, principal, queue, context, session)
    steps.append(sqs_step)
    errors.append(
        sqs_access_denied(sqs_step, caller.arn, operation, legacy, queue.url or queue.arn)
        if sqs_step.decision is Decision.DENIED
        else None
    )

    key_res: KeyResolution | None = None
    kms_ops = {"SendMessage": ("GenerateDataKey", "Decrypt"), "ReceiveMessage": ("Decrypt",)}.get(query.action.base, ())
    if enc.mode == "sse-kms" and kms_ops:
        assert enc.key_ref is not None
        key_res = resolve_key(snapshot, queue, enc.key_ref)
        notes.extend(key_res.notes)
        if query.action.base == "ReceiveMessage" and not assumptions.queue_has_messages:
            notes.append(
                "assuming the queue is empty: ReceiveMessage then returns no messages and calls no KMS "
                "operation (S9, UNVERIFIED)"
            )
        else:
            for op in kms_ops:
                step, err = _kms_step(world, op, query, caller, principal, queue, key_res, session, assumptions, now)
                steps.append(step)
                errors.append(err)
            if query.action.base == "ReceiveMessage":
                notes.append(
                    "ReceiveMessage calls kms:Decrypt only when messages are returned; on an empty queue "
                    "it succeeds (S9, UNVERIFIED). Messages encrypted under an older key need that key too (S8)"
                )
        notes.append(
            f"changes take effect after propagation (queue attributes up to 60 s, IAM eventually consistent, grants "
            f"up to 5 min) plus up to KmsDataKeyReusePeriodSeconds={enc.reuse_seconds} s for callers holding a "
            "cached data key (EC1-EC5, S7)"
        )
    elif enc.mode == "sse-sqs":
        notes.append("SSE-SQS: no KMS call and no KMS permission is involved (S1)")

    if query.action.base == "ReceiveMessage" and assumptions.queue_has_messages:
        own = key_res.arn if key_res else None
        for source, source_key in _dead_letter_sources(snapshot, queue, own):
            step, err = _kms_step(
                world, "Decrypt", query, caller, principal, source, source_key, session, assumptions, now
            )
            steps.append(step)
            errors.append(err)
            notes.append(
                f"this queue is the dead-letter queue of {source.arn}: messages moved from it stay encrypted under "
                f"{source_key.arn}, so receiving them needs kms:Decrypt on that key too (S5, S8; the encryption "
                "context of moved messages is taken to be the source queue's, UNVERIFIED)"
            )

    delivery = caller.type is PrincipalType.SERVICE
    if delivery:
        notes.append(
            f"{caller.service} calls SQS on its own: a failure shows in its delivery logs/metrics, never as "
            "an error to the publisher (X8)"
        )
    verdict = _combine(query, caller, queue, enc, key_res, steps, errors, notes, assumed, delivery)
    return replace(verdict, locations=dict(world.locations))


def _unreadable_queue(snapshot: Snapshot, query: Query, world: World) -> Verdict:
    """Nothing can be said without the queue's attributes: inconclusive, naming the read and who can do it."""
    caller, _ = world.caller(query.principal, query.session_name)
    queue = Queue(arn=query.queue_arn, url=None, attributes={})
    facts = tuple(
        Fact(
            Layer.RESOURCE,
            Outcome.UNKNOWN,
            unknown=f"{query.action.iam}: the queue's attributes ({g.operation} in account "
            f"{g.account or queue.account} failed: {g.error}{'; needs ' + g.needs if g.needs else ''})",
        )
        for g in snapshot.gaps_for("queue", query.queue_arn)
    )
    step = authorize_facts(query.action.iam, queue.arn, facts)
    unknowns = step.unknowns
    note = (
        f"ask account {queue.account} to run `sqsdiag collect --queue {queue.arn} -o queue-side.json` and send the file"
    )
    return Verdict(
        decision=step.decision,
        query=query,
        caller=caller,
        queue=queue,
        encryption=Encryption("unknown"),
        key=None,
        steps=(step,),
        error=None,
        blocking=(),
        unknowns=unknowns,
        notes=(note,),
        assumptions=(),
    )


def _dead_letter_sources(snapshot: Snapshot, queue: Queue, own_key: str | None) -> list[tuple[Queue, KeyResolution]]:
    """Queues in the snapshot whose RedrivePolicy sends to ``queue`` and that use another KMS key (row 50)."""
    out = []
    for source in snapshot.queues:
        try:
            redrive = decode_json(source.attributes.get("RedrivePolicy") or "{}")
        except ValueError:  # malformed, or too deep: a snapshot's is rejected when it loads
            continue
        if not isinstance(redrive, dict) or redrive.get("deadLetterTargetArn") != queue.arn:
            continue
        enc = encryption_of(source)
        if enc.mode == "sse-kms" and enc.key_ref:
            resolution = resolve_key(snapshot, source, enc.key_ref)
            if resolution.arn != own_key:
                out.append((source, resolution))
    return out


def _combine(
    query: Query,
    caller: Caller,
    queue: Queue,
    enc: Encryption,
    key_res: KeyResolution | None,
    steps: list[StepResult],
    errors: list[CallerError | None],
    notes: list[str],
    assumed: list[str],
    delivery: bool,
) -> Verdict:
    reached = True
    marked: list[StepResult] = []
    blocking: list[BlockingEntry] = []
    error: CallerError | None = None
    unknowns: list[str] = []
    earlier_unknown = False
    for step, err in zip(steps, errors, strict=True):
        marked.append(replace(step, reached=reached))
        blocking.extend(BlockingEntry(step.step, b, reached, step.resource) for b in step.blocking)
        unknowns.extend(f"{step.step}: {u}" for u in step.unknowns)
        if step.decision is Decision.DENIED and reached:
            error = err
            if error is not None and earlier_unknown:
                error = replace(
                    error,
                    uncertain=(
                        *error.uncertain,
                        "an earlier step is inconclusive; if it denies, the caller sees that error instead",
                    ),
                )
            reached = False
        elif step.decision is Decision.INCONCLUSIVE:
            earlier_unknown = True
    if any(s.decision is Decision.DENIED for s in steps):
        decision = Decision.DENIED
    elif any(s.decision is Decision.INCONCLUSIVE for s in steps):
        decision = Decision.INCONCLUSIVE
    else:
        decision = Decision.ALLOWED
    assumptions_text = [*assumed]
    return Verdict(
        decision=decision,
        query=query,
        caller=caller,
        queue=queue,
        encryption=enc,
        key=key_res,
        steps=tuple(marked),
        error=error,
        blocking=tuple(blocking),
        unknowns=tuple(dict.fromkeys(unknowns)),
        notes=tuple(dict.fromkeys(notes)),
        assumptions=tuple(assumptions_text),
        delivery_side=delivery,
    )


def _identity_inputs(
    world: World, caller: Caller, principal: Principal | None, session: Docs | None
) -> tuple[Docs | None, Docs | None, Docs | None]:
    """(identity policies, permissions boundary, session policy) of the caller; None where not applicable."""
    if caller.type in (PrincipalType.SERVICE, PrincipalType.ANONYMOUS, PrincipalType.ROOT):
        return None, None, None
    if caller.type is PrincipalType.FEDERATED_USER:
        return Docs(unknown=(f"the policies of the IAM user who federated {caller.arn}",)), None, session
    return world.identity(principal, caller), world.boundary(principal), session


def _explained(step: StepResult, inp: AuthzInput) -> StepResult:
    """Attach near misses to each implicit-deny block: which Allow almost applied, and why it did not."""
    docs = {
        Layer.RESOURCE: inp.resource_policy,
        Layer.KEY_POLICY: inp.resource_policy,
        Layer.IDENTITY: inp.identity,
        Layer.BOUNDARY: inp.boundary,
        Layer.SESSION: inp.session,
        Layer.VPCE: inp.vpce,
    }
    blocking = []
    for block in step.blocking:
        layer_docs = docs.get(block.layer)
        if not block.explicit and layer_docs is not None and layer_docs.policies:
            block = replace(block, near_misses=near_misses(layer_docs.policies, inp.request))
        blocking.append(block)
    return replace(step, blocking=tuple(blocking))


def _scp_for(world: World, caller: Caller) -> OrgLevels | None:
    if caller.type in (PrincipalType.SERVICE, PrincipalType.ANONYMOUS):
        return None
    if caller.role_arn and "/aws-service-role/" in caller.role_arn:
        return None  # O1: service-linked roles are exempt
    return world.org_levels(caller.account, "scp")


def _sqs_step(
    world: World,
    query: Query,
    caller: Caller,
    principal: Principal | None,
    queue: Queue,
    context: RequestContext,
    session: Docs | None,
) -> StepResult:
    vpce = None
    endpoint = context.values.get("aws:sourcevpce")
    if endpoint:
        record = world.snapshot.vpc_endpoint(endpoint[0])
        if record is None:
            vpce = Docs(unknown=(f"policy of VPC endpoint {endpoint[0]} (not in the snapshot)",))
        elif record.policy is not None:
            vpce = Docs(
                (
                    world.parse(
                        record.policy,
                        f"VPC endpoint policy of {record.id}",
                        PolicyKind.VPC_ENDPOINT,
                        EndpointPolicy(record.id),
                    ),
                )
            )
        else:
            vpce = Docs(unknown=(f"policy of VPC endpoint {record.id} (not read)",))
    identity, boundary, session_docs = _identity_inputs(world, caller, principal, session)
    facts: tuple[Fact, ...] = ()
    if caller.account is not None and caller.account != queue.account and query.action.base in NO_CROSS_ACCOUNT:
        note = f"{query.action.iam} cannot be granted to another account (Q3)"
        facts = (Fact(Layer.RESOURCE, Outcome.IMPLICIT_DENY, note=note, first=False),)
    inp = AuthzInput(
        request=Request(caller, query.action.iam, queue.arn, context),
        facts=facts,
        resource_account=queue.account,
        resource_policy=world.queue_policy(queue),
        scp=_scp_for(world, caller),
        rcp=world.org_levels(queue.account, "rcp"),
        vpce=vpce,
        identity=identity,
        boundary=boundary,
        session=session_docs,
    )
    return _explained(authorize(inp), inp)


def _kms_step(
    world: World,
    op: str,
    query: Query,
    caller: Caller,
    principal: Principal | None,
    queue: Queue,
    key_res: KeyResolution,
    session: Docs | None,
    assumptions: Assumptions,
    now: float,
) -> tuple[StepResult, CallerError | None]:
    action = f"kms:{op}"
    operation = query.action.api
    key = key_res.key
    resource = key_res.arn or "unknown key"
    if key_res.status == "unknown" or key_res.status == "missing" or key is None:
        if key_res.status == "unknown":
            fact = Fact(Layer.KEY_STATE, Outcome.UNKNOWN, unknown=key_res.unknown_reason or "the key is unknown")
        else:
            fact = Fact(
                Layer.KEY_STATE,
                Outcome.EXPLICIT_DENY,
                (Evidence(resource, "the key does not exist here"),),
                "the key does not exist (deleted, never existed, or in another Region: K8, K11)",
            )
        step = authorize_facts(action, resource, (fact,))
        return step, key_not_found(resource, operation) if step.decision is Decision.DENIED else None

    values, absent = fas_context(caller.account, queue, assumptions.fas_source_ip)
    if caller.type is PrincipalType.SERVICE:
        values.update(source_keys(query))
        values["aws:viaawsservice"] = ("false",)  # the service calls KMS itself (S12), not a forward-access hop
        absent = absent | {"kms:calleraccount"}  # a service principal has no caller account (S11)
    context = derive_context(
        caller,
        RequestContext(
            values=values,
            absent=absent,
            multi_valued=frozenset({"aws:calledvia", "kms:encryptioncontextkeys"}),
        ),
    )
    # K8/K10: key state and type are facts of the step, ordered against authorization per the assumption.
    state, state_error = _key_state(key, operation, assumptions)
    same = caller.account == key.account
    state_first = assumptions.key_state_first == "state" or (assumptions.key_state_first == "auto" and same)
    facts = (replace(state, first=state_first),) if state is not None else ()
    identity, boundary, session_docs = _identity_inputs(world, caller, principal, session)
    inp = AuthzInput(
        request=Request(caller, action, key.arn, context),
        resource_account=key.account,
        kms=True,
        resource_policy=world.key_policy(key),
        scp=_scp_for(world, caller),
        rcp=None if is_aws_managed(key.manager, key.aliases) else world.org_levels(key.account, "rcp"),  # O5
        grants=world.grants(key) if caller.type is not PrincipalType.SERVICE else None,
        encryption_context={"aws:sqs:arn": queue.arn},
        cross_account_grant_needs_iam=assumptions.cross_account_grant_needs_iam,
        identity=identity,
        boundary=boundary,
        session=session_docs,
        facts=facts,
    )
    step = _explained(authorize(inp), inp)
    if step.decision is not Decision.DENIED:
        return step, None
    if step.blocking[0].layer is Layer.KEY_STATE and state is not None and state.outcome is Outcome.EXPLICIT_DENY:
        error = state_error
    else:
        policies_only = replace(step, blocking=tuple(b for b in step.blocking if b.layer is not Layer.KEY_STATE))
        error = kms_access_denied(policies_only, caller.arn, operation, assumptions.message_style == "legacy")
    if state is not None and state.outcome is Outcome.EXPLICIT_DENY:
        step = replace(
            step,
            notes=(
                *step.notes,
                "the order of key-state and authorization errors is UNVERIFIED "
                "(section 12 step 4): configurable with --key-state-first",
            ),
        )
    return step, error


def _key_state(key: Key, operation: str, assumptions: Assumptions) -> tuple[Fact | None, CallerError | None]:
    """The key's state and type as a fact of the KMS step (K8-K10), and the error it gives the caller."""
    if key.state is not None and key.state != "Enabled":
        err = key_state_error(key.state, key.arn, operation, assumptions.pending_deletion_code)
        return Fact(
            Layer.KEY_STATE,
            Outcome.EXPLICIT_DENY,
            (Evidence(key.arn, f"KeyState {key.state}"),),
            f"the key is {key.state}; every KMS call fails once cached data keys expire (K8, K9)",
        ), err
    if (key.spec not in (None, "SYMMETRIC_DEFAULT")) or (key.usage not in (None, "ENCRYPT_DECRYPT")):
        err = key_usage_error(key.arn, key.spec, key.usage, operation)
        return Fact(
            Layer.KEY_STATE,
            Outcome.EXPLICIT_DENY,
            (Evidence(key.arn, f"KeySpec {key.spec}, KeyUsage {key.usage}"),),
            "SSE needs a symmetric encryption key (K10)",
        ), err
    if key.state is None:
        return Fact(Layer.KEY_STATE, Outcome.UNKNOWN, unknown=f"key-state: state of {key.arn} not read"), None
    return None, None
