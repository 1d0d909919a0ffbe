"""The web app in a browser: signing in as `make run`'s local users, through the app's own form."""

from playwright.sync_api import BrowserContext, Page

from tests.pipeline.harness import Runner
from tests.pipeline.test_sales_api import printed_password

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
FIRST_LOAD_MS = 30_000


def signed_in(context: BrowserContext, runner: Runner, email: str) -> Page:
    """A page of the app, signed in as `email` (a local user the runner printed)."""
    page = context.new_page()
    # the first request of a run may meet WebFunction, ApiFunction and the local pool all cold: the
    # sign-in waits up to FIRST_LOAD_MS for that, the tests' own steps keep the context's timeout
    page.goto(f"{runner.base}/app", timeout=FIRST_LOAD_MS)
    page.get_by_label("E-mail").fill(email, timeout=FIRST_LOAD_MS)
    page.get_by_label("Password").fill(printed_password(runner, email))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=FIRST_LOAD_MS)
    return page


def scrolls_sideways(page: Page) -> bool:
    """Whether the page is wider than the window (a phone user would have to scroll sideways)."""
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))
