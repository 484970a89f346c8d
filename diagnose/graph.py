"""The permission graph of a verdict (DESIGN principle 5): who, which account, which queue and key,
which documents and statements allowed or denied each step. The explanation is a path through it.
"""

from __future__ import annotations

import itertools
from typing import Any

import networkx as nx

from diagnose.authz import Outcome
from diagnose.policy import PrincipalType
from diagnose.verdict import Verdict


def build_graph(verdict: Verdict) -> Any:
    g = nx.MultiDiGraph()
    caller = verdict.caller
    queue = verdict.queue
    g.add_node(caller.arn, kind="principal", label=caller.arn)
    if caller.account:
        g.add_node(f"account:{caller.account}", kind="account", label=f"account {caller.account}")
        g.add_edge(caller.arn, f"account:{caller.account}", relation="member-of")
    if caller.type is PrincipalType.ROLE_SESSION and caller.role_arn:
        g.add_node(caller.role_arn, kind="role", label=caller.role_arn)
        g.add_edge(caller.arn, caller.role_arn, relation="session-of")
    g.add_node(queue.arn, kind="queue", label=queue.arn, encryption=verdict.encryption.mode)
    g.add_node(f"account:{queue.account}", kind="account", label=f"account {queue.account}")
    g.add_edge(queue.arn, f"account:{queue.account}", relation="owned-by")
    key = verdict.key
    if key is not None and key.arn:
        g.add_node(key.arn, kind="key", label=key.arn, status=key.status)
        g.add_edge(queue.arn, key.arn, relation="encrypts-with")
        if verdict.encryption.key_ref and verdict.encryption.key_ref != key.arn:
            g.add_node(verdict.encryption.key_ref, kind="alias", label=verdict.encryption.key_ref)
            g.add_edge(queue.arn, verdict.encryption.key_ref, relation="configured-as")
            g.add_edge(verdict.encryption.key_ref, key.arn, relation="points-to")
        if key.key is not None:
            g.add_node(f"account:{key.key.account}", kind="account", label=f"account {key.key.account}")
            g.add_edge(key.arn, f"account:{key.key.account}", relation="owned-by")
    blocking = {(b.step, b.block.layer) for b in verdict.blocking}
    for step in verdict.steps:
        step_node = f"step:{step.step}"
        g.add_node(step_node, kind="step", label=step.step, decision=step.decision.value, reached=step.reached)
        g.add_edge(caller.arn, step_node, relation="calls" if step.step.startswith("sqs:") else "via-service")
        g.add_edge(step_node, step.resource, relation="on")
        for layer in step.layers:
            layer_node = f"layer:{step.step}:{layer.layer}"
            blocks = (step.step, layer.layer) in blocking
            g.add_node(
                layer_node,
                kind="layer",
                label=f"{layer.layer}: {layer.outcome.value}",
                outcome=layer.outcome.value,
                blocks=blocks,
            )
            relation = "blocks" if blocks else ("allow" if layer.outcome is Outcome.ALLOW else "evaluates")
            g.add_edge(layer_node, step_node, relation=relation, blocks=blocks)
            for ev in layer.evidence:
                doc_node = f"doc:{ev.document}"
                g.add_node(doc_node, kind="document", label=ev.document)
                stmt_node = f"stmt:{ev.document}:{ev.statement}"
                g.add_node(stmt_node, kind="statement", label=ev.statement, effect=ev.effect)
                g.add_edge(doc_node, stmt_node, relation="contains")
                rel = "deny" if ev.effect == "Deny" else ("allow" if ev.effect == "Allow" else "evaluates")
                g.add_edge(stmt_node, layer_node, relation=rel, blocks=blocks)
    return g


def explanation(g: Any, verdict: Verdict) -> list[str]:
    """The path the verdict follows: caller → SQS step → queue → key → KMS step → the first blocking layer
    and its deciding statement (or the last step when the call is allowed)."""
    waypoints = [verdict.caller.arn]
    target = next((b for b in verdict.blocking if b.reached), None)
    for step in verdict.steps:
        node = f"step:{step.step}"
        waypoints += [step.resource, node] if step.step.startswith("kms:") else [node, step.resource]
        if target is not None and step.step == target.step:
            break
    if target is not None:
        waypoints.append(f"layer:{target.step}:{target.block.layer}")
        if target.block.evidence:
            ev = target.block.evidence[0]
            waypoints.append(f"stmt:{ev.document}:{ev.statement}")
    undirected = g.to_undirected(as_view=True)
    path: list[str] = [waypoints[0]]
    for a, b in itertools.pairwise(waypoints):
        if a == b or b not in g or a not in g:
            continue
        try:
            path += nx.shortest_path(undirected, a, b)[1:]
        except nx.NetworkXNoPath:
            continue
    return path
