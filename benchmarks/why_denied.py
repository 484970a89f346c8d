"""Whole-process time and peak memory of `sqsdiag why-denied` on a bundled fixture (target: median < 0.35 s,
peak RSS < 100 MB). Runs the installed console script, as a user would.

    python benchmarks/why_denied.py [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARGS = [
    "why-denied",
    "--snapshot",
    str(ROOT / "fixtures/article/2-sse-kms-queue-policy-only.json"),
    "--queue",
    "https://sqs.ap-northeast-1.amazonaws.com/111111111111/hoge-sse-customer",
    "--principal",
    "arn:aws:iam::222222222222:role/consumer",
    "--format",
    "json",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    runs = parser.parse_args().runs
    exe = shutil.which("sqsdiag", path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if exe is None:
        sys.exit("sqsdiag is not installed in this environment (pip install -e .)")
    subprocess.run([exe, *ARGS], capture_output=True, check=False)  # warm the bytecode cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run([exe, *ARGS], capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        assert proc.returncode == 1, proc.stderr  # the fixture is a denial
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux: the largest child
    print(
        f"why-denied whole process over {runs} runs: median {statistics.median(times) * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms); peak RSS {peak_kb / 1024:.1f} MB"
    )
    print(
        f"targets: median < 350 ms: {'met' if statistics.median(times) < 0.35 else 'NOT met'}; "
        f"peak < 100 MB: {'met' if peak_kb < 100 * 1024 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
