"""lb.js in a real browser: headless Chromium on the demo site that `make run`'s runner serves.

The system's Chromium ($CHROMIUM, else `chromium` on the PATH: Debian's, which `make browser` installs) is
used, never a browser download; without one, Playwright's own is tried. Every context gets a desktop user
agent: the tracking API stores nothing from HeadlessChrome, which it rightly counts as a bot.
"""

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from tests.pipeline.test_pipeline import Runner

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """One runner for a module's tests: each test has its own browser context, so its own visitor."""
    run = Runner(tmp_path_factory.mktemp("runner"))
    try:
        run.wait_ready()
        yield run
    finally:
        run.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    given = os.environ.get("CHROMIUM") or shutil.which("chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=given, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh visitor: no cookies, no storage."""
    fresh = browser.new_context(user_agent=USER_AGENT)
    fresh.set_default_timeout(10_000)
    yield fresh
    fresh.close()


# The simulated history the screenshot tests show: a fixed seed, and a size this 2-CPU machine filled in
# about two minutes once the runner was up (busy with other suites; README, "Demo data"): 16 leads worked
# by sales, won deals among them.
SIMULATED_SEED, SIMULATED_VISITORS = 11, 40


@pytest.fixture(scope="module")
def simulated_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """A runner started with `--simulate` (seed SIMULATED_SEED, SIMULATED_VISITORS visitors over 90 days),
    yielded once the simulation is done: its log says "simulation done". Its plan (the people, companies
    and hidden propensities) is `local.simulator.plan.plan(SIMULATED_SEED, SIMULATED_VISITORS, now)`, with
    the `now` its log names (tests.pipeline.test_simulation.planned)."""
    from tests.pipeline.test_simulation import simulating

    with simulating(tmp_path_factory.mktemp("simulated"), SIMULATED_SEED, SIMULATED_VISITORS) as run:
        yield run
