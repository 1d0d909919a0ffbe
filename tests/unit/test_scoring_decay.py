"""Behaviour points fade with inactivity; fit points do not."""

import pytest
from leadstream.scoring.model import ScoringModel

from tests.unit.builders import T0, day, identify, page, scored
from tests.unit.model import BLOG, HALF_LIFE_DAYS, PRICING, SENIOR, WORK_EMAIL


def test_given_a_lead_when_nothing_happens_for_one_half_life_then_behaviour_points_are_halved(
    model: ScoringModel,
) -> None:
    lead = scored(model, page("/pricing"), page("/pricing"))

    assert lead.score_at(model, T0) == 2 * PRICING
    assert lead.score_at(model, day(HALF_LIFE_DAYS)) == pytest.approx(2 * PRICING / 2)
    assert lead.score_at(model, day(2 * HALF_LIFE_DAYS)) == pytest.approx(2 * PRICING / 4)


def test_given_behaviour_and_fit_points_when_a_half_life_passes_then_only_behaviour_points_decay(
    model: ScoringModel,
) -> None:
    lead = scored(model, page("/pricing"), page("/pricing"), identify(email_kind="work"))

    assert lead.score_at(model, T0) == 2 * PRICING + WORK_EMAIL
    assert lead.score_at(model, day(HALF_LIFE_DAYS)) == pytest.approx(2 * PRICING / 2 + WORK_EMAIL)


def test_given_only_fit_points_when_a_year_passes_then_the_score_is_unchanged(model: ScoringModel) -> None:
    lead = scored(model, identify(email_kind="work", title="Head of Sales"))

    assert lead.score_at(model, day(365)) == WORK_EMAIL + SENIOR


def test_given_a_quiet_lead_when_it_comes_back_then_new_points_add_to_the_decayed_score(
    model: ScoringModel,
) -> None:
    lead = scored(model, page("/pricing", at=T0), page("/blog/a-post", at=day(HALF_LIFE_DAYS)))

    assert lead.behaviour == pytest.approx(PRICING / 2 + BLOG)
    assert lead.as_of == day(HALF_LIFE_DAYS)


def test_given_a_late_event_when_it_arrives_out_of_order_then_its_points_are_decayed_by_its_age(
    model: ScoringModel,
) -> None:
    recent = scored(model, page("/pricing", at=day(HALF_LIFE_DAYS)))

    lead = scored(model, page("/pricing", at=T0), state=recent)

    assert lead.behaviour == pytest.approx(PRICING + PRICING / 2)
    assert lead.contributions["pricing"] == (2 * PRICING, 2)


def test_given_a_late_event_when_it_arrives_out_of_order_then_the_score_time_does_not_move_back(
    model: ScoringModel,
) -> None:
    recent = scored(model, page("/pricing", at=day(HALF_LIFE_DAYS)))

    lead = scored(model, page("/about", at=T0), state=recent)

    assert lead.as_of == day(HALF_LIFE_DAYS)
    assert lead.first_seen == T0
    assert lead.last_seen == day(HALF_LIFE_DAYS)
