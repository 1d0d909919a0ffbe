"""Behaviour and fit rules of the default scoring model (scoring.yaml)."""

import pytest
from leadstream.scoring.model import ScoringModel

from tests.unit.builders import form, identify, page, scored, track


@pytest.mark.parametrize("path", ["/pricing", "/en/pricing", "/pricing/enterprise"])
def test_given_a_new_visitor_when_they_view_pricing_then_they_earn_the_pricing_points(
    model: ScoringModel, path: str
) -> None:
    lead = scored(model, page(path))

    assert lead.behaviour == 25
    assert lead.contributions == {"pricing_page": (25, 1)}


def test_given_pricing_is_capped_at_two_when_a_visitor_views_pricing_three_times_then_only_two_count(
    model: ScoringModel,
) -> None:
    lead = scored(model, page("/pricing"), page("/pricing"), page("/pricing"))

    assert lead.behaviour == 50
    assert lead.contributions == {"pricing_page": (50, 2)}
    assert lead.events == 3


def test_given_a_cap_was_reached_in_an_earlier_update_when_pricing_is_viewed_again_then_nothing_is_earned(
    model: ScoringModel,
) -> None:
    capped = scored(model, page("/pricing"), page("/pricing"))

    lead = scored(model, page("/pricing"), state=capped)

    assert lead.behaviour == 50
    assert lead.contributions["pricing_page"] == (50, 2)


def test_given_a_blog_post_when_it_is_viewed_then_only_the_blog_rule_earns_not_also_page_view(
    model: ScoringModel,
) -> None:
    lead = scored(model, page("/blog/why-leads-go-cold"))

    assert lead.behaviour == 5
    assert lead.contributions == {"blog_post": (5, 1)}


def test_given_an_ordinary_page_when_it_is_viewed_then_it_earns_the_page_view_points(
    model: ScoringModel,
) -> None:
    lead = scored(model, page("/about"))

    assert lead.behaviour == 2
    assert lead.contributions == {"page_view": (2, 1)}


def test_given_a_visitor_when_they_look_at_job_openings_then_they_lose_points(model: ScoringModel) -> None:
    lead = scored(model, page("/pricing"), page("/careers/backend-engineer"))

    assert lead.behaviour == 25 - 15
    assert lead.contributions["careers_page"] == (-15, 1)


def test_given_the_demo_request_form_when_it_is_submitted_then_it_earns_demo_points_not_generic_form_points(
    model: ScoringModel,
) -> None:
    lead = scored(model, form("demo-request"))

    assert lead.behaviour == 40
    assert lead.contributions == {"demo_request": (40, 1)}


def test_given_any_other_form_when_it_is_submitted_then_it_earns_the_generic_form_points(
    model: ScoringModel,
) -> None:
    lead = scored(model, form("newsletter"))

    assert lead.behaviour == 15
    assert lead.contributions == {"contact_form": (15, 1)}


def test_given_the_default_model_when_track_and_identify_events_arrive_then_they_earn_no_behaviour_points(
    model: ScoringModel,
) -> None:
    lead = scored(model, track("Signed Up"), identify())

    assert lead.behaviour == 0
    assert lead.contributions == {}
    assert lead.events == 2


def test_given_a_work_email_when_the_lead_identifies_then_fit_points_are_added(model: ScoringModel) -> None:
    lead = scored(model, identify(email_kind="work"))

    assert lead.fit == 10
    assert lead.fit_points == {"work_email": 10}


def test_given_a_free_email_when_the_lead_identifies_then_fit_points_are_taken_away(
    model: ScoringModel,
) -> None:
    lead = scored(model, identify(email_kind="free"))

    assert lead.fit == -25
    assert lead.fit_points == {"free_email": -25}


@pytest.mark.parametrize(
    "title", ["VP Marketing", "Head of Growth", "Chief Executive Officer", "Co-Founder", "Sales DIRECTOR"]
)
def test_given_a_senior_job_title_when_the_lead_identifies_then_fit_points_are_added(
    model: ScoringModel, title: str
) -> None:
    lead = scored(model, identify(title=title))

    assert lead.fit_points == {"senior_title": 10}


def test_given_a_student_title_when_the_lead_identifies_then_fit_points_are_taken_away(
    model: ScoringModel,
) -> None:
    lead = scored(model, identify(title="Marketing Intern"))

    assert lead.fit_points == {"student": -20}


def test_given_a_work_email_when_a_later_identify_says_free_email_then_the_later_value_replaces_the_earlier(
    model: ScoringModel,
) -> None:
    lead = scored(model, identify(email_kind="work"), identify(email_kind="free"))

    assert lead.fit_points == {"free_email": -25}
    assert lead.fit == -25


def test_given_a_senior_title_when_a_later_title_is_not_senior_then_the_senior_points_are_removed(
    model: ScoringModel,
) -> None:
    senior = scored(model, identify(title="VP Sales"))

    lead = scored(model, identify(title="Account Executive"), state=senior)

    assert lead.fit_points == {}
    assert lead.fit == 0


def test_given_a_senior_title_when_a_later_identify_does_not_mention_the_title_then_the_points_are_kept(
    model: ScoringModel,
) -> None:
    lead = scored(model, identify(title="VP Sales"), identify(email_kind="work"))

    assert lead.fit_points == {"senior_title": 10, "work_email": 10}


def test_given_a_director_of_international_sales_when_they_identify_then_they_are_not_scored_as_a_student(
    model: ScoringModel,
) -> None:
    lead = scored(model, identify(title="Director of International Sales"))

    assert lead.fit_points == {"senior_title": 10}
