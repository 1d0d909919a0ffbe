"""Scoring when writers race and merges chain: every event counts once, whatever the interleaving.

Two ScoreFunction invocations write the same STATE item when a lead absorbed another device's lead: the
absorbed lead's events come from its own partition (another shard), so they are scored at the same time
as the lead's own. Merges chain when a device joins a lead that was itself absorbed later.
"""

import contextlib
import itertools
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from leadstream.identity.repository import IdentityRepository
from leadstream.platform import aws as aws_clients
from leadstream.platform.errors import ConcurrentUpdate
from leadstream.scoring.batch import MAX_MERGE_HOPS
from leadstream.tracking.repository import EventRepository

from tests.builders import LambdaContext, http_request, page_view, points
from tests.integration.conftest import lead_of

CTX = LambdaContext()
WAIT = 10  # seconds: generous, only reached when something is broken


def visit(track: Any, anonymous_id: str, path: str) -> None:
    response = track.lambda_handler(http_request("/v1/page", page_view(anonymous_id, path)), CTX)
    assert response["statusCode"] == 200


def identify(track: Any, anonymous_id: str, email: str) -> None:
    body = {"anonymousId": anonymous_id, "traits": {"email": email}}
    assert track.lambda_handler(http_request("/v1/identify", body), CTX)["statusCode"] == 200


def known_as(track: Any, anonymous_id: str, user_id: str) -> None:
    body = {"anonymousId": anonymous_id, "userId": user_id}
    assert track.lambda_handler(http_request("/v1/identify", body), CTX)["statusCode"] == 200


