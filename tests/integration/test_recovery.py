"""Recovery: what was parked in a failures queue is replayed from durable state by `cli redrive`, once."""

import argparse
import importlib
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from leadstream.accounts.repository import AccountLedger
from leadstream.archive.history import histories
from leadstream.archive.reader import ArchiveReader
from leadstream.archive.records import ArchivedRecord
from leadstream.archive.store import ArchiveStore
from leadstream.privacy.repository import PrivacyRepository
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model_file import load_model
from leadstream.scoring.rebuild import Rebuild
from leadstream.tracking.repository import EventRepository

from cli import redrive as redrive_cli
from cli import target as targets
from local.environment import REGION
from tests.builders import LambdaContext, http_request, page_view, stream_records
from tests.integration.conftest import bus_entries, eventbridge_rejects, lead_of, notifications
from tests.integration.test_publish import sql_leads
from tests.integration.test_sample_events import sample, the_samples_story
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
    """The redrive with the functions in-process (the CLI runs them in workers or in Lambda), and the score
    rebuild in-process as the CLI runs it, with the shipped model."""

    def invoke(function: str, event: dict[str, Any]) -> Any:
        return handlers[function].lambda_handler(event, CTX)

    rebuild = Rebuild(EventRepository(scores.table), scores, load_model())
    return redrive_cli.Redrive(
        queue, aws["sqs"], aws["queues"][queue], scores, invoke, rebuild, io.StringIO()
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


def parked_notification(aws: dict[str, Any], handed: Any) -> None:
    """What Lambda's on-failure destination writes for NotifySalesFunction's event after its retries: the
    request it was handed, and the error."""
    parked = {
        "version": "1.0",
        "timestamp": "2026-11-24T05:00:00.000Z",
        "requestContext": {
            "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
            "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:NotifySalesFunction:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": handed,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": "slack answered 500"},
    }
    aws["sqs"].send_message(QueueUrl=aws["queues"]["NotifyFailuresQueue"], MessageBody=json.dumps(parked))


def test_a_parked_notification_is_redriven_into_one_notification(
    aws, track, form, score, notify, notifications_file, scores
):
    the_samples_story(track, form, score)
    event = sample("notify_sales.json")
    parked_notification(aws, event)

    out = io.StringIO()
    assert redrive(aws, scores, "NotifyFailuresQueue", NotifySalesFunction=notify).run(out) == 0

    assert [n["transition_id"] for n in notifications(notifications_file)] == [event["transition_id"]]
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


# --- ScoreFailuresQueue: a parked range is rebuilt from the stored events, not read from the stream -------


class Stored:
    """When events were stored: from a moment before the first to one after the last (seconds)."""

    first: datetime
    last: datetime


@contextmanager
def storing() -> Iterator[Stored]:
    window = Stored()
    window.first = datetime.now(UTC)
    yield window
    window.last = datetime.now(UTC)


def parked_score_range(aws: dict[str, Any], stored: Stored, size: int = 1) -> None:
    """What Lambda's on-failure destination writes for a stream batch ScoreFunction gave up on: where the
    records were and when they arrived, not the records. Here a range the stream has dropped since (its
    sequence numbers are nowhere): the redrive must not need it."""
    info = {
        "requestContext": {
            "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
            "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:ScoreFunction",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 6,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-24T05:00:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": "shardId-00000001573689847184-864758bb",
            "startSequenceNumber": "800000000003126276362",
            "endSequenceNumber": "800000000003126276399",
            "approximateArrivalOfFirstRecord": f"{stored.first:%Y-%m-%dT%H:%M:%S}Z",
            "approximateArrivalOfLastRecord": f"{stored.last:%Y-%m-%dT%H:%M:%S}Z",
            "batchSize": size,
            "streamArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/gone/stream/2026-11-01T00:00:00.000",
        },
    }
    aws["sqs"].send_message(QueueUrl=aws["queues"]["ScoreFailuresQueue"], MessageBody=json.dumps(info))


def stage_changes(scores: Any) -> list[tuple[str, str, str]]:
    """(lead, from, to) of every stage change waiting in the outbox."""
    return sorted((t.id.split(":")[0], t.from_stage, t.to_stage) for _, _, t in scores.unpublished())


def test_a_parked_range_the_stream_dropped_is_rebuilt_and_its_stage_change_published_once(
    track, form, score, publish, new_records, published, scores, aws
):
    with storing() as stored:
        visit_and_request_demo(track, form, anonymous_id="ann", email="ann@acme.com")
    new_records("ScoreFunction")  # ScoreFunction gave up on these: parked, and long gone from the stream
    parked_score_range(aws, stored, size=4)
    # a twin journey, scored on time: what the rebuild must come to
    visit_and_request_demo(track, form, anonymous_id="bob", email="bob@acme.com")
    assert score.lambda_handler({"Records": new_records("ScoreFunction")}, CTX) == {"batchItemFailures": []}

    out = io.StringIO()
    assert redrive(aws, scores, "ScoreFailuresQueue").run(out) == 0

    ann, bob = scores.load(lead_of("ann")).score, scores.load(lead_of("bob")).score
    assert ann.stage is Stage.SQL
    assert ann.contributions == bob.contributions
    assert (
        (ann.events, ann.page_views, ann.sessions) == (bob.events, bob.page_views, bob.sessions) == (4, 3, 1)
    )
    assert ann.score_at(score.model, datetime.now(UTC)) == pytest.approx(
        bob.score_at(score.model, datetime.now(UTC)), abs=0.1
    )
    ann_changes = [(f, t) for lead, f, t in stage_changes(scores) if lead == lead_of("ann")]
    assert ann_changes == [(f, t) for lead, f, t in stage_changes(scores) if lead == lead_of("bob")]
    assert "1 resolved, 0 still parked" in out.getvalue()
    assert queued(aws, "ScoreFailuresQueue") == 0

    assert publish.lambda_handler({"Records": new_records("PublishFunction")}, CTX) == {
        "batchItemFailures": []
    }
    assert sorted(sql_leads(published())) == sorted([lead_of("ann"), lead_of("bob")])  # once each


def test_an_event_parked_before_a_later_one_was_applied_counts_too(track, score, new_records, scores, aws):
    with storing() as stored:
        track.lambda_handler(http_request("/v1/page", page_view("cat", "/pricing")), CTX)
    new_records("ScoreFunction")  # parked
    parked_score_range(aws, stored)
    track.lambda_handler(http_request("/v1/page", page_view("cat", "/docs")), CTX)
    assert score.lambda_handler({"Records": new_records("ScoreFunction")}, CTX) == {"batchItemFailures": []}
    assert set(scores.load(lead_of("cat")).score.contributions) == {"page_view"}  # the later one only

    assert redrive(aws, scores, "ScoreFailuresQueue").run(io.StringIO()) == 0

    cat = scores.load(lead_of("cat")).score
    assert set(cat.contributions) == {"pricing_page", "page_view"}
    assert cat.page_views == 2


def test_a_second_redrive_of_the_same_range_changes_nothing(track, form, score, new_records, scores, aws):
    with storing() as stored:
        visit_and_request_demo(track, form, anonymous_id="dan", email="dan@acme.com")
    new_records("ScoreFunction")
    parked_score_range(aws, stored, size=4)
    assert redrive(aws, scores, "ScoreFailuresQueue").run(io.StringIO()) == 0
    first = scores.load(lead_of("dan")).score
    outbox = stage_changes(scores)
    assert new_records("PublishFunction") != []

    parked_score_range(aws, stored, size=4)  # parked twice (or the operator runs it again)
    assert redrive(aws, scores, "ScoreFailuresQueue").run(io.StringIO()) == 0

    assert replace(scores.load(lead_of("dan")).score, transitions=()) == replace(first, transitions=())
    assert stage_changes(scores) == outbox
    assert new_records("PublishFunction") == []  # no new stage change to publish


def test_a_record_the_stream_still_brings_after_a_rebuild_is_not_counted_twice(
    track, score, new_records, scores, aws
):
    with storing() as stored:
        track.lambda_handler(http_request("/v1/page", page_view("eve", "/pricing")), CTX)
    late = new_records("ScoreFunction")  # still on the stream: ScoreFunction gets it after the rebuild
    parked_score_range(aws, stored)
    assert redrive(aws, scores, "ScoreFailuresQueue").run(io.StringIO()) == 0
    rebuilt = scores.load(lead_of("eve")).score

    assert score.lambda_handler({"Records": late}, CTX) == {"batchItemFailures": []}

    assert scores.load(lead_of("eve")).score == rebuilt
    # and what comes next counts as ever
    track.lambda_handler(http_request("/v1/page", page_view("eve", "/docs")), CTX)
    assert score.lambda_handler({"Records": new_records("ScoreFunction")}, CTX) == {"batchItemFailures": []}
    assert scores.load(lead_of("eve")).score.page_views == 2


def test_a_parked_event_of_a_merged_lead_is_rebuilt_into_the_lead_that_absorbed_it(
    track, score, new_records, scores, aws
):
    identify = {"anonymousId": "laptop", "traits": {"email": "fay@acme.com"}}
    track.lambda_handler(http_request("/v1/page", page_view("laptop", "/")), CTX)
    track.lambda_handler(http_request("/v1/identify", identify), CTX)
    assert score.lambda_handler({"Records": new_records("ScoreFunction")}, CTX) == {"batchItemFailures": []}
    with storing() as stored:  # a second device: its lead is handed over to the known one
        track.lambda_handler(http_request("/v1/page", page_view("phone", "/pricing")), CTX)
        track.lambda_handler(http_request("/v1/identify", {**identify, "anonymousId": "phone"}), CTX)
    new_records("ScoreFunction")  # parked
    parked_score_range(aws, stored, size=2)

    out = io.StringIO()
    assert redrive(aws, scores, "ScoreFailuresQueue").run(out) == 0

    fay = scores.load(lead_of("laptop")).score
    assert {"pricing_page", "page_view"} <= set(fay.contributions)
    assert fay.page_views == 2
    assert "1 lead(s) to rebuild" in out.getvalue()
    # the phone's next visit is forwarded as ever, and its history is not folded in a second time
    track.lambda_handler(http_request("/v1/page", page_view("phone", "/docs")), CTX)
    assert score.lambda_handler({"Records": new_records("ScoreFunction")}, CTX) == {"batchItemFailures": []}
    assert scores.load(lead_of("laptop")).score.page_views == 3


def test_the_dry_run_says_how_many_leads_each_parked_range_concerns(
    track, moto_endpoint, leads_table, aws, capsys
):
    with storing() as stored:
        for visitor in ("gus", "hal"):
            track.lambda_handler(http_request("/v1/page", page_view(visitor, "/")), CTX)
    parked_score_range(aws, stored, size=2)
    top = argparse.ArgumentParser()
    redrive_cli.add_parser(top.add_subparsers(dest="command"))
    args = top.parse_args(["redrive", "ScoreFailuresQueue", "--dry-run"])
    args.stack = None
    target = targets.Target(leads_table, "", "", "http://api", REGION, moto_endpoint)

    assert redrive_cli.run(args, target) == 1

    captured = capsys.readouterr()
    assert "ScoreFailuresQueue: 1 parked, oldest 0 min ago" in captured.out
    assert (
        "1 x RetryAttemptsExhausted: 2 record(s) of shard shardId-00000001573689847184-864758bb"
        in captured.out
    )
    assert "2 lead(s) to rebuild" in captured.out
    assert "scanned" in captured.err  # the scan's progress
    assert scores_untouched(aws, leads_table)
    assert queued(aws, "ScoreFailuresQueue") == 1


def scores_untouched(aws: dict[str, Any], table: str) -> bool:
    items = aws["dynamodb"].scan(TableName=table)["Items"]
    return not any(i["sk"]["S"] == "STATE" and "behaviour" in i for i in items)


def test_a_range_whose_events_are_all_gone_is_dropped_saying_so(aws, scores):
    window = Stored()
    window.first = window.last = datetime(2026, 1, 1, tzinfo=UTC)
    parked_score_range(aws, window)

    out = io.StringIO()
    assert redrive(aws, scores, "ScoreFailuresQueue").run(out) == 0

    assert "nothing to rebuild" in out.getvalue()
    assert queued(aws, "ScoreFailuresQueue") == 0


# --- NotifyFailuresQueue: a parked notification is a reference, the card is read when it is sent ----------


def test_a_parked_notification_holds_no_personal_data_and_its_redrive_sends_the_full_card(
    track, form, score, publish, notify, new_records, published, handed_over, scores, aws, notifications_file
):
    visit_and_request_demo(track, form, anonymous_id="ivy", email="ivy@acme.com")
    score.lambda_handler({"Records": new_records("ScoreFunction")}, CTX)
    publish.lambda_handler({"Records": new_records("PublishFunction")}, CTX)
    [event] = published()
    parked_notification(aws, handed_over(event))  # Slack was down through Lambda's retries

    bodies = [
        m["Body"]
        for m in aws["sqs"].receive_message(
            QueueUrl=aws["queues"]["NotifyFailuresQueue"], MaxNumberOfMessages=10, VisibilityTimeout=0
        )["Messages"]
    ]
    assert len(bodies) == 1
    for personal in ("ivy@acme.com", "Jane Doe", "Acme", "@"):
        assert personal not in bodies[0]
    assert json.loads(bodies[0])["requestPayload"]["transition_id"] == event["detail"]["transition_id"]

    out = io.StringIO()
    assert redrive(aws, scores, "NotifyFailuresQueue", NotifySalesFunction=notify).run(out) == 0

    [sent] = notifications(notifications_file)
    assert sent["card"] == event["detail"]["card"]  # the card as the bus told it: name, e-mail, reasons...
    assert sent["subject"].startswith("New SQL: Jane Doe at Acme")
    assert queued(aws, "NotifyFailuresQueue") == 0


def test_a_parked_notification_of_a_person_erased_since_is_dropped_saying_so(
    track,
    form,
    score,
    publish,
    notify,
    new_records,
    published,
    handed_over,
    scores,
    aws,
    notifications_file,
    leads_table,
    stack,
):
    visit_and_request_demo(track, form, anonymous_id="joe", email="joe@acme.com")
    score.lambda_handler({"Records": new_records("ScoreFunction")}, CTX)
    publish.lambda_handler({"Records": new_records("PublishFunction")}, CTX)
    [event] = published()
    parked_notification(aws, handed_over(event))
    privacy = PrivacyRepository(leads_table, stack.physical_name("AccountsTable"))
    lead = privacy.partition(leads_table, f"LEAD#{lead_of('joe')}")
    privacy.delete(leads_table, [(i["pk"]["S"], i["sk"]["S"]) for i in lead])  # what an erasure leaves

    out = io.StringIO()
    assert redrive(aws, scores, "NotifyFailuresQueue", NotifySalesFunction=notify).run(out) == 0

    assert f"{event['detail']['transition_id']}: lead erased; nothing to send" in out.getvalue()
    assert notifications(notifications_file) == []
    assert queued(aws, "NotifyFailuresQueue") == 0


def test_a_whole_bus_event_parked_by_eventbridge_itself_is_redriven_by_reference(
    aws, track, form, score, notify, notifications_file, scores
):
    """EventBridge's own dead-letter queue (the rule could not invoke the function at all) may hold the
    event as it was on the bus: the redrive hands the function only its reference."""
    the_samples_story(track, form, score)
    bus_event = sample("lead_stage_changed.json")
    aws["sqs"].send_message(QueueUrl=aws["queues"]["NotifyFailuresQueue"], MessageBody=json.dumps(bus_event))

    assert redrive(aws, scores, "NotifyFailuresQueue", NotifySalesFunction=notify).run(io.StringIO()) == 0

    assert [n["transition_id"] for n in notifications(notifications_file)] == [
        bus_event["detail"]["transition_id"]
    ]


# --- AccountFailuresQueue: every lead's state and account profile rolled up again, then the outbox -------


def account_redrive(aws: dict[str, Any], stack: Any, scores: Any, **handlers: Any) -> redrive_cli.Redrive:
    def invoke(function: str, event: dict[str, Any]) -> Any:
        return handlers[function].lambda_handler(event, CTX)

    return redrive_cli.Redrive(
        "AccountFailuresQueue",
        aws["sqs"],
        aws["queues"]["AccountFailuresQueue"],
        scores,
        invoke,
        err=io.StringIO(),
        dynamodb=aws["dynamodb"],
        accounts_table=stack.physical_name("AccountsTable"),
    )


def parked_account_range(aws: dict[str, Any], records: list[dict[str, Any]]) -> None:
    parked_stream_batch(aws, "AccountFailuresQueue", records)


def test_lead_changes_the_account_function_gave_up_on_are_rolled_up_by_a_redrive_and_published_once(
    track, form, score, account, publish, new_records, filters, scores, aws, stack
):
    for person, title in {"ann": "CFO", "bob": "CTO"}.items():
        visit_and_request_demo(track, form, anonymous_id=person, email=f"{person}@initech.com", title=title)
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    lost = new_records(filters["AccountFunction"])  # AccountFunction never saw these: parked
    parked_account_range(aws, lost)
    ledger = AccountLedger(stack.physical_name("AccountsTable"), stack.physical_name("LeadsTable"))
    assert ledger.state("initech.com") is None

    out = io.StringIO()
    with bus_entries() as entries:
        assert (
            account_redrive(aws, stack, scores, AccountFunction=account, PublishFunction=publish).run(out)
            == 0
        )

    state = ledger.state("initech.com")
    assert state is not None
    assert state.people == 2  # both count in the account
    assert "2 lead(s) to roll up again" in out.getvalue()
    account_events = [e for e in entries if e["Resources"] == ["initech.com"]]
    assert account_events != []
    assert queued(aws, "AccountFailuresQueue") == 0

    parked_account_range(aws, lost)  # the same range parked again (a second failure of the same records)
    with bus_entries() as again:
        assert (
            account_redrive(aws, stack, scores, AccountFunction=account, PublishFunction=publish).run(out)
            == 0
        )
    assert ledger.state("initech.com") == state
    assert again == []  # nothing published twice


def test_account_events_the_bus_refused_are_published_by_an_account_redrive(
    track, form, score, account, publish, new_records, filters, scores, aws, stack
):
    visit_and_request_demo(track, form, anonymous_id="ann", email="ann@initech.com", title="CFO")
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    assert account.lambda_handler({"Records": new_records(filters["AccountFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    outbox = [
        r
        for r in stream_records(aws, stack.physical_name("AccountsTable"))
        if r["dynamodb"]["Keys"]["sk"]["S"].startswith("ATRANS#")
    ]
    with eventbridge_rejects(), pytest.raises(BatchProcessingError):  # the whole batch failed: retried
        publish.lambda_handler({"Records": outbox}, CTX)
    parked_account_range(aws, outbox)

    with bus_entries() as entries:
        assert (
            account_redrive(aws, stack, scores, AccountFunction=account, PublishFunction=publish).run(
                io.StringIO()
            )
            == 0
        )

    assert sorted(e["DetailType"] for e in entries) == sorted(ledger_event_types(outbox))


def ledger_event_types(records: list[dict[str, Any]]) -> list[str]:
    return [r["dynamodb"]["NewImage"]["detail_type"]["S"] for r in records]


# --- ArchiveFailuresQueue: a parked range is archived again from the leads table's history items ---------


def parked_archive_range(aws: dict[str, Any], stored: Stored, size: int) -> None:
    """What Lambda's on-failure destination writes for a batch ArchiveFunction gave up on: its range and
    arrival times (a range long gone from the stream)."""
    info = {
        "requestContext": {"condition": "RetryAttemptsExhausted", "functionArn": "ArchiveFunction"},
        "DDBStreamBatchInfo": {
            "shardId": "shardId-00000001573689847184-864758bb",
            "startSequenceNumber": "800000000003126276362",
            "endSequenceNumber": "800000000003126276399",
            "approximateArrivalOfFirstRecord": f"{stored.first:%Y-%m-%dT%H:%M:%S}Z",
            "approximateArrivalOfLastRecord": f"{stored.last:%Y-%m-%dT%H:%M:%S}Z",
            "batchSize": size,
            "streamArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/gone/stream/2026-11-01T00:00:00.000",
        },
    }
    aws["sqs"].send_message(QueueUrl=aws["queues"]["ArchiveFailuresQueue"], MessageBody=json.dumps(info))


def test_a_parked_archive_range_is_archived_again_once_and_a_second_redrive_adds_nothing(
    track, form, score, new_records, scores, stack, aws
):
    archive = importlib.import_module("functions.archive.app")
    bucket = ArchiveStore(stack.physical_name("ArchiveBucket"))
    with storing() as stored:
        visit_and_request_demo(track, form, anonymous_id="ann", email="ann@acme.com")
        assert score.lambda_handler({"Records": new_records("ScoreFunction")}, CTX) == {
            "batchItemFailures": []
        }
    new_records()  # ArchiveFunction gave up on these: parked, and gone from the stream
    parked_archive_range(aws, stored, size=8)
    # a twin journey, archived on time: what the redrive must come to
    subscribed = {sub.function: sub for sub in stack.streams if sub.table == "LeadsTable"}
    visit_and_request_demo(track, form, anonymous_id="bob", email="bob@acme.com")
    stored_events = new_records()
    score.lambda_handler(
        {"Records": [r for r in stored_events if subscribed["ScoreFunction"].matches(r)]}, CTX
    )
    history = [r for r in stored_events + new_records() if subscribed["ArchiveFunction"].matches(r)]
    assert archive.lambda_handler({"Records": history}, CTX) == {"batchItemFailures": []}

    def archived() -> list[ArchivedRecord]:
        return list(ArchiveReader(bucket).records(stored.first.date(), datetime.now(UTC).date()))

    def people() -> dict[str, Any]:
        return histories(archived())

    def story(person: Any) -> tuple[list[str], list[str]]:
        return [e.type.value for e in person.events], [c.to_stage.value for c in person.changes]

    bob = people()[lead_of("bob")]
    assert lead_of("ann") not in people()

    def redriven() -> tuple[int, str]:
        out = io.StringIO()
        work = redrive_cli.Redrive(
            "ArchiveFailuresQueue",
            aws["sqs"],
            aws["queues"]["ArchiveFailuresQueue"],
            scores,
            lambda function, event: archive.lambda_handler(event, CTX),
            dynamodb=aws["dynamodb"],
            err=io.StringIO(),
        )
        return work.run(out), out.getvalue()

    left, said = redriven()

    assert left == 0
    assert "1 resolved, 0 still parked" in said
    assert queued(aws, "ArchiveFailuresQueue") == 0
    ann = people()[lead_of("ann")]
    assert story(ann) == story(bob)  # every event and stage change once, as for the twin archived on time
    assert story(ann) == (["page", "page", "page", "form"], ["SQL"])  # a demo request: a hand-raiser
    records = archived()

    parked_archive_range(aws, stored, size=8)  # parked twice (a second failure): nothing is added
    assert redriven()[0] == 0
    assert [r.identity for r in archived()] == [r.identity for r in records]
