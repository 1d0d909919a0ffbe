"""Stage thresholds: MQL, then SQL for known leads only; stages only move forward."""

from datetime import timedelta

from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import Reason, Transition
from leadstream.tracking.events import BehaviourEvent

from tests.unit.builders import T0, day, form, identify, new_lead, page, scored, track
from tests.unit.model import (
    BLOG,
    DEMO,
    FORM,
    FREE_EMAIL,
    HALF_LIFE_DAYS,
    MQL,
    PAGE,
    PRICING,
    SQL,
    WORK_EMAIL,
)

ANONYMOUS_POINTS = 2 * PRICING + DEMO + 2 * BLOG


def _anonymous_past_sql_points() -> list[BehaviourEvent]:
    """Everything a buyer does, without ever giving an e-mail address: enough points for SQL."""
    return [page("/pricing"), page("/pricing"), form("demo-request"), page("/blog/a"), page("/blog/b")]


def test_given_a_lead_just_under_the_mql_threshold_when_scored_then_it_stays_a_lead(
    model: ScoringModel,
) -> None:
    lead = scored(model, page("/pricing"), form(), page("/blog/a"), page("/a"), page("/b"), page("/c"))

    assert lead.score_at(model, T0) == PRICING + FORM + BLOG + 3 * PAGE == MQL - 1
    assert lead.stage is Stage.LEAD
    assert lead.transitions == ()


def test_given_a_lead_when_its_score_reaches_the_mql_threshold_exactly_then_it_becomes_an_mql(
    model: ScoringModel,
) -> None:
    lead = scored(model, page("/pricing"), page("/pricing"))

    assert lead.score_at(model, T0) == 2 * PRICING == MQL
    assert lead.stage is Stage.MQL
    assert lead.transitions == (
        Transition(
            "L1:MQL:1",
            Stage.LEAD,
            Stage.MQL,
            T0,
            MQL,
            (Reason("pricing", "Saw pricing", 2 * PRICING),),
            model_version=model.version,
            fit=(),
        ),
    )


def test_given_an_anonymous_visitor_past_the_sql_score_when_scored_then_it_stays_mql_as_sales_cannot_call_it(
    model: ScoringModel,
) -> None:
    lead = scored(model, *_anonymous_past_sql_points())

    assert lead.score_at(model, T0) == ANONYMOUS_POINTS >= SQL
    assert lead.known is False
    assert lead.stage is Stage.MQL


def test_given_an_anonymous_mql_past_the_sql_score_when_it_identifies_with_an_email_then_it_becomes_an_sql(
    model: ScoringModel,
) -> None:
    anonymous = scored(model, *_anonymous_past_sql_points())

    lead = scored(model, identify(email_kind="work"), state=anonymous)

    assert lead.known is True
    assert lead.stage is Stage.SQL
    assert [(t.id, t.from_stage, t.to_stage) for t in lead.transitions] == [
        ("L1:SQL:2", Stage.MQL, Stage.SQL)
    ]


def test_given_an_anonymous_mql_past_the_sql_score_when_it_sends_a_form_with_an_email_then_it_becomes_an_sql(
    model: ScoringModel,
) -> None:
    anonymous = scored(model, *_anonymous_past_sql_points())

    lead = scored(model, form("newsletter", email_kind="free"), state=anonymous)

    assert lead.score_at(model, T0) == ANONYMOUS_POINTS + FORM + FREE_EMAIL >= SQL
    assert lead.known is True
    assert lead.stage is Stage.SQL


def test_given_an_anonymous_mql_when_an_identify_carries_no_email_kind_then_it_stays_unknown_and_mql(
    model: ScoringModel,
) -> None:
    anonymous = scored(model, *_anonymous_past_sql_points())

    lead = scored(model, identify(title="Head of Sales"), state=anonymous)

    assert lead.known is False
    assert lead.stage is Stage.MQL
    assert lead.transitions == ()


def test_given_an_mql_when_its_score_decays_below_the_threshold_then_it_stays_an_mql(
    model: ScoringModel,
) -> None:
    mql = scored(model, page("/pricing"), page("/pricing"))

    lead = scored(model, track("Opened App", at=day(3 * HALF_LIFE_DAYS)), state=mql)

    assert lead.score_at(model, day(3 * HALF_LIFE_DAYS)) < MQL
    assert lead.stage is Stage.MQL
    assert lead.transitions == ()


