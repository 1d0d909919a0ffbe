"""The LeadCard page in headless Chromium against `make run`'s runner: the ledger (fit and engagement
apart) and the timeline with page titles, how to reach the person, the qualification form saved and shown
again on reload, the actions sales may take (and a 409's missing answers said as what to answer), none
for marketing, whatever a visitor typed shown as text, and the phone layout."""

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.leads import demo_request
from tests.browser.webapp import PHONE, scrolls_sideways, signed_in
from tests.pipeline.harness import Runner, eventually
from tests.pipeline.test_sales_api import card, id_token

pytestmark = pytest.mark.slow

FIRST_LOAD_MS = 20_000  # a first request may meet a cold function (a new process under the runner)
HOSTILE_NAME = "<b>Bold</b> Mallory"
HOSTILE_TITLE = '<img src=x onerror="window.hacked=1"> Pricing'


@pytest.fixture(scope="module")
def leads(runner: Runner) -> dict[str, str]:
    """Three visitors' demo requests, each handed to sales (scored to SQL, its clock running)."""
    made = {
        "quinn": demo_request(
            runner,
            "5e1d0000-0000-4000-8000-00000000c001",
            email="quinn@initech.example",
            name="Quinn Card",
            page_title="Pricing plans for teams",
        ),
        "mallory": demo_request(
            runner,
            "5e1d0000-0000-4000-8000-00000000c002",
            email="mallory@initech.example",
            name=HOSTILE_NAME,
            page_title=HOSTILE_TITLE,
        ),
        "otto": demo_request(
            runner,
            "5e1d0000-0000-4000-8000-00000000c003",
            email="otto@initech.example",
            name="Otto Opportunity",
        ),
    }
    bearer = id_token(runner, "sales@example.com")

    def handed_over(lead: str) -> bool:
        return (card(runner, lead, bearer).json().get("sla") or {}).get("state") == "running"

    for lead in made.values():
        assert eventually(lambda lead=lead: handed_over(lead), 30), runner.log_path.read_text()
    return made


def open_card(context: BrowserContext, runner: Runner, lead: str, user: str = "sales@example.com") -> Page:
    page = signed_in(context, runner, user)
    page.goto(f"{runner.base}/app#/leads/{lead}")
    expect(page.get_by_role("region", name="Why the score")).to_be_visible(timeout=FIRST_LOAD_MS)
    return page


def test_the_card_shows_the_ledger_fit_and_engagement_apart_and_the_timeline_with_page_titles(
    runner: Runner, context: BrowserContext, leads: dict[str, str]
) -> None:
    page = open_card(context, runner, leads["quinn"])

    expect(page.get_by_role("heading", level=1)).to_have_text("Quinn Card")
    why = page.get_by_role("region", name="Why the score")
    fit = why.get_by_role("table", name="Fit (who they are)")
    engagement = why.get_by_role("table", name="Engagement (what they did, before decay)")
    expect(fit.get_by_role("row", name="Work e-mail address")).to_contain_text("+10")
    expect(engagement.get_by_role("row", name="Requested a demo")).to_contain_text("+40")
    expect(engagement.get_by_role("row", name="Viewed pricing")).to_contain_text("+25")
    timeline = page.get_by_role("region", name="What they did")
    expect(timeline).to_contain_text("Pricing plans for teams")
    expect(timeline).to_contain_text("/demo/pricing.html")
    expect(page.get_by_role("link", name="Call +44 20 7946 0000")).to_have_attribute(
        "href", "tel:+442079460000"
    )
    expect(page.get_by_role("link", name="Mail quinn@initech.example")).to_have_attribute(
        "href", "mailto:quinn@initech.example"
    )
    expect(page.get_by_role("region", name="Account").get_by_role("link", name="Acme")).to_have_attribute(
        "href", "#/accounts/initech.example"
    )
    expect(page.get_by_role("region", name="Account")).to_contain_text("Otto Opportunity")  # its other people
    history = page.get_by_role("region", name="Stage history")
    expect(history).to_contain_text("scoring")
    expect(page.get_by_text(" left").first).to_be_visible()  # the SLA's live countdown


