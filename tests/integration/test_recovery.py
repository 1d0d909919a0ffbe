"""Recovery: what was parked in a failures queue is replayed from durable state by `cli redrive`, once."""

import argparse
import io
import json
from typing import Any

import pytest

from cli import redrive as redrive_cli
from cli import target as targets
from local.environment import REGION
from tests.builders import LambdaContext, http_request, page_view
from tests.integration.conftest import eventbridge_rejects, lead_of, notifications
from tests.integration.test_publish import sql_leads
from tests.integration.test_sample_events import sample
from tests.integration.test_scoring_flow import visit_and_request_demo

CTX = LambdaContext()


def parked_stream_batch(
    aws: dict[str, Any], queue: str, records: list[dict[str, Any]], shard: str = "shardId-1"
) -> None:
    """What Lambda's on-failure destination writes for a stream batch it gave up on: only the range."""
    info = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": "PublishFunction"},
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "batchSize": len(records),
            "streamArn": records[0]["eventSourceARN"],
        },
    }
    aws["sqs"].send_message(QueueUrl=aws["queues"][queue], MessageBody=json.dumps(info))


def redrive(aws: dict[str, Any], scores: Any, queue: str, **handlers: Any) -> redrive_cli.Redrive:
    """The redrive with the functions in-process (the CLI runs them in workers or in Lambda)."""

    def invoke(function: str, event: dict[str, Any]) -> Any:
        return handlers[function].lambda_handler(event, CTX)

    return redrive_cli.Redrive(
        queue, aws["sqs"], aws["queues"][queue], scores, invoke, aws["dynamodbstreams"], io.StringIO()
    )


