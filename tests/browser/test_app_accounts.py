"""The leads list, the accounts list and the account page in headless Chromium against `make run`'s runner,
with a company's people sent through the real tracking API: an anonymous visitor known by the company's
network (a fake IPinfo), a CFO who identified, and a VP who requested a demo (an SQL)."""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from local.runner import COMPANY_LOOKUP_TOKEN
from tests.browser.webapp import DESKTOP, PHONE, scrolls_sideways, signed_in
from tests.fakes.ipinfo import FakeIpinfo
from tests.pipeline.harness import Runner, eventually
from tests.pipeline.test_company_accounts import ACME_NETWORK, TOKEN, accounts_show, send

pytestmark = pytest.mark.slow

DOMAIN = "acme.co.uk"
SHOTS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def ipinfo() -> Iterator[FakeIpinfo]:
    fake = FakeIpinfo(TOKEN, ACME_NETWORK)
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory, ipinfo: FakeIpinfo) -> Iterator[Runner]:
    """The module's runner, with the company lookup on, and Acme's three people sent to it."""
    run = Runner(
        tmp_path_factory.mktemp("runner"),
        "--company-lookup-url",
        ipinfo.url,
        env={COMPANY_LOOKUP_TOKEN: TOKEN},
    )
    try:
        run.wait_ready()
        acme_people(run)
        yield run
    finally:
        run.stop()


def acme_people(run: Runner) -> None:
    for path in ("/", "/pricing", "/docs/integrations"):
        send(run, "/v1/page", {"anonymousId": "acme-visitor", "context": {"ip": "81.2.69.77"}, "name": path})
    send(run, "/v1/page", {"anonymousId": "acme-cfo", "context": {"ip": "81.2.69.12"}, "name": "/pricing"})
    cfo = {"email": "cfo@acme.co.uk", "title": "CFO", "name": "Carla Finance"}
    send(run, "/v1/identify", {"anonymousId": "acme-cfo", "traits": cfo})
    send(run, "/v1/page", {"anonymousId": "acme-vp", "context": {"ip": "81.2.69.13"}, "name": "/pricing"})
    form = b"name=Victor+Engineer&email=vp%40acme.co.uk&company=Acme&title=VP+Engineering&anonymousId=acme-vp"
    referer = {"referer": f"{run.base}/demo/request-demo.html"}
    assert run.post("/v1/forms/demo-request", form, "application/x-www-form-urlencoded", referer) in (
        200,
        303,
    )

    def complete() -> dict[str, Any] | None:
        shown = accounts_show(run, DOMAIN)
        if shown is None or (shown["people"], shown["anonymous_people"]) != (3, 1):
            return None
        return shown if {m.get("title") for m in shown["members"]} >= {"CFO", "VP Engineering"} else None

    assert eventually(complete, seconds=30), run.log_path.read_text()[-3000:]


def shot(page: Page, name: str) -> None:
    """A screenshot for the docs (and for a person to look at)."""
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_leads_list_filters_by_stage_through_the_form_and_the_url_keeps_it(
    runner: Runner, context: BrowserContext
) -> None:
    page = signed_in(context, runner, "sales@example.com")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Leads").click()
    results = page.get_by_role("table")
    expect(results.get_by_role("link", name="Victor Engineer")).to_be_visible()

    page.get_by_role("group", name="Stage").get_by_label("Lead", exact=True).check()
    page.get_by_role("button", name="Apply filters").click()

    expect(page).to_have_url(f"{runner.base}/app#/leads?stage=lead")
    expect(results.get_by_role("link", name="Carla Finance")).to_be_visible()
    expect(results.get_by_role("link", name="Victor Engineer")).to_have_count(0)
    shot(page, "app-leads")

    page.reload()  # the filter is the URL: a bookmark or a shared link shows the same list
    expect(page.get_by_role("group", name="Stage").get_by_label("Lead", exact=True)).to_be_checked()
    expect(results.get_by_role("link", name="Carla Finance")).to_be_visible()
    expect(results.get_by_role("link", name="Victor Engineer")).to_have_count(0)

    page.get_by_label("Account (domain)").fill(DOMAIN)
    page.get_by_role("group", name="Stage").get_by_label("SQL", exact=True).check()
    page.get_by_role("group", name="Stage").get_by_label("Lead", exact=True).uncheck()
    page.get_by_role("button", name="Apply filters").click()

    expect(page).to_have_url(f"{runner.base}/app#/leads?stage=SQL&account={DOMAIN}")
    expect(results.get_by_role("link", name="Victor Engineer")).to_be_visible()
    expect(results.get_by_role("link", name="Carla Finance")).to_have_count(0)
    results.get_by_role("link", name="Victor Engineer").click()
    expect(page).to_have_url(re.compile(r"#/leads/[A-Za-z0-9_-]+$"))


def test_an_account_page_shows_its_committee_its_people_and_its_score_history(
    runner: Runner, context: BrowserContext
) -> None:
    page = signed_in(context, runner, "marketing@example.com")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="Acme Widgets Ltd").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Acme Widgets Ltd")
    committee = page.get_by_role("region", name="Buying committee")
    economic = committee.get_by_role("listitem").filter(has_text="Economic buyer")
    expect(economic).to_contain_text("Covered")
    expect(economic.get_by_role("link", name="Carla Finance")).to_be_visible()
    expect(committee.get_by_role("listitem").filter(has_text="Missing").first).to_be_visible()

    people = page.get_by_role("region", name="People")
    expect(people.get_by_role("heading", name="Known (2)")).to_be_visible()
    expect(people.get_by_role("link", name="Victor Engineer")).to_be_visible()
    expect(people.get_by_role("heading", name="Anonymous (1)")).to_be_visible()
    expect(people.get_by_role("link", name=re.compile("^Anonymous visitor"))).to_have_count(1)

    history = page.get_by_role("table", name="Score by day")
    expect(history.get_by_role("row")).to_have_count(2)  # the header and today's point
    shown = page.get_by_role("region", name="Now").get_by_label(re.compile("^Score "))
    score = shown.first.inner_text()
    expect(history.get_by_role("row").nth(1).get_by_role("cell").nth(1)).to_have_text(score)
    shot(page, "app-account")

    people.get_by_role("link", name=re.compile("^Anonymous visitor")).click()
    expect(page).to_have_url(re.compile(r"#/leads/[A-Za-z0-9_-]+$"))


@pytest.mark.parametrize("hash_path", ["leads", "accounts", f"accounts/{DOMAIN}"])
def test_the_three_pages_fit_a_phone(runner: Runner, context: BrowserContext, hash_path: str) -> None:
    page = signed_in(context, runner, "sales@example.com")
    page.set_viewport_size(PHONE)
    page.goto(f"{runner.base}/app#/{hash_path}")

    expect(
        page.get_by_role("link", name="Victor Engineer")
        .or_(page.get_by_role("link", name="Acme Widgets Ltd"))
        .first
    ).to_be_visible()
    assert not scrolls_sideways(page)
    if hash_path.startswith("accounts/"):
        shot(page, "app-account-phone")
