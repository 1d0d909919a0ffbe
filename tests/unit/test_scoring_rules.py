"""Behaviour and fit rules: the first matching rule earns, caps hold, the latest trait value counts."""

import pytest
from leadstream.scoring.model import ScoringModel

from tests.unit.builders import form, identify, page, scored, track
from tests.unit.model import (
    BLOG,
    DEMO,
    FORM,
    FREE_EMAIL,
    JOBS,
    MAX_PRICING,
    PAGE,
    PRICING,
    SENIOR,
    STUDENT,
    WORK_EMAIL,
)


@pytest.mark.parametrize("path", ["/pricing", "/en/pricing", "/pricing/enterprise"])
def test_given_a_new_visitor_when_they_view_pricing_then_they_earn_the_pricing_points(
    model: ScoringModel, path: str
) -> None:
    lead = scored(model, page(path))

    assert lead.behaviour == PRICING
    assert lead.contributions == {"pricing": (PRICING, 1)}


def test_given_a_capped_rule_when_a_visitor_matches_it_once_more_than_the_cap_then_only_the_cap_counts(
    model: ScoringModel,
) -> None:
    lead = scored(model, *[page("/pricing") for _ in range(MAX_PRICING + 1)])

    assert lead.behaviour == MAX_PRICING * PRICING
    assert lead.contributions == {"pricing": (MAX_PRICING * PRICING, MAX_PRICING)}
    assert lead.events == MAX_PRICING + 1


def test_given_a_cap_was_reached_in_an_earlier_update_when_pricing_is_viewed_again_then_nothing_is_earned(
    model: ScoringModel,
) -> None:
    capped = scored(model, *[page("/pricing") for _ in range(MAX_PRICING)])

    lead = scored(model, page("/pricing"), state=capped)

    assert lead.behaviour == MAX_PRICING * PRICING
    assert lead.contributions["pricing"] == (MAX_PRICING * PRICING, MAX_PRICING)


def test_given_a_blog_post_when_it_is_viewed_then_only_the_blog_rule_earns_not_also_the_catch_all(
    model: ScoringModel,
) -> None:
    lead = scored(model, page("/blog/why-leads-go-cold"))

    assert lead.behaviour == BLOG
    assert lead.contributions == {"blog": (BLOG, 1)}


def test_given_an_ordinary_page_when_it_is_viewed_then_it_earns_the_page_view_points(
    model: ScoringModel,
) -> None:
    lead = scored(model, page("/about"))

    assert lead.behaviour == PAGE
    assert lead.contributions == {"page": (PAGE, 1)}


def test_given_a_visitor_when_they_look_at_job_openings_then_they_lose_points(model: ScoringModel) -> None:
    lead = scored(model, page("/pricing"), page("/careers/backend-engineer"))

    assert lead.behaviour == PRICING + JOBS
    assert lead.contributions["jobs"] == (JOBS, 1)


def test_given_the_demo_request_form_when_it_is_submitted_then_it_earns_demo_points_not_generic_form_points(
    model: ScoringModel,
) -> None:
    lead = scored(model, form("demo-request"))

    assert lead.behaviour == DEMO
    assert lead.contributions == {"demo": (DEMO, 1)}


def test_given_any_other_form_when_it_is_submitted_then_it_earns_the_generic_form_points(
    model: ScoringModel,
) -> None:
    lead = scored(model, form("newsletter"))

    assert lead.behaviour == FORM
    assert lead.contributions == {"form": (FORM, 1)}


def test_given_no_rule_for_them_when_track_and_identify_events_arrive_then_they_earn_no_behaviour_points(
    model: ScoringModel,
) -> None:
    lead = scored(model, track("Signed Up"), identify())

    assert lead.behaviour == 0
    assert lead.contributions == {}
    assert lead.events == 2


def test_given_a_work_email_when_the_lead_identifies_then_fit_points_are_added(model: ScoringModel) -> None:
    lead = scored(model, identify(email_kind="work"))

    assert lead.fit == WORK_EMAIL
    assert lead.fit_points == {"work_email": WORK_EMAIL}


def test_given_a_free_email_when_the_lead_identifies_then_fit_points_are_taken_away(
    model: ScoringModel,
) -> None:
    lead = scored(model, identify(email_kind="free"))

    assert lead.fit == FREE_EMAIL
    assert lead.fit_points == {"free_email": FREE_EMAIL}


@pytest.mark.parametrize(
    "title", ["VP Marketing", "Head of Growth", "Chief Executive Officer", "Co-Founder", "Sales DIRECTOR"]
)
def test_given_a_senior_job_title_when_the_lead_identifies_then_fit_points_are_added(
    model: ScoringModel, title: str
) -> None:
    lead = scored(model, identify(title=title))

    assert lead.fit_points == {"senior": SENIOR}


def test_given_a_student_title_when_the_lead_identifies_then_fit_points_are_taken_away(
    model: ScoringModel,
) -> None:
    lead = scored(model, identify(title="Marketing Intern"))

    assert lead.fit_points == {"student": STUDENT}


def test_given_a_work_email_when_a_later_identify_says_free_email_then_the_later_value_replaces_the_earlier(
    model: ScoringModel,
) -> None:
    lead = scored(model, identify(email_kind="work"), identify(email_kind="free"))

    assert lead.fit_points == {"free_email": FREE_EMAIL}
    assert lead.fit == FREE_EMAIL


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

    assert lead.fit_points == {"senior": SENIOR, "work_email": WORK_EMAIL}


def test_given_a_director_of_international_sales_when_they_identify_then_they_are_not_scored_as_a_student(
    model: ScoringModel,
) -> None:
    lead = scored(model, identify(title="Director of International Sales"))

    assert lead.fit_points == {"senior": SENIOR}
