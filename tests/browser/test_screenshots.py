"""Screenshots of the web app from the simulated history, at desktop and phone width: the inbox, a
LeadCard, an account page and the marketing funnel, as a newcomer sees them after `make run
ARGS=--simulate`. The README shows them from docs/screenshots/.

They are written to the test's own folder; `make screenshots` (LEADSTREAM_SCREENSHOTS=docs/screenshots)
writes them into the documentation too. Each is taken once the page shows real data, which the test checks.
"""

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import SIMULATED_SEED, SIMULATED_VISITORS, USER_AGENT
from tests.browser.leads import demo_request
from tests.browser.webapp import DESKTOP, PHONE, scrolls_sideways, signed_in
from tests.pipeline.harness import Runner
from tests.pipeline.test_simulation import planned

pytestmark = pytest.mark.slow
SIZES = {"desktop": DESKTOP, "phone": PHONE}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("LEADSTREAM_SCREENSHOTS")
    target = Path(given) if given else tmp_path_factory.mktemp("screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target


def _page(browser: Browser, runner: Runner, email: str, size: str) -> Iterator[Page]:
    context = browser.new_context(user_agent=USER_AGENT, viewport=SIZES[size], device_scale_factor=1)
    context.set_default_timeout(20_000)
    try:
        yield signed_in(context, runner, email)
    finally:
        context.close()


def busiest_account(runner: Runner) -> str:
    """The simulated company with the most people who said who they are: a committee worth showing."""
    plan = planned(runner.log_path.read_text(), SIMULATED_SEED, SIMULATED_VISITORS)
    people = Counter(visitor.company.domain for visitor in plan.known())
    return people.most_common(1)[0][0]


def _shoot(page: Page, folder: Path, name: str) -> Path:
    page.wait_for_load_state("networkidle")
    assert not scrolls_sideways(page), name
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000  # a picture of something, not a blank page
    return path


@pytest.fixture(scope="module")
def arrivals(simulated_runner: Runner) -> list[str]:
    """This morning's demo requests, on top of the simulated history (whose hand-overs sales worked)."""
    return [
        demo_request(
            simulated_runner,
            f"5c2e0000-0000-4000-8000-00000000c00{i}",
            email=email,
            name=name,
            company=company,
        )
        for i, (email, name, company) in enumerate(
            [
                ("maria.lopez@northwind.example", "Maria Lopez", "Northwind"),
                ("tom.becker@globex.example", "Tom Becker", "Globex"),
            ]
        )
    ]


@pytest.mark.parametrize("size", list(SIZES))
def test_inbox_and_leadcard(
    simulated_runner: Runner, arrivals: list[str], browser: Browser, folder: Path, size: str
) -> None:
    for page in _page(browser, simulated_runner, "sales@example.com", size):
        page.goto(f"{simulated_runner.base}/app#/inbox")
        waiting = page.get_by_role("list", name="Waiting for sales, most urgent first").get_by_role(
            "listitem"
        )
        expect(waiting.filter(has_text="Maria Lopez")).to_contain_text(" left")
        _shoot(page, folder, f"inbox-{size}")

        page.goto(f"{simulated_runner.base}/app#/leads/{arrivals[0]}")
        expect(page.get_by_role("heading", name="Why the score")).to_be_visible()
        expect(page.get_by_role("heading", name="What they did")).to_be_visible()
        _shoot(page, folder, f"leadcard-{size}")


@pytest.mark.parametrize("size", list(SIZES))
def test_account_page(simulated_runner: Runner, browser: Browser, folder: Path, size: str) -> None:
    for page in _page(browser, simulated_runner, "sales@example.com", size):
        page.goto(f"{simulated_runner.base}/app#/accounts/{busiest_account(simulated_runner)}")
        expect(page.get_by_role("heading", name="Buying committee")).to_be_visible()
        expect(page.get_by_role("heading", name="Score and stage over time")).to_be_visible()
        _shoot(page, folder, f"account-{size}")


@pytest.mark.parametrize("size", list(SIZES))
def test_marketing_funnel(simulated_runner: Runner, browser: Browser, folder: Path, size: str) -> None:
    for page in _page(browser, simulated_runner, "marketing@example.com", size):
        page.goto(f"{simulated_runner.base}/app#/marketing")
        expect(page.get_by_role("heading", level=1)).to_have_text("Marketing")
        expect(page.get_by_role("table").first).to_be_visible()
        _shoot(page, folder, f"marketing-{size}")
