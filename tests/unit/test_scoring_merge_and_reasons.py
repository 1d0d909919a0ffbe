"""Folding an anonymous history into a known lead, and explaining a score to sales."""

import pytest
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import LeadScore, Reason, merge
from leadstream.tracking.attribution import Channel, Touch

from tests.unit.builders import T0, day, form, identify, new_lead, page, scored, track
from tests.unit.model import (
    BLOG,
    DEMO,
    FREE_EMAIL,
    HALF_LIFE_DAYS,
    JOBS,
    MAX_PRICING,
    PAGE,
    PRICING,
    SENIOR,
    SQL,
    WORK_EMAIL,
)

PAID = Touch(Channel.PAID_SEARCH, source="google", medium="cpc", campaign="spring", landing_path="/pricing")
DIRECT = Touch(Channel.DIRECT, landing_path="/about")


def test_given_an_earlier_anonymous_history_when_merged_then_its_decayed_points_and_contributions_fold_in(
    model: ScoringModel,
) -> None:
    known = scored(model, identify(email_kind="work"), page("/about", touch=DIRECT), state=new_lead("Lknown"))
    anonymous = scored(
        model,
        page("/pricing", at=day(-HALF_LIFE_DAYS), touch=PAID),
        page("/pricing", at=day(-HALF_LIFE_DAYS)),
        state=new_lead("Lanon"),
    )

    merged = merge(model, known, anonymous)

    assert merged.lead_id == "Lknown"
    assert merged.behaviour == pytest.approx(
        PAGE + 2 * PRICING / 2
    )  # the anonymous points are a half-life old
    assert merged.score_at(model, T0) == pytest.approx(PAGE + PRICING + WORK_EMAIL)
    assert merged.as_of == T0
    assert merged.contributions == {"page": (PAGE, 1), "pricing": (2 * PRICING, 2)}
    assert merged.fit_points == {"work_email": WORK_EMAIL}
    assert merged.events == 4


def test_given_an_anonymous_history_that_started_earlier_when_merged_then_its_first_touch_wins(
    model: ScoringModel,
) -> None:
    known = scored(model, page("/about", touch=DIRECT), state=new_lead("Lknown"))
    anonymous = scored(model, page("/pricing", at=day(-3), touch=PAID), state=new_lead("Lanon"))

    merged = merge(model, known, anonymous)

    assert merged.first_touch == PAID
    assert merged.first_seen == day(-3)


def test_given_a_known_lead_seen_first_when_an_anonymous_history_is_merged_then_its_first_touch_stays(
    model: ScoringModel,
) -> None:
    known = scored(model, page("/about", at=day(-HALF_LIFE_DAYS), touch=DIRECT), state=new_lead("Lknown"))
    anonymous = scored(model, page("/pricing", touch=PAID), state=new_lead("Lanon"))

    merged = merge(model, known, anonymous)

    assert merged.first_touch == DIRECT
    assert merged.first_seen == day(-HALF_LIFE_DAYS)


def test_given_a_quiet_known_lead_when_a_newer_anonymous_history_is_merged_then_the_known_points_decay(
    model: ScoringModel,
) -> None:
    quiet = day(-HALF_LIFE_DAYS)
    known = scored(model, page("/pricing", at=quiet), page("/pricing", at=quiet), state=new_lead("Lk"))
    anonymous = scored(model, page("/a"), page("/b"), state=new_lead("Lanon"))

    merged = merge(model, known, anonymous)

    assert merged.behaviour == pytest.approx(2 * PRICING / 2 + 2 * PAGE)
    assert merged.as_of == T0


def test_given_both_leads_earned_the_same_rule_when_merged_then_points_and_times_are_added_up(
    model: ScoringModel,
) -> None:
    known = scored(model, page("/about"), page("/blog/a"), state=new_lead("Lknown"))
    anonymous = scored(model, page("/team", at=day(-1)), state=new_lead("Lanon"))

    merged = merge(model, known, anonymous)

    assert merged.contributions == {"page": (2 * PAGE, 2), "blog": (BLOG, 1)}


