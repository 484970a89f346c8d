"""The queue: GetQueueAttributes(All) in the owner's account."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from diagnose.collect.reader import POLICY, Reader, require
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
            # A queue always has a QueueArn: attributes without one were not read, whatever the status said.
            attributes = self._reader.field(
                self._account,
                "sqs",
                "GetQueueAttributes",
                self._arn,
                self._region,
                "Attributes",
                dict,
                QueueUrl=self._url,
                AttributeNames=["All"],
            )
            require(attributes, "QueueArn", str, self._account, "sqs:GetQueueAttributes")
            for name, value in attributes.items():
                require(value, "", str, self._account, "sqs:GetQueueAttributes")
                if name == "Policy" and value:
                    require(attributes, "Policy", POLICY, self._account, "sqs:GetQueueAttributes")
            return {str(k): str(v) for k, v in attributes.items()}

        self._reader.fetch(self._key, read, then)

    def build(self) -> tuple[list[Queue], list[Gap]]:
        outcome = self._reader.outcome(self._key)
        if outcome is None:
            return [], []
        if outcome.error is not None:
            return [], [outcome.error.gap("queue", self._arn)]
        attrs: Mapping[str, str] = outcome.value
        return [Queue(arn=attrs.get("QueueArn") or self._arn, url=self._url, attributes=dict(attrs))], []
