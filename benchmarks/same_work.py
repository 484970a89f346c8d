"""The engine timed on the same work as a peer simulator: parse the request's policies, then authorize.

The 10,000 seeded requests of ``engine.py`` (its generator, reused), but each request's five documents are
parsed as part of the timed work before ``authz.authorize``. Two figures, in requests per CPU-second
(``time.process_time``), each the median of ``--repeat`` runs with the cyclic GC as is:

- *new documents*: the parse cache is cleared before each request, so every document is parsed (validated
  and compiled) from scratch, as for documents the process has never seen;
- *documents already seen*: the cache is warm, so each parse is a cache hit (what a second ``World`` over
  the same snapshot, or a long-running process, gets).

    python benchmarks/same_work.py [--requests 10000] [--repeat 3] [--seed 7] [--text]

``--text`` hands the documents over as JSON text instead of decoded objects.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import engine

import diagnose.policy.parse as policy_parse
from diagnose.authz import AuthzInput, authorize


def _no_cache() -> None:
    """For a ``diagnose.policy`` without a parse cache (to time the code before it): nothing to clear."""


clear_cache: Callable[[], None] = getattr(policy_parse, "clear_parse_cache", _no_cache)


def run(inputs: Sequence[AuthzInput], docs: Sequence[Any], *, cold: bool) -> float:
    """Requests per CPU-second: for each request, parse its documents, then authorize."""
    start = time.process_time()
    for inp in inputs:
        if cold:
            clear_cache()
        authorize(engine.with_policies(inp, engine.parse_documents(docs)))
    return len(inputs) / (time.process_time() - start)


def _check(inputs: Sequence[AuthzInput], docs: Sequence[Any]) -> None:
    """The parse-inclusive path decides as the pre-parsed one does (a sample, untimed)."""
    for inp in inputs[:500]:
        clear_cache()
        fresh = authorize(engine.with_policies(inp, engine.parse_documents(docs)))
        again = authorize(engine.with_policies(inp, engine.parse_documents(docs)))
        assert fresh == again == authorize(inp), inp.request


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--text", action="store_true", help="documents as JSON text, not decoded objects")
    args = parser.parse_args()
    work = engine.generate(args.seed, args.requests)
    docs: Sequence[Any] = [json.dumps(d) for d in work.documents] if args.text else work.documents
    statements = sum(len(p.statements) for p in engine.parse_documents(docs))
    _check(work.inputs, docs)

    cold = [run(work.inputs, docs, cold=True) for _ in range(args.repeat)]
    clear_cache()
    engine.parse_documents(docs)  # seen once
    warm = [run(work.inputs, docs, cold=False) for _ in range(args.repeat)]

    cached = clear_cache is not _no_cache
    form = "JSON text" if args.text else "decoded objects"
    print(
        f"{len(work.inputs)} requests x {args.repeat} runs; per request: parse 5 documents ({statements} statements, "
        f"{form}), then authorize"
    )
    print(
        f"new documents (parse cache cleared per request): median {statistics.median(cold):,.0f} requests/CPU-s "
        f"(min {min(cold):,.0f}, max {max(cold):,.0f})"
    )
    print(
        f"documents already seen{'' if cached else ' (no parse cache in this version)'}: "
        f"median {statistics.median(warm):,.0f} requests/CPU-s (min {min(warm):,.0f}, max {max(warm):,.0f})"
    )
    ratio = statistics.median(warm) / statistics.median(cold)
    print(
        f"summary: new {statistics.median(cold):,.0f}/s, seen {statistics.median(warm):,.0f}/s, seen/new {ratio:.1f}x"
    )


if __name__ == "__main__":
    main()