def test_given_an_anonymous_lead_with_fit_traits_when_merged_then_the_known_lead_gains_them(
    model: ScoringModel,
) -> None:
    known = scored(model, identify(email_kind="work"), state=new_lead("Lknown"))
    anonymous = scored(model, page("/about"), identify(title="Head of Marketing"), state=new_lead("Lanon"))

    merged = merge(model, known, anonymous)

    assert merged.fit_points == {"work_email": WORK_EMAIL, "senior": SENIOR}


def test_given_an_anonymous_lead_with_no_history_when_merged_then_the_known_lead_is_unchanged(
    model: ScoringModel,
) -> None:
    known = scored(model, identify(email_kind="work"), page("/pricing"), state=new_lead("Lknown"))

    assert merge(model, known, new_lead("Lanon")) == known


def test_given_an_anonymous_history_past_sql_merged_into_a_new_lead_when_it_identifies_then_it_becomes_sql(
    model: ScoringModel,
) -> None:
    anonymous = scored(
        model,
        page("/pricing"),
        page("/pricing"),
        form("demo-request"),
        page("/blog/a"),
        page("/blog/b"),
        state=new_lead("Lanon"),
    )

    merged = merge(model, new_lead("Lknown"), anonymous)
    lead = scored(model, identify(email_kind="work"), state=merged)

    assert lead.score_at(model, T0) == 2 * PRICING + DEMO + 2 * BLOG + WORK_EMAIL >= SQL
    assert lead.stage is Stage.SQL
    assert [t.id for t in lead.transitions] == ["Lknown:SQL:1"]


def test_given_a_scored_lead_when_asked_for_reasons_then_the_top_four_are_ordered_by_absolute_points(
    model: ScoringModel,
) -> None:
    lead = scored(
        model,
        page("/pricing"),
        page("/pricing"),
        page("/careers"),
        page("/blog/a"),
        page("/about"),
        identify(email_kind="free", title="VP Marketing"),
    )

    assert lead.reasons(model) == [
        Reason("pricing", "Saw pricing", 2 * PRICING),
        Reason("free_email", "Free address", FREE_EMAIL),
        Reason("jobs", "Looked at jobs", JOBS),
        Reason("senior", "Senior title", SENIOR),
    ]


def test_given_a_scored_lead_when_asked_for_the_top_two_reasons_then_only_two_are_given(
    model: ScoringModel,
) -> None:
    lead = scored(model, page("/blog/a"), form("demo-request"), identify(email_kind="work"))

    assert lead.reasons(model, top=2) == [
        Reason("demo", "Asked for a demo", DEMO),
        Reason("work_email", "Work address", WORK_EMAIL),
    ]


def test_given_points_from_a_rule_no_longer_in_the_model_when_asked_for_reasons_then_the_id_is_made_readable(
    model: ScoringModel,
) -> None:
    lead = LeadScore("L1", behaviour=30, as_of=T0, contributions={"webinar_attended": (30, 1)})

    assert lead.reasons(model) == [Reason("webinar_attended", "webinar attended", 30)]


def test_given_both_leads_reached_the_pricing_cap_when_merged_then_the_rule_cap_still_holds(
    model: ScoringModel,
) -> None:
    known = scored(model, *[page("/pricing") for _ in range(MAX_PRICING)], state=new_lead("Lknown"))
    anonymous = scored(
        model, *[page("/pricing", at=day(-1)) for _ in range(MAX_PRICING)], state=new_lead("Lanon")
    )

    merged = merge(model, known, anonymous)

    assert merged.contributions["pricing"] == (MAX_PRICING * PRICING, MAX_PRICING)
    assert merged.score_at(model, T0) == pytest.approx(MAX_PRICING * PRICING)


def test_given_an_anonymous_lead_with_only_unscored_events_when_merged_then_its_first_visit_is_kept(
    model: ScoringModel,
) -> None:
    known = scored(model, identify(email_kind="work"), state=new_lead("Lknown"))
    anonymous = scored(model, track("Opened App", at=day(-3)), state=new_lead("Lanon"))

    merged = merge(model, known, anonymous)

    assert merged.first_seen == day(-3)
    assert merged.events == 2