def test_given_an_sql_when_its_score_decays_to_mql_level_then_it_stays_an_sql(model: ScoringModel) -> None:
    sql = scored(model, identify(email_kind="work"), page("/pricing"), form("demo-request"))
    assert sql.score_at(model, T0) == WORK_EMAIL + PRICING + DEMO >= SQL
    assert sql.stage is Stage.SQL

    later = day(HALF_LIFE_DAYS / 2)
    lead = scored(model, page("/about", at=later), state=sql)

    assert MQL <= lead.score_at(model, later) < SQL
    assert lead.stage is Stage.SQL
    assert lead.transitions == ()


def test_given_a_call_that_made_a_transition_when_a_later_call_adds_events_then_it_carries_no_old_transitions(
    model: ScoringModel,
) -> None:
    first = scored(model, page("/pricing"), page("/pricing"))
    assert len(first.transitions) == 1

    second = scored(model, page("/blog/a", at=day(1)), state=first)

    assert second.stage is Stage.MQL
    assert second.transitions == ()


def test_given_an_mql_when_a_later_call_reaches_sql_then_only_that_calls_transition_is_returned(
    model: ScoringModel,
) -> None:
    mql = scored(model, page("/pricing"), page("/pricing"), identify(email_kind="work"))
    assert MQL <= mql.score_at(model, T0) < SQL

    sql = scored(model, form("demo-request"), state=mql)

    assert [t.id for t in mql.transitions] == ["L1:MQL:1"]
    assert [t.id for t in sql.transitions] == ["L1:SQL:2"]
    assert sql.transition_count == 2


def test_given_a_known_lead_under_mql_when_one_event_lifts_it_past_sql_then_it_jumps_straight_to_sql(
    model: ScoringModel,
) -> None:
    known = scored(model, identify(email_kind="work"), page("/pricing"))
    assert known.score_at(model, T0) == WORK_EMAIL + PRICING < MQL
    assert known.stage is Stage.LEAD

    lead = scored(model, form("demo-request"), state=known)

    assert lead.stage is Stage.SQL
    why = (
        Reason("demo", "Asked for a demo", DEMO),
        Reason("pricing", "Saw pricing", PRICING),
        Reason("work_email", "Work address", WORK_EMAIL),
    )
    score = WORK_EMAIL + PRICING + DEMO
    assert lead.transitions == (
        Transition(
            "L1:SQL:1",
            Stage.LEAD,
            Stage.SQL,
            T0,
            score,
            why,
            model_version=model.version,
            fit=(Reason("work_email", "Work address", WORK_EMAIL),),
        ),
    )


def test_given_a_known_lead_when_one_call_passes_both_thresholds_then_both_transitions_come_in_order(
    model: ScoringModel,
) -> None:
    lead = scored(
        model, identify(email_kind="work"), page("/pricing"), page("/pricing"), form("demo-request")
    )

    assert lead.stage is Stage.SQL
    assert [(t.id, t.from_stage, t.to_stage) for t in lead.transitions] == [
        ("L1:MQL:1", Stage.LEAD, Stage.MQL),
        ("L1:SQL:2", Stage.MQL, Stage.SQL),
    ]


def test_given_the_same_starting_state_when_the_same_events_are_applied_twice_then_the_results_are_identical(
    model: ScoringModel,
) -> None:
    start = scored(model, page("/blog/a"), state=new_lead("Labc"))
    events = [
        page("/pricing", at=day(1)),
        page("/pricing", at=day(1)),
        identify(at=day(2), email_kind="work"),
        form("demo-request", at=day(2)),
    ]

    once = scored(model, *events, state=start)
    again = scored(model, *events, state=start)

    assert once == again
    assert [t.id for t in once.transitions] == ["Labc:MQL:1", "Labc:SQL:2"]


def test_given_points_that_add_up_to_the_threshold_seconds_apart_then_the_stage_is_reached(
    model: ScoringModel,
) -> None:
    second = T0 + timedelta(seconds=1)
    lead = scored(model, page("/pricing", at=T0), form("demo-request", at=second, email_kind="work"))

    assert PRICING + DEMO + WORK_EMAIL == SQL
    assert lead.score_at(model, second) < SQL  # decayed by a hair
    assert lead.stage is Stage.SQL