def test_a_qualification_saved_is_shown_on_reload(
    runner: Runner, context: BrowserContext, leads: dict[str, str]
) -> None:
    page = open_card(context, runner, leads["quinn"])
    form = page.get_by_role("region", name="Qualification (BANT)")
    expect(form).to_contain_text("0 of 4 answered")

    form.get_by_label("Budget", exact=True).fill("50k set aside for Q3")
    form.get_by_label("Need", exact=True).fill("Leads go cold before anyone calls")
    form.get_by_role("button", name="Save answers").click()
    expect(form).to_contain_text("2 of 4 answered")

    page.reload()
    form = page.get_by_role("region", name="Qualification (BANT)")
    expect(form.get_by_label("Budget", exact=True)).to_have_value("50k set aside for Q3")
    expect(form.get_by_label("Need", exact=True)).to_have_value("Leads go cold before anyone calls")
    expect(form).to_contain_text("2 of 4 answered")
    expect(form).to_contain_text("sales@example.com")


def test_an_opportunity_before_the_required_answers_says_what_to_answer_then_is_won(
    runner: Runner, context: BrowserContext, leads: dict[str, str]
) -> None:
    page = open_card(context, runner, leads["otto"])
    act = page.get_by_role("region", name="Act")
    act.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("SLA met")).to_be_visible()

    act.get_by_role("button", name="Make it an opportunity").click()

    missing = act.get_by_role("alert")
    expect(missing).to_contain_text("Answer these before it can become an opportunity")
    for criterion in ("Budget", "Authority", "Need"):
        expect(missing.get_by_role("link", name=criterion)).to_be_visible()
    form = page.get_by_role("region", name="Qualification (BANT)")
    for criterion in ("Budget", "Authority", "Need"):
        form.get_by_label(criterion, exact=True).fill(f"{criterion}: yes")
    form.get_by_role("button", name="Save answers").click()
    expect(form).to_contain_text("3 of 4 answered")
    act.get_by_role("button", name="Make it an opportunity").click()
    expect(page.locator(".lead-head .stage")).to_have_text("Opportunity")
    act.get_by_role("button", name="Won…").click()
    act.get_by_label("Amount").fill("48000")
    act.get_by_label("Currency").select_option("EUR")
    act.get_by_role("button", name="Mark as won").click()

    expect(page.locator(".lead-head .stage")).to_have_text("Won")
    expect(page.get_by_role("region", name="Stage history")).to_contain_text("48,000")
    page.get_by_label("Add a note").fill("Signed, kickoff Monday")
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_role("region", name="Notes")).to_contain_text("Signed, kickoff Monday")


def test_marketing_reads_the_card_but_has_no_action(
    runner: Runner, context: BrowserContext, leads: dict[str, str]
) -> None:
    page = open_card(context, runner, leads["quinn"], "marketing@example.com")

    expect(page.get_by_role("heading", level=1)).to_have_text("Quinn Card")
    expect(page.get_by_role("region", name="What they did")).to_be_visible()
    expect(page.get_by_role("button", name="Accept")).to_have_count(0)
    expect(page.get_by_role("region", name="Act")).to_have_count(0)
    expect(page.get_by_role("button", name="Save answers")).to_have_count(0)
    expect(page.get_by_label("Add a note")).to_have_count(0)


def test_what_a_visitor_typed_shows_as_text_never_as_markup(
    runner: Runner, context: BrowserContext, leads: dict[str, str]
) -> None:
    page = open_card(context, runner, leads["mallory"])

    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE_NAME)
    expect(page.get_by_role("region", name="What they did")).to_contain_text(HOSTILE_TITLE)
    expect(page.locator("main b")).to_have_count(0)
    expect(page.locator("main img")).to_have_count(0)
    assert page.evaluate("window.hacked") is None
    page.goto(f"{runner.base}/app#/inbox")
    expect(page.get_by_role("heading", name=HOSTILE_NAME)).to_be_visible()
    expect(page.locator("main b")).to_have_count(0)


def test_the_card_fits_a_phone(runner: Runner, context: BrowserContext, leads: dict[str, str]) -> None:
    page = open_card(context, runner, leads["quinn"])
    page.set_viewport_size(PHONE)

    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert not scrolls_sideways(page)
    page.get_by_role("region", name="Act").get_by_role("button", name="Disqualify…").click()
    expect(page.get_by_label("Why disqualify it?")).to_be_visible()
    assert not scrolls_sideways(page)