def queued(aws: dict[str, Any], queue: str) -> int:
    attributes = aws["sqs"].get_queue_attributes(
        QueueUrl=aws["queues"][queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_parked_stage_change_survives_the_next_state_write_and_a_redrive_publishes_it_once(
    track, form, score, publish, new_records, published, scores, aws
):
    visit_and_request_demo(track, form, anonymous_id="ann", email="ann@acme.com")
    assert score.lambda_handler({"Records": new_records("ScoreFunction")}, CTX) == {"batchItemFailures": []}
    outbox = new_records("PublishFunction")
    assert outbox, "the stage change is a TRANS# item on the stream"

    with eventbridge_rejects(), pytest.raises(Exception, match="EventBridge rejected"):
        publish.lambda_handler({"Records": outbox}, CTX)  # every retry fails the same: Lambda parks it
    parked_stream_batch(aws, "PublishFailuresQueue", outbox)

    # the lead comes back: the next STATE write carries no transition, and wakes no publisher
    track.lambda_handler(http_request("/v1/page", page_view("ann", "/docs")), CTX)
    assert score.lambda_handler({"Records": new_records("ScoreFunction")}, CTX) == {"batchItemFailures": []}
    assert new_records("PublishFunction") == []
    assert published() == []

    out = io.StringIO()
    first = redrive(aws, scores, "PublishFailuresQueue", PublishFunction=publish)
    assert first.run(out) == 0
    assert sql_leads(published()) == [lead_of("ann")]
    assert "1 resolved, 0 still parked" in out.getvalue()
    assert queued(aws, "PublishFailuresQueue") == 0
    assert list(scores.unpublished()) == []

    # a second run finds nothing to do and publishes nothing more
    assert redrive(aws, scores, "PublishFailuresQueue", PublishFunction=publish).run(io.StringIO()) == 0
    assert published() == []


def test_a_stage_change_already_on_the_bus_is_not_published_again_by_a_redrive(
    track, form, score, publish, new_records, published, scores, aws
):
    visit_and_request_demo(track, form, anonymous_id="bob", email="bob@acme.com")
    score.lambda_handler({"Records": new_records("ScoreFunction")}, CTX)
    outbox = new_records("PublishFunction")
    assert publish.lambda_handler({"Records": outbox}, CTX) == {"batchItemFailures": []}
    assert sql_leads(published()) == [lead_of("bob")]
    assert list(scores.unpublished()) == []  # published: out of the sparse index

    assert redrive(aws, scores, "PublishFailuresQueue", PublishFunction=publish).run(io.StringIO()) == 0
    assert published() == []


def test_a_parked_notification_is_redriven_into_one_notification(aws, notify, notifications_file, scores):
    event = sample("notify_sales.json")
    parked = {
        "version": "1.0",
        "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": event,
        "responsePayload": {"errorMessage": "slack answered 500"},
    }
    aws["sqs"].send_message(QueueUrl=aws["queues"]["NotifyFailuresQueue"], MessageBody=json.dumps(parked))

    out = io.StringIO()
    assert redrive(aws, scores, "NotifyFailuresQueue", NotifySalesFunction=notify).run(out) == 0

    assert [n["transition_id"] for n in notifications(notifications_file)] == [
        event["detail"]["transition_id"]
    ]
    assert queued(aws, "NotifyFailuresQueue") == 0
    assert redrive(aws, scores, "NotifyFailuresQueue", NotifySalesFunction=notify).run(out) == 0
    assert len(notifications(notifications_file)) == 1


def test_a_notification_that_still_fails_stays_parked(aws, scores):
    aws["sqs"].send_message(
        QueueUrl=aws["queues"]["NotifyFailuresQueue"],
        MessageBody=json.dumps({"requestContext": {"condition": "RetriesExhausted"}, "requestPayload": {}}),
    )

    class Failing:
        @staticmethod
        def lambda_handler(event: Any, context: Any) -> None:
            raise RuntimeError("slack is down")

    out = io.StringIO()
    assert redrive(aws, scores, "NotifyFailuresQueue", NotifySalesFunction=Failing).run(out) == 1
    assert "still failing" in out.getvalue()
    assert queued(aws, "NotifyFailuresQueue") == 1


def test_the_dry_run_lists_what_is_parked_and_why(aws, moto_endpoint, leads_table, capsys):
    body = {
        "requestContext": {"condition": "RetriesExhausted"},
        "requestPayload": sample("notify_sales.json"),
        "responsePayload": {"errorMessage": "slack answered 500"},
    }
    for _ in range(2):
        aws["sqs"].send_message(QueueUrl=aws["queues"]["NotifyFailuresQueue"], MessageBody=json.dumps(body))
    top = argparse.ArgumentParser()
    redrive_cli.add_parser(top.add_subparsers(dest="command"))
    args = top.parse_args(["redrive", "NotifyFailuresQueue", "--dry-run"])
    args.stack = None
    target = targets.Target(leads_table, "", "", "http://api", REGION, moto_endpoint)

    assert redrive_cli.run(args, target) == 1  # something is parked

    out = capsys.readouterr().out
    assert "NotifyFailuresQueue: 2 parked, oldest 0 min ago" in out
    assert "2 x RetriesExhausted: slack answered 500" in out
    assert queued(aws, "NotifyFailuresQueue") == 2  # nothing replayed, nothing deleted


def only_shard(aws: dict[str, Any], records: list[dict[str, Any]]) -> str:
    stream = aws["dynamodbstreams"].describe_stream(StreamArn=records[0]["eventSourceARN"])
    [shard] = stream["StreamDescription"]["Shards"]
    return str(shard["ShardId"])


def test_a_parked_score_batch_still_on_the_stream_is_scored_once(track, score, new_records, scores, aws):
    for path in ("/", "/pricing"):
        track.lambda_handler(http_request("/v1/page", page_view("cat", path)), CTX)
    records = new_records("ScoreFunction")
    parked_stream_batch(aws, "ScoreFailuresQueue", records, only_shard(aws, records))

    out = io.StringIO()
    assert redrive(aws, scores, "ScoreFailuresQueue", ScoreFunction=score).run(out) == 0
    assert scores.load(lead_of("cat")).score.page_views == 2
    assert queued(aws, "ScoreFailuresQueue") == 0

    # replayed again (a second parked copy): the replay guards skip what was applied
    parked_stream_batch(aws, "ScoreFailuresQueue", records, only_shard(aws, records))
    assert redrive(aws, scores, "ScoreFailuresQueue", ScoreFunction=score).run(io.StringIO()) == 0
    assert scores.load(lead_of("cat")).score.page_views == 2


def test_a_parked_score_batch_the_stream_no_longer_holds_stays_parked_and_says_so(
    track, score, new_records, scores, aws
):
    track.lambda_handler(http_request("/v1/page", page_view("dan", "/")), CTX)
    records = new_records("ScoreFunction")
    gone = [{**r, "dynamodb": {**r["dynamodb"], "SequenceNumber": "1".zfill(21)}} for r in records]
    shard = only_shard(aws, records)
    parked_stream_batch(aws, "ScoreFailuresQueue", gone, shard)  # a range older than the stream keeps

    out = io.StringIO()
    assert redrive(aws, scores, "ScoreFailuresQueue", ScoreFunction=score).run(out) == 1
    assert f"the stream no longer holds shard {shard}" in out.getvalue()
    assert queued(aws, "ScoreFailuresQueue") == 1