def scored(score: Any, records: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = score.lambda_handler({"Records": records}, CTX)
    return result


def lead_in(leads_table: str, record: dict[str, Any]) -> str:
    """The lead a behaviour record is stored under, as ScoreFunction reads it."""
    lead, _event = EventRepository(leads_table).from_image(record["dynamodb"]["NewImage"])
    return lead


@contextlib.contextmanager
def first_write_held() -> Iterator[tuple[threading.Event, threading.Event]]:
    """The first PutItem the functions make waits, its batch's read done, until `release` is set; later
    ones go through. Yields (held, release). Injected at the functions' one DynamoDB client."""
    client = aws_clients.client("dynamodb")
    held, release = threading.Event(), threading.Event()
    lock = threading.Lock()

    def hold(**kwargs: Any) -> None:
        with lock:
            first = not held.is_set()
            held.set()
        if first and not release.wait(WAIT):
            raise TimeoutError("the held write was never released")

    client.meta.events.register("before-call.dynamodb.PutItem", hold)
    try:
        yield held, release
    finally:
        release.set()
        client.meta.events.unregister("before-call.dynamodb.PutItem", hold)


# --- two writers on one STATE item ------------------------------------------------------------------------


@pytest.mark.parametrize("scored_before", [False, True], ids=["new-lead", "scored-lead"])
def test_a_state_write_based_on_a_stale_read_is_refused(
    track, score, new_records, filters, scores, scored_before
):
    lead = lead_of("racer")
    if scored_before:
        visit(track, "racer", "/pricing")
        assert scored(score, new_records(filters["ScoreFunction"])) == {"batchItemFailures": []}
    stale = scores.load(lead)

    visit(track, "racer", "/blog/a")  # meanwhile another invocation scores a newer event
    assert scored(score, new_records(filters["ScoreFunction"])) == {"batchItemFailures": []}
    winner = scores.load(lead)

    with pytest.raises(ConcurrentUpdate):
        scores.save(stale, replace(stale.score, events=stale.score.events + 1))

    assert scores.load(lead) == winner  # the first writer's update is not lost


def test_the_invocation_that_loses_a_race_reports_its_records_and_its_retry_counts_them_once(
    track, score, new_records, filters, scores, leads_table
):
    # Jane's laptop and phone: the phone's lead is absorbed by the laptop's known lead
    visit(track, "laptop", "/blog/a")
    identify(track, "laptop", "jane@acme.com")
    visit(track, "phone", "/about")
    identify(track, "phone", "jane@acme.com")
    assert scored(score, new_records(filters["ScoreFunction"])) == {"batchItemFailures": []}
    laptop, phone = lead_of("laptop"), lead_of("phone")
    assert scores.load(phone).merged_into == laptop

    # both look at pricing at once: two shards, two invocations, one STATE item
    visit(track, "laptop", "/pricing")
    visit(track, "phone", "/pricing")
    records = new_records(filters["ScoreFunction"])
    own = [r for r in records if lead_in(leads_table, r) == laptop]
    forwarded = [r for r in records if lead_in(leads_table, r) == phone]
    assert (len(own), len(forwarded)) == (1, 1)

    with first_write_held() as (held, release):
        results: list[dict[str, Any]] = []
        loser = threading.Thread(target=lambda: results.append(scored(score, forwarded)))
        loser.start()
        assert held.wait(WAIT), "the forwarding invocation never got to its write"
        winner = scored(score, own)  # reads after the loser read, writes before it
        release.set()
        loser.join(WAIT)

    assert winner == {"batchItemFailures": []}
    assert results == [
        {"batchItemFailures": [{"itemIdentifier": forwarded[0]["dynamodb"]["SequenceNumber"]}]}
    ]
    assert scores.load(laptop).score.contributions["pricing_page"][1] == 1  # only the winner's, so far

    assert scored(score, forwarded) == {"batchItemFailures": []}  # the stream retries the reported record
    final = scores.load(laptop)
    assert scored(score, own) == scored(score, forwarded) == {"batchItemFailures": []}  # and redelivers
    assert scores.load(laptop) == final

    lead = final.score
    assert lead.contributions == {
        "blog_post": (points(score.model, "blog_post"), 1),
        "page_view": (points(score.model, "page_view"), 1),
        "pricing_page": (2 * points(score.model, "pricing_page"), 2),
    }
    assert lead.events == 6  # two pages and an identify per device, each once


# --- merges that chain ------------------------------------------------------------------------------------


def test_events_of_a_lead_merged_twice_over_are_scored_on_the_last_lead_once(
    track, score, new_records, filters, scores
):
    # device c is Jane (y); device b is first known by a user id x only, then gives her e-mail y: b joins c
    # (another e-mail than b's own would be another person on a shared device: test_shared_devices)
    identify(track, "c", "y@acme.com")
    known_as(track, "b", "x")
    visit(track, "b", "/blog/a")
    identify(track, "b", "y@acme.com")
    first = new_records(filters["ScoreFunction"])
    assert scored(score, first) == {"batchItemFailures": []}
    # device a browses, then identifies as x, whose lead is b's, which is now c's
    visit(track, "a", "/about")
    known_as(track, "a", "x")
    second = new_records(filters["ScoreFunction"])
    assert scored(score, second) == {"batchItemFailures": []}
    a, b, c = lead_of("a"), lead_of("b"), lead_of("c")
    # x's lead is b's, which is c's now: a joins the root, one hop, not a chain through b
    assert (scores.load(a).merged_into, scores.load(b).merged_into) == (c, c)

    visit(track, "a", "/pricing")  # stored under a's own lead, as every event of device a
    visit(track, "a", "/pricing")
    third = new_records(filters["ScoreFunction"])
    assert scored(score, third) == {"batchItemFailures": []}
    final = scores.load(c)
    for batch in (first, second, third, first + second + third):  # redeliveries, in any grouping
        assert scored(score, batch) == {"batchItemFailures": []}
    assert scores.load(c) == final

    assert [lead.lead_id for lead in scores.scores()] == [c]  # one lead, as sales sees it
    lead = final.score
    assert lead.contributions == {
        "blog_post": (points(score.model, "blog_post"), 1),
        "page_view": (points(score.model, "page_view"), 1),
        "pricing_page": (2 * points(score.model, "pricing_page"), 2),
    }
    assert lead.events == len(first) + len(second) + len(third) == 8


@pytest.mark.parametrize(
    ("hops", "reaches_the_end"),
    [(MAX_MERGE_HOPS, True), (MAX_MERGE_HOPS + 1, False)],
    ids=["at-the-limit", "past-the-limit"],
)
def test_a_merge_chain_past_the_limit_is_reported_failed_not_scored_somewhere(
    track, score, new_records, filters, scores, leads_table, hops, reaches_the_end
):
    devices = [f"device-{i}" for i in range(hops + 1)]
    identities = IdentityRepository(leads_table)
    for device, into in itertools.pairwise(devices):
        identities.mark_merged(lead_of(device), into=lead_of(into))
    visit(track, devices[0], "/pricing")
    [record] = new_records(filters["ScoreFunction"])

    response = scored(score, [record])

    end = scores.load(lead_of(devices[-1])).score
    if reaches_the_end:
        assert response == {"batchItemFailures": []}
        assert end.contributions == {"pricing_page": (points(score.model, "pricing_page"), 1)}
    else:
        assert response == {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
        assert end.events == 0
        assert list(scores.scores()) == []  # not scored anywhere along the chain either
