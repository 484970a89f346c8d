"""The permission graph's exports: Mermaid, DOT (Graphviz) and node-link JSON."""

from __future__ import annotations

import re
from typing import Any

import networkx as nx


def _mid(node: str, ids: dict[str, str]) -> str:
    if node not in ids:
        ids[node] = f"n{len(ids)}"
    return ids[node]


def _label(text: str) -> str:
    return re.sub(r'["\n]', "'", text)[:90]


def to_mermaid(g: Any) -> str:
    ids: dict[str, str] = {}
    lines = ["flowchart LR"]
    for node, data in g.nodes(data=True):
        lines.append(f'  {_mid(node, ids)}["{_label(data.get("label", node))}"]')
    blocked: list[int] = []
    for index, (a, b, data) in enumerate(g.edges(data=True)):
        arrow = "-.->" if data.get("blocks") else "-->"
        lines.append(f"  {_mid(a, ids)} {arrow}|{data.get('relation', '')}| {_mid(b, ids)}")
        if data.get("blocks"):
            blocked.append(index)
    for index in blocked:
        lines.append(f"  linkStyle {index} stroke:#d00,stroke-width:2px")
    for node, data in g.nodes(data=True):
        if data.get("blocks"):
            lines.append(f"  style {_mid(node, ids)} fill:#fdd,stroke:#d00")
    return "\n".join(lines) + "\n"


def to_dot(g: Any) -> str:
    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph sqsdiag {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    for node, data in g.nodes(data=True):
        extra = ', color=red, style=filled, fillcolor="#ffdddd"' if data.get("blocks") else ""
        lines.append(f"  {q(node)} [label={q(data.get('label', node))}{extra}];")
    for a, b, data in g.edges(data=True):
        extra = ", color=red, penwidth=2" if data.get("blocks") else ""
        lines.append(f"  {q(a)} -> {q(b)} [label={q(data.get('relation', ''))}{extra}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json(g: Any) -> dict[str, Any]:
    data: dict[str, Any] = nx.node_link_data(g, edges="edges")
    return data
