"""The contract of the shipped accounts.yaml: whatever its numbers, it loads, it reads well to sales, titles
a B2B marketer knows land in the right committee roles, and a buying committee working through the README
demo journey makes an MQA while one eager lead or a hundred interns do not.

Tune the numbers freely; these tests fail only when a change breaks what the product promises.
"""

import pytest
from leadstream.accounts.model import AccountModel, AccountStage
from leadstream.accounts.model_file import load_account_model
from leadstream.accounts.score import LeadChange
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.model_file import load_model
from leadstream.scoring.score import LeadScore

from tests.unit.account_model import Ledger, build_ledger
from tests.unit.builders import T0, day, form, new_lead, page, scored

ROLES = {"economic_buyer", "decision_maker", "champion", "technical_evaluator", "user"}


@pytest.fixture(scope="module")
def shipped() -> AccountModel:
    return load_account_model()


@pytest.fixture(scope="module")
def lead_model() -> ScoringModel:
    return load_model()


def account(shipped: AccountModel, lead_model: ScoringModel, domain: str = "acme.com") -> Ledger:
    return build_ledger(shipped, lead_model, domain)


def demo_journey(lead_model: ScoringModel, lead_id: str, title: str, at_day: float = 0) -> LeadScore:
    """The README's journey: read the blog, look at pricing twice, request a demo with a work e-mail."""
    return scored(
        lead_model,
        page("/demo/blog/speed-to-lead.html", at=day(at_day)),
        page("/demo/pricing.html", at=day(at_day)),
        page("/demo/pricing.html", at=day(at_day)),
        form("demo-request", at=day(at_day), email_kind="work", title=title),
        state=new_lead(lead_id),
    )


def change(lead: LeadScore, title: str | None) -> LeadChange:
    assert lead.as_of is not None
    return LeadChange.of(lead, version=1, at=lead.as_of, title=title)


def test_the_shipped_model_loads_with_the_five_committee_roles_and_labels_sales_can_read(
    shipped: AccountModel,
) -> None:
    assert {role.id for role in shipped.committee} == ROLES
    for rule in [*shipped.fit, *shipped.committee]:
        assert rule.label.strip(), f"{rule.id!r} has no label: sales would see its id"
    assert shipped.engagement.keep > len(shipped.engagement.weights)


def test_the_stages_are_engaged_then_mqa_and_an_mqa_needs_more_than_one_person(shipped: AccountModel) -> None:
    engaged, mqa = (
        next(t for t in shipped.stages if t.stage is s) for s in (AccountStage.ENGAGED, AccountStage.MQA)
    )

    assert 0 < engaged.min_score < mqa.min_score
    assert mqa.min_engaged_people >= 2


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("CFO", "economic_buyer"),
        ("VP Finance", "economic_buyer"),
        ("Chief Financial Officer", "economic_buyer"),
        ("CTO", "technical_evaluator"),
        ("Head of Engineering", "technical_evaluator"),
        ("Solutions Architect", "technical_evaluator"),
        ("VP Marketing", "decision_maker"),
        ("Marketing Manager", "champion"),
        ("Marketing Intern", None),
    ],
)
def test_titles_a_marketer_knows_land_in_their_committee_role(
    shipped: AccountModel, title: str, role: str
) -> None:
    assert shipped.role_of(title) == role


def test_a_vpn_engineer_is_no_vp(shipped: AccountModel) -> None:
    assert shipped.role_of("VPN Engineer") != "decision_maker"


def test_a_hundred_blog_reading_interns_do_not_beat_two_directors_who_asked_for_a_demo(
    shipped: AccountModel, lead_model: ScoringModel
) -> None:
    interns, directors = account(shipped, lead_model, "interns.example"), account(shipped, lead_model)
    intern = scored(lead_model, page("/blog/a"), page("/blog/b"), page("/blog/c"))

    interns.apply(
        *(
            LeadChange(f"i{n}", 1, T0, intern.behaviour, intern.as_of, 0, "Marketing Intern")
            for n in range(100)
        )
    )
    directors.apply(
        change(demo_journey(lead_model, "d1", "Director of Sales"), "Director of Sales"),
        change(demo_journey(lead_model, "d2", "Marketing Director"), "Marketing Director"),
    )

    assert directors.card(T0).engagement > interns.card(T0).engagement
    assert directors.card(T0).score > interns.card(T0).score


def test_a_buying_committee_on_the_demo_journey_makes_an_mqa_and_a_surge(
    shipped: AccountModel, lead_model: ScoringModel
) -> None:
    acme = account(shipped, lead_model)

    acme.apply(
        change(demo_journey(lead_model, "cfo", "CFO"), "CFO"),
        change(demo_journey(lead_model, "cto", "CTO", at_day=2), "CTO"),
    )

    assert acme.state.stage is AccountStage.MQA
    assert acme.stage_changes()[-1].card.coverage > 0
    assert len(acme.surges()) == 1


def test_one_eager_lead_alone_is_an_engaged_account_not_an_mqa(
    shipped: AccountModel, lead_model: ScoringModel
) -> None:
    acme = account(shipped, lead_model)

    acme.apply(change(demo_journey(lead_model, "cfo", "Chief Financial Officer"), "Chief Financial Officer"))

    assert acme.state.stage is AccountStage.ENGAGED
