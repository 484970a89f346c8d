"""Bad input is a ValueError with one line naming the argument; the region comes from the queue first."""

from __future__ import annotations

import pytest

from diagnose.collect import CollectOptions, collect_snapshot

from .world import FAST, REGION, A, Accounts, B, World


@pytest.mark.parametrize(
    ("queue", "principals", "vpce", "match"),
    [
        ("not a queue", [], None, r"^queue 'not a queue' is neither"),
        ("https://sqs.us-east-1.amazonaws.com/orders", [], None, r"^queue URL .* must end in /ACCOUNT_ID/QUEUE_NAME"),
        ("arn:aws:sns:us-east-1:111111111111:topic", [], None, r"^queue ARN"),
        (f"arn:aws:sqs:{REGION}:{A}:orders", ["sns"], None, r"^principal 'sns' is not"),
        (f"arn:aws:sqs:{REGION}:{A}:orders", [], "endpoint-1", r"^VPC endpoint 'endpoint-1'"),
    ],
)
def test_bad_input_names_the_argument(queue: str, principals: list[str], vpce: str | None, match: str) -> None:
    with pytest.raises(ValueError, match=match) as err:
        collect_snapshot(queue, principals, options=FAST, vpc_endpoint=vpce, sessions=None)
    assert "\n" not in str(err.value)


class _NoRegion:
    default_region = None

    def client(self, account: str, service: str, region: str) -> None:
        raise AssertionError("no call expected")


def test_an_emulator_url_without_a_region_needs_one() -> None:
    with pytest.raises(ValueError, match=r"does not say its region; pass --region"):
        collect_snapshot(f"http://127.0.0.1:5000/{A}/orders", [], options=CollectOptions(), sessions=_NoRegion())


def test_region_comes_from_the_queue_before_the_options(aws: Accounts, world: World) -> None:
    sqs = aws.admin(A, "sqs", "eu-west-1")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    assert "eu-west-1" in url
    s = collect_snapshot(url, [B], options=CollectOptions(region="us-east-1"), sessions=aws)
    assert s.queues[0].arn == f"arn:aws:sqs:eu-west-1:{A}:orders"
    assert s.gaps == ()


def test_queue_that_does_not_exist_is_a_queue_gap(aws: Accounts) -> None:
    s = collect_snapshot(f"arn:aws:sqs:{REGION}:{A}:nope", [], options=FAST, sessions=aws)
    assert s.queues == () and s.keys == ()
    (gap,) = s.gaps
    assert (gap.layer, gap.resource, gap.operation, gap.account) == (
        "queue",
        f"arn:aws:sqs:{REGION}:{A}:nope",
        "sqs:GetQueueAttributes",
        A,
    )
    assert "NonExistentQueue" in gap.error or gap.error == "QueueDoesNotExist"


def test_queue_in_an_account_without_credentials(aws: Accounts, world: World) -> None:
    url = world.queue(A)
    aws.visible = {B}
    s = collect_snapshot(url, [B], options=FAST, sessions=aws)
    assert s.queues == ()
    assert {(g.layer, g.resource, g.error) for g in s.gaps} == {
        ("queue", f"arn:aws:sqs:{REGION}:{A}:orders", "NoCredentials"),
        ("scp", A, "NoCredentials"),
        ("rcp", A, "NoCredentials"),
    }


def test_a_queue_that_does_not_exist_is_named_not_left_open(aws: Accounts, world: World) -> None:
    # Q9: read with the owner's credentials, a missing queue answers NonExistentQueue; the verdict must say
    # so (bad input, exit 2) rather than ask the owner to collect what it already read.
    from diagnose.sqs import parse_action
    from diagnose.verdict import Query, QueryError, diagnose

    arn = f"arn:aws:sqs:{REGION}:{A}:nope"
    snap = collect_snapshot(arn, [], options=FAST, sessions=aws)
    assert [g.error for g in snap.gaps if g.layer == "queue"] == ["AWS.SimpleQueueService.NonExistentQueue"]
    with pytest.raises(QueryError, match=r"no such queue in account 111111111111"):
        diagnose(snap, Query(arn, f"arn:aws:iam::{B}:role/x", parse_action("ReceiveMessage")))
