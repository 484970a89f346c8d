"""The queue: GetQueueAttributes(All) in the owner's account."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from diagnose.collect.reader import Reader
from diagnose.snapshot import Gap, Queue


class QueueCollector:
    def __init__(self, reader: Reader, arn: str, url: str, region: str) -> None:
        self._reader, self._arn, self._url, self._region = reader, arn, url, region
        self._account = arn.split(":")[4]
        self._key = ("sqs", "attributes", arn)

    def start(self, then: Callable[[Mapping[str, str]], None]) -> None:
        def read() -> dict[str, str]:
            # Emulators route on the queue name only, so the URL is the owner's (given or built from the
            # ARN), never one an emulator resolved for whoever asked.
            response = self._reader.call(
                self._account,
                "sqs",
                "GetQueueAttributes",
                self._arn,
                self._region,
                QueueUrl=self._url,
                AttributeNames=["All"],
            )
            return {str(k): str(v) for k, v in (response.get("Attributes") or {}).items()}

        self._reader.fetch(self._key, read, then)

    def build(self) -> tuple[list[Queue], list[Gap]]:
        outcome = self._reader.outcome(self._key)
        if outcome is None:
            return [], []
        if outcome.error is not None:
            return [], [outcome.error.gap("queue", self._arn)]
        attrs: Mapping[str, str] = outcome.value
        return [Queue(arn=attrs.get("QueueArn") or self._arn, url=self._url, attributes=dict(attrs))], []
