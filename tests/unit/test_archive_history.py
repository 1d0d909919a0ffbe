"""People's histories from archived records: one person's events and stage changes whichever lead they were
recorded under (merges, merges undone, a shared device handed over), and a replay of them under a model."""

from datetime import UTC, datetime, timedelta

import pytest
from leadstream.archive.history import histories, replay
from leadstream.archive.records import ArchivedRecord
from leadstream.scoring.lifecycle import Stage
from leadstream.tracking.events import EventType

from tests.unit.model import MQL, PRICING, SQL, WORK_EMAIL, build_model

START = datetime(2026, 9, 1, 9, tzinfo=UTC)
_seq = iter(range(10_000, 99_999))


def at(minutes: float) -> float:
    return (START + timedelta(minutes=minutes)).timestamp()


def record(kind: str, lead: str, item: str, minutes: float, **fields: object) -> ArchivedRecord:
    return ArchivedRecord(kind, lead, item, at(minutes), at(minutes) + 1, str(next(_seq)), dict(fields))


def page(lead: str, n: int, minutes: float, path: str = "/pricing") -> ArchivedRecord:
    return record("event", lead, f"EVT#m-{n}", minutes, type="page", path=path, title="Pricing")


def identify(lead: str, n: int, minutes: float) -> ArchivedRecord:
    return record("event", lead, f"EVT#m-{n}", minutes, type="identify", fit={"email_kind": "work"})


def test_a_device_merged_into_a_known_lead_is_one_person_with_every_event_once_in_order():
    records = [
        page("device", 1, 0),
        page("device", 2, 5, "/blog/a"),
        identify("known", 3, 10),
        record("merge", "device", "MERGE#device", 10, into="known", cause="identify"),
        page("device", 4, 20),  # stored under the device after the merge: still the person's
        page("device", 4, 20),  # the same change delivered twice
        record("transition", "known", "TRANS#1", 21, from_stage="lead", to_stage="MQL", score=45, model=1),
        record("transition", "known", "TRANS#2", 30, from_stage="MQL", to_stage="SQL", by=None, model=1),
        record("transition", "known", "TRANS#3", 90, from_stage="SQL", to_stage="won", by="anna@example.com"),
    ]

    found = histories(records)

    assert list(found) == ["known"]
    person = found["known"]
    assert person.leads == {"device", "known"}
    assert [e.message_id for e in person.events] == ["m-1", "m-2", "m-3", "m-4"]
    assert person.events[2].type is EventType.IDENTIFY
    assert person.known_at == START + timedelta(minutes=10)
    assert person.reached(Stage.SQL) == START + timedelta(minutes=30)
    assert person.reached(Stage.WON) == START + timedelta(minutes=90)
    assert person.changes[-1].by == "anna@example.com"


def test_a_merge_undone_leaves_two_people():
    records = [
        page("device", 1, 0),
        identify("known", 2, 1),
        record("merge", "device", "MERGE#device", 2, into="known"),
        record("unmerge", "device", "MERGE#device-undo", 3, into="known"),
        page("device", 3, 4),
    ]

    found = histories(records)

    assert sorted(found) == ["device", "known"]
    assert [e.message_id for e in found["device"].events] == ["m-1", "m-3"]


def test_a_shared_devices_events_are_the_holders_from_the_hand_over():
    records = [
        page("laptop", 1, 0),
        record("handover", "bea", "HELD#laptop", 10, device_lead="laptop"),
        page("laptop", 2, 20),
    ]

    found = histories(records)

    assert [e.message_id for e in found["laptop"].events] == ["m-1"]
    assert [e.message_id for e in found["bea"].events] == ["m-2"]


def test_a_replay_scores_the_person_from_nothing_with_the_stage_changes_the_model_makes():
    model = build_model()
    records = [page("device", 1, 0), page("device", 2, 1), identify("device", 3, 2)]
    person = histories(records)["device"]

    scored = replay(model, person)
    before = replay(model, person, until=START + timedelta(minutes=0.5))

    assert scored.known
    assert scored.score_at(model, START + timedelta(minutes=2)) == pytest.approx(
        2 * PRICING + WORK_EMAIL, abs=0.1
    )
    assert 2 * PRICING >= MQL
    assert 2 * PRICING + WORK_EMAIL < SQL
    assert [(t.to_stage, t.at) for t in scored.transitions] == [(Stage.MQL, START + timedelta(minutes=1))]
    assert before.events == 1
    assert before.transitions == ()


def test_a_person_came_by_their_first_touch_and_a_won_deal_keeps_its_currency():
    newsletter = {"channel": "email", "source": "newsletter", "medium": "email", "campaign": "nov"}
    records = [
        record("event", "device", "EVT#m-1", 0, type="identify"),  # no touch: an identify call
        record("event", "device", "EVT#m-2", 1, type="page", path="/", touch=newsletter),
        record("event", "device", "EVT#m-3", 2, type="page", path="/", touch={"channel": "direct"}),
        record(
            "transition",
            "device",
            "TRANS#1",
            9,
            from_stage="SQL",
            to_stage="won",
            by="r@x.com",
            amount=900,
            currency="EUR",
        ),
    ]

    person = histories(records)["device"]

    assert person.first_touch is not None
    assert (person.first_touch.channel, person.first_touch.campaign) == ("email", "nov")
    assert not person.known  # an identify without an e-mail kind: still anonymous
    assert (person.changes[0].amount, person.changes[0].currency) == (900, "EUR")
    assert histories([identify("known", 1, 0)])["known"].known
