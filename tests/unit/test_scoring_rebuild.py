"""A rebuild scores a lead again from its stored events: what the stream missed counts, nothing counts twice,
and the stage only moves forward."""

from dataclasses import replace
from datetime import timedelta

import pytest
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.replay import STREAM_RETENTION, StoredScore, message_key
from leadstream.scoring.score import rebuild, unmerged

from tests.unit.builders import T0, day, form, identify, new_lead, page, scored
from tests.unit.model import DEMO, FORM, MQL, PAGE, PRICING, SQL, WORK_EMAIL


def test_given_an_event_the_stream_lost_when_the_lead_is_rebuilt_then_it_counts_with_the_others(
    model: ScoringModel,
) -> None:
    lost, later = page("/pricing", at=T0), page("/docs", at=T0 + timedelta(minutes=5))
    applied = scored(model, later)  # the later event reached the score, the parked one did not

    lead = rebuild(model, applied, [lost, later])

    assert lead.score_at(model, later.at) == pytest.approx(
        scored(model, lost, later).score_at(model, later.at)
    )
    assert lead.page_views == 2


def test_given_events_in_any_order_and_twice_when_rebuilt_then_each_counts_once_in_time_order(
    model: ScoringModel,
) -> None:
    first, second = page("/pricing", at=T0), form("newsletter", at=T0 + timedelta(hours=1))

    lead = rebuild(model, new_lead(), [second, first, second])

    assert lead.score_at(model, second.at) == pytest.approx(
        scored(model, first, second).score_at(model, second.at)
    )
    assert lead.events == 2
    assert lead.first_seen == first.at


def test_given_stages_the_lost_event_would_have_reached_when_rebuilt_then_they_are_new_transitions(
    model: ScoringModel,
) -> None:
    demo = form("demo-request", at=T0, email_kind="work")
    pricing = page("/pricing", at=T0 + timedelta(minutes=1))
    applied = scored(model, pricing)
    assert applied.stage is Stage.LEAD

    lead = rebuild(model, applied, [demo, pricing])

    assert MQL <= DEMO + WORK_EMAIL < SQL <= DEMO + WORK_EMAIL + PRICING
    assert lead.stage is Stage.SQL
    assert [(t.id, t.from_stage, t.to_stage, t.at) for t in lead.transitions] == [
        ("L1:MQL:1", Stage.LEAD, Stage.MQL, demo.at),
        ("L1:SQL:2", Stage.MQL, Stage.SQL, pricing.at),
    ]


def test_given_a_stage_reached_before_when_rebuilt_from_fewer_points_then_the_stage_stays_and_nothing_is_new(
    model: ScoringModel,
) -> None:
    reached = scored(model, form("demo-request", at=T0, email_kind="work"), page("/pricing", at=T0))
    assert reached.stage is not Stage.LEAD

    lead = rebuild(model, reached, [page("/docs", at=T0)])  # the others expired

    assert lead.stage is reached.stage
    assert lead.transitions == ()
    assert lead.transition_count == reached.transition_count


def test_given_expired_identify_and_first_visit_when_rebuilt_then_fit_known_and_first_touch_carry_over(
    model: ScoringModel,
) -> None:
    first_visit = page("/", at=day(-400))
    before = scored(model, first_visit, identify(at=day(-400), email_kind="work"))
    recent = page("/docs", at=T0)

    lead = rebuild(model, scored(model, recent, state=before), [recent])  # only `recent` is still stored

    assert lead.known
    assert lead.fit_points == {"work_email": WORK_EMAIL}
    assert lead.first_seen == first_visit.at
    assert lead.score_at(model, T0) == pytest.approx(PAGE + WORK_EMAIL)
    assert lead.page_views == 2  # STATE counted the expired visit: counts never go down


def test_given_a_trait_changed_by_a_lost_event_when_rebuilt_then_the_latest_value_counts(
    model: ScoringModel,
) -> None:
    before = scored(model, identify(at=T0, email_kind="work"))

    lead = rebuild(model, before, [form("newsletter", at=T0 + timedelta(hours=1), email_kind="free")])

    assert "work_email" not in lead.fit_points
    assert lead.score_at(model, T0 + timedelta(hours=1)) == pytest.approx(FORM + lead.fit)


def test_a_rebuilt_event_is_recognised_and_forgotten_once_the_stream_cannot_bring_it() -> None:
    stored = replace(StoredScore.new("L1"), rebuilt={message_key("m-1"): int(T0.timestamp())})

    assert stored.included("m-1")
    assert not stored.included("m-2")
    assert stored.pruned(T0 + STREAM_RETENTION).included("m-1")
    assert not stored.pruned(T0 + STREAM_RETENTION + timedelta(seconds=1)).rebuilt


def test_message_keys_are_short_and_tell_message_ids_apart() -> None:
    keys = {message_key(f"msg-{n}") for n in range(10_000)}

    assert len(keys) == 10_000
    assert {len(k) for k in keys} == {11}


# --- after an unmerge: the lead that kept the merge, from its own events only ---------------------------


def test_given_a_stage_only_a_wrong_merge_gave_when_rescored_after_the_unmerge_then_it_is_taken_back_quietly(
    model: ScoringModel,
) -> None:
    own = page("/pricing", at=T0)
    theirs = [form("demo-request", at=T0 + timedelta(minutes=1), email_kind="work")]
    merged = scored(model, own, *theirs)  # the other lead's demo request made this one an SQL
    assert merged.stage is Stage.SQL

    lead = unmerged(model, merged, [own])

    assert lead.stage is Stage.LEAD
    assert lead.transitions == ()  # sales is not told about anything
    assert lead.transition_count == merged.transition_count  # the next stage change gets an id of its own
    assert (lead.events, lead.fit_points, lead.known) == (1, {}, False)
    assert lead.score_at(model, own.at) == pytest.approx(PRICING)


def test_given_a_stage_the_lead_never_had_when_rescored_after_an_unmerge_then_it_is_a_new_transition(
    model: ScoringModel,
) -> None:
    demo = form("demo-request", at=T0, email_kind="work")
    pricing = page("/pricing", at=T0 + timedelta(minutes=1))
    before = replace(scored(model, demo), transitions=())  # an MQL (its first stage change)
    assert before.stage is Stage.MQL

    lead = unmerged(model, before, [demo, pricing])

    assert lead.stage is Stage.SQL
    assert [(t.id, t.from_stage, t.to_stage) for t in lead.transitions] == [
        ("L1:SQL:2", Stage.MQL, Stage.SQL)
    ]
