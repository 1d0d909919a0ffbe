"""The web app in a browser: signing in as `make run`'s local users, through the app's own form."""

from playwright.sync_api import BrowserContext, Page

from tests.pipeline.harness import Runner
from tests.pipeline.test_sales_api import printed_password

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def signed_in(context: BrowserContext, runner: Runner, email: str) -> Page:
    """A page of the app, signed in as `email` (a local user the runner printed)."""
    page = context.new_page()
    page.goto(f"{runner.base}/app")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(printed_password(runner, email))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()
    return page


def scrolls_sideways(page: Page) -> bool:
    """Whether the page is wider than the window (a phone user would have to scroll sideways)."""
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))
