"""Old events never take points from new ones: a rule's cap applies to what still counts after decay."""

import pytest
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import merge

from tests.unit.builders import T0, day, new_lead, page, scored
from tests.unit.model import HALF_LIFE_DAYS, MAX_PRICING, PRICING

YEARS_AGO = day(-25 * 365)


def test_given_two_pricing_views_from_years_ago_when_pricing_is_viewed_today_then_it_earns_in_full(
    model: ScoringModel,
) -> None:
    history = scored(model, page("/pricing", at=YEARS_AGO), page("/pricing", at=YEARS_AGO))

    lead = scored(model, page("/pricing", at=T0), state=history)

    assert lead.score_at(model, T0) == pytest.approx(PRICING)
    assert lead.contributions["pricing"] == (3 * PRICING, 3)


def test_given_a_view_today_when_old_views_arrive_late_then_they_do_not_use_up_todays_cap(
    model: ScoringModel,
) -> None:
    today = scored(model, page("/pricing", at=T0))

    late = scored(model, page("/pricing", at=YEARS_AGO), page("/pricing", at=YEARS_AGO), state=today)
    lead = scored(model, page("/pricing", at=T0), state=late)

    assert late.score_at(model, T0) == pytest.approx(PRICING)  # years old: worth nothing now
    assert lead.score_at(model, T0) == pytest.approx(MAX_PRICING * PRICING)
    assert lead.weights["pricing"] == pytest.approx(MAX_PRICING)


def test_given_the_cap_reached_today_when_pricing_is_viewed_the_same_day_then_nothing_is_earned(
    model: ScoringModel,
) -> None:
    capped = scored(model, *[page("/pricing", at=T0) for _ in range(MAX_PRICING)])

    lead = scored(model, page("/pricing", at=day(0.5)), state=capped)

    assert lead.contributions["pricing"] == (MAX_PRICING * PRICING, MAX_PRICING)
    assert lead.score_at(model, day(0.5)) == capped.score_at(model, day(0.5))


def test_given_the_cap_reached_when_a_half_life_has_passed_for_each_view_then_one_more_earns(
    model: ScoringModel,
) -> None:
    capped = scored(model, page("/pricing", at=T0), page("/pricing", at=T0))  # weight 2 at T0

    lead = scored(model, page("/pricing", at=day(HALF_LIFE_DAYS)), state=capped)  # weight 1 by then

    assert lead.contributions["pricing"] == (3 * PRICING, 3)
    assert lead.score_at(model, day(HALF_LIFE_DAYS)) == pytest.approx(2 * PRICING / 2 + PRICING)
    assert lead.weights["pricing"] == pytest.approx(MAX_PRICING)


def test_given_a_faded_rule_when_a_lead_is_merged_then_the_cap_holds_on_what_still_counts(
    model: ScoringModel,
) -> None:
    known = scored(model, page("/pricing", at=T0), state=new_lead("Lknown"))
    old = scored(model, page("/pricing", at=YEARS_AGO), page("/pricing", at=YEARS_AGO), state=new_lead("L2"))
    fresh = scored(model, page("/pricing", at=T0), page("/pricing", at=T0), state=new_lead("L3"))

    with_old = merge(model, known, old)
    with_fresh = merge(model, known, fresh)

    assert scored(model, page("/pricing", at=T0), state=with_old).score_at(model, T0) == pytest.approx(
        MAX_PRICING * PRICING
    )
    assert with_fresh.score_at(model, T0) == pytest.approx(MAX_PRICING * PRICING)  # one of three taken off
    assert with_fresh.weights["pricing"] == pytest.approx(MAX_PRICING)


def test_given_weights_faded_to_nothing_then_they_are_forgotten(model: ScoringModel) -> None:
    lead = scored(model, page("/about", at=YEARS_AGO), page("/pricing", at=T0))

    assert set(lead.weights) == {"pricing"}  # the page view of years ago no longer weighs anything
