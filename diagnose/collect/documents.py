"""Policy documents as AWS hands them back: a dict (boto3 decoded it, or an emulator), JSON text, or
URL-encoded JSON text (IAM's wire form)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote


def policy_json(value: Any) -> Any:
    """The document as a dict when it parses; otherwise the text as given (the snapshot says so)."""
    if not isinstance(value, str):
        return value
    for text in (value, unquote(value)):
        try:
            return json.loads(text)
        except ValueError:
            continue
    return value


def tags(items: Any) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in items or []}
