"""PublishFunction (the outbox) when EventBridge does not take an event: the record is reported failed, the
stream retries it, and sales hears of the change exactly once when EventBridge takes it."""

from typing import Any

import pytest

from tests.builders import LambdaContext
from tests.integration.conftest import eventbridge_rejects, lead_of
from tests.integration.test_scoring_flow import visit_and_request_demo

CTX = LambdaContext()


def new_sqls(track: Any, form: Any, score: Any, new_records: Any, filters: Any, *visitors: str) -> list[Any]:
    """The outbox records (STATE writes with a stage change) of visitors who each requested a demo."""
    for visitor in visitors:
        visit_and_request_demo(track, form, anonymous_id=visitor, email=f"{visitor}@acme.com")
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    outbox = new_records(filters["PublishFunction"])
    assert len(outbox) == len(visitors)
    return outbox


def sql_leads(events: list[dict[str, Any]]) -> list[str]:
    return [e["detail"]["lead_id"] for e in events if e["detail"]["to_stage"] == "SQL"]


def test_an_entry_eventbridge_rejects_is_a_reported_failure_and_its_retry_publishes_it_once(
    track, form, score, publish, new_records, filters, published, scores
):
    outbox = new_sqls(track, form, score, new_records, filters, "ann", "bob")
    ann, bob = lead_of("ann"), lead_of("bob")

    with eventbridge_rejects(lambda entry: ann in entry["Resources"]) as refused:
        response = publish.lambda_handler({"Records": outbox}, CTX)

    [failed] = [r for r in outbox if scores.from_image(r["dynamodb"]["NewImage"]).lead_id == ann]
    assert response == {"batchItemFailures": [{"itemIdentifier": failed["dynamodb"]["SequenceNumber"]}]}
    assert len(refused) == 1
    assert sql_leads(published()) == [bob]  # the other change went out

    # Lambda retries from the failed record on; EventBridge takes it this time
    retry = outbox[outbox.index(failed) :]
    assert publish.lambda_handler({"Records": retry}, CTX) == {"batchItemFailures": []}
    assert publish.lambda_handler({"Records": outbox}, CTX) == {"batchItemFailures": []}  # and redelivers

    assert sql_leads(published()) == [ann]  # once, and bob not again


def test_a_batch_whose_only_entry_is_rejected_fails_and_is_retried_whole(
    track, form, score, publish, new_records, filters, published
):
    outbox = new_sqls(track, form, score, new_records, filters, "ann")

    with (
        eventbridge_rejects() as refused,
        pytest.raises(Exception, match="EventBridge rejected the event: InternalFailure"),
    ):
        publish.lambda_handler({"Records": outbox}, CTX)  # a function error: Lambda retries the batch

    assert len(refused) == 1
    assert published() == []

    assert publish.lambda_handler({"Records": outbox}, CTX) == {"batchItemFailures": []}
    assert publish.lambda_handler({"Records": outbox}, CTX) == {"batchItemFailures": []}
    assert sql_leads(published()) == [lead_of("ann")]
