"""The inbox in headless Chromium against `make run`'s runner: a visitor's demo request appears while the
page is open (no reload), most urgent first, with its countdown, reasons and hand-raiser mark; Accept and
Reject act in place and the LeadCard shows the outcome; the phone layout."""

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.browser.leads import demo_request
from tests.browser.webapp import PHONE, scrolls_sideways, signed_in
from tests.pipeline.harness import Runner

pytestmark = pytest.mark.slow

ARRIVES_MS = 10_000  # "a visitor's demo journey appears in the inbox within 10 s"


def inbox(context: BrowserContext, runner: Runner) -> Page:
    page = signed_in(context, runner, "sales@example.com")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    # the list has loaded (a first request may meet a cold function: a new process under the runner)
    expect(page.get_by_role("status").first).to_contain_text("waiting", timeout=20_000)
    return page


def item(page: Page, name: str) -> Locator:
    waiting = page.get_by_role("list", name="Waiting for sales, most urgent first")
    return waiting.get_by_role("listitem").filter(has=page.get_by_role("heading", name=name))


def test_a_visitors_demo_request_appears_within_seconds_without_a_reload(
    runner: Runner, context: BrowserContext
) -> None:
    page = inbox(context, runner)
    page.evaluate("window.sameDocument = true")  # a reload would forget it

    demo_request(runner, "7a1c0000-0000-4000-8000-00000000b001", email="ada@acme.example", name="Ada Arrives")

    arrived = item(page, "Ada Arrives")
    expect(arrived).to_be_visible(timeout=ARRIVES_MS)
    expect(arrived).to_contain_text("Requested a demo")
    expect(arrived).to_contain_text(" left")  # its live countdown
    expect(arrived.get_by_role("link", name="acme.example")).to_have_attribute(
        "href", "#/accounts/acme.example"
    )
    assert page.evaluate("window.sameDocument") is True


def test_accept_takes_it_off_the_list_and_the_card_shows_the_sla_met(
    runner: Runner, context: BrowserContext
) -> None:
    page = inbox(context, runner)
    lead = demo_request(
        runner, "7a1c0000-0000-4000-8000-00000000b002", email="bea@acme.example", name="Bea Accepted"
    )
    expect(item(page, "Bea Accepted")).to_contain_text(" left", timeout=ARRIVES_MS)  # handed over: clock runs

    item(page, "Bea Accepted").get_by_role("button", name="Accept Bea Accepted").click()

    expect(item(page, "Bea Accepted")).to_have_count(0)
    expect(page.get_by_role("status").first).to_contain_text("Accepted Bea Accepted.")
    page.goto(f"{runner.base}/app#/leads/{lead}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bea Accepted")
    expect(page.get_by_text("SLA met")).to_be_visible()
    expect(page.locator(".lead-head .stage")).to_have_text("Accepted")
    page.goto(f"{runner.base}/app#/inbox")
    expect(page.get_by_role("status").first).to_contain_text("waiting")
    expect(item(page, "Bea Accepted")).to_have_count(0)  # and it stays off


def test_reject_asks_why_with_the_workflows_reasons(runner: Runner, context: BrowserContext) -> None:
    page = inbox(context, runner)
    lead = demo_request(
        runner, "7a1c0000-0000-4000-8000-00000000b003", email="cy@acme.example", name="Cy Rejected"
    )
    expect(item(page, "Cy Rejected")).to_be_visible(timeout=ARRIVES_MS)

    item(page, "Cy Rejected").get_by_role("button", name="Reject Cy Rejected").click()
    item(page, "Cy Rejected").get_by_role("button", name="No budget").click()

    expect(item(page, "Cy Rejected")).to_have_count(0)
    page.goto(f"{runner.base}/app#/leads/{lead}")
    history = page.get_by_role("region", name="Stage history")
    expect(history).to_contain_text("Why: No budget")
    expect(history).to_contain_text("sales@example.com")


def test_mine_lists_the_leads_the_user_owns(runner: Runner, context: BrowserContext) -> None:
    page = inbox(context, runner)
    demo_request(runner, "7a1c0000-0000-4000-8000-00000000b004", email="di@acme.example", name="Di Mine")
    expect(item(page, "Di Mine")).to_contain_text("sales@example.com", timeout=ARRIVES_MS)  # the rules' owner

    page.get_by_role("radio", name="Mine").check()

    expect(page).to_have_url(f"{runner.base}/app#/inbox?owner=me")
    expect(item(page, "Di Mine")).to_be_visible()
    page.get_by_role("radio", name="Everyone").check()
    expect(page).to_have_url(f"{runner.base}/app#/inbox")


def test_the_inbox_fits_a_phone(runner: Runner, context: BrowserContext) -> None:
    page = inbox(context, runner)
    page.set_viewport_size(PHONE)
    demo_request(
        runner,
        "7a1c0000-0000-4000-8000-00000000b005",
        email="eve.with.a.long.address@acme.example",
        name="Eve Phone",
    )
    expect(item(page, "Eve Phone")).to_be_visible(timeout=ARRIVES_MS)

    assert not scrolls_sideways(page)
    item(page, "Eve Phone").get_by_role("button", name="Reject Eve Phone").click()
    expect(item(page, "Eve Phone").get_by_role("button", name="Not reachable")).to_be_visible()
    assert not scrolls_sideways(page)
