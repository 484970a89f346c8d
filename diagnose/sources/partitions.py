"""Partition and DNS suffix of a Region, from botocore's own partition data (never written by hand)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any


@cache
def _partitions() -> tuple[dict[str, Any], ...]:
    from botocore.loaders import create_loader

    data = create_loader().load_data("partitions")
    return tuple(data["partitions"])


def partition_of(region: str) -> str:
    for p in _partitions():
        if region in p["regions"] or re.match(p["regionRegex"], region):
            return str(p["id"])
    raise ValueError(f"--region {region!r} is not a Region of any AWS partition")


def dns_suffix(partition: str) -> str:
    for p in _partitions():
        if p["id"] == partition:
            return str(p["outputs"]["dnsSuffix"])
    raise ValueError(f"unknown partition {partition!r}")
