"""The web app's shell in headless Chromium against `make run`'s runner: sign-in against the local user
pool through the app's own form, the landing page and navigation each role gets, and the phone layout."""

import pytest
from playwright.sync_api import BrowserContext, expect

from local.aws import clients, local_password
from tests.browser.webapp import PHONE, scrolls_sideways, signed_in
from tests.pipeline.harness import Runner
from tests.pipeline.test_sales_api import REGION, pool_and_client

pytestmark = pytest.mark.slow


def test_sales_signs_in_and_lands_on_the_inbox(runner: Runner, context: BrowserContext) -> None:
    page = signed_in(context, runner, "sales@example.com")

    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page).to_have_title("Inbox · Leadstream")


def test_marketing_lands_on_marketing_without_an_inbox(runner: Runner, context: BrowserContext) -> None:
    page = signed_in(context, runner, "marketing@example.com")

    expect(page.get_by_role("heading", level=1)).to_have_text("Marketing")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox")).to_have_count(0)


def test_a_wrong_password_is_said_plainly_and_signs_in_nobody(
    runner: Runner, context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto(f"{runner.base}/app")
    page.get_by_label("E-mail").fill("sales@example.com")
    page.get_by_label("Password").fill("not-the-password-1A!")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_have_text("Incorrect e-mail or password.")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_signing_out_forgets_the_session(runner: Runner, context: BrowserContext) -> None:
    page = signed_in(context, runner, "sales@example.com")
    page.get_by_role("button", name="Sign out").click()
    page.reload()

    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_the_shell_fits_a_phone(runner: Runner, context: BrowserContext) -> None:
    page = signed_in(context, runner, "sales@example.com")
    page.set_viewport_size(PHONE)

    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert not scrolls_sideways(page)


def test_a_new_user_chooses_a_password_at_first_sign_in(runner: Runner, context: BrowserContext) -> None:
    """As an administrator creates users: a temporary password that the first sign-in replaces."""
    cognito = clients(runner.endpoint, REGION)["cognito-idp"]
    pool, _ = pool_and_client(runner)
    temporary, chosen = local_password(), local_password()
    cognito.admin_create_user(
        UserPoolId=pool,
        Username="new.rep@example.com",
        TemporaryPassword=temporary,
        UserAttributes=[{"Name": "email", "Value": "new.rep@example.com"}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_add_user_to_group(UserPoolId=pool, Username="new.rep@example.com", GroupName="sales")
    page = context.new_page()
    page.goto(f"{runner.base}/app")
    page.get_by_label("E-mail").fill("new.rep@example.com")
    page.get_by_label("Password").fill(temporary)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("New password").fill(chosen)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    signed_in_again = cognito.admin_initiate_auth(
        UserPoolId=pool,
        ClientId=pool_and_client(runner)[1],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "new.rep@example.com", "PASSWORD": chosen},
    )
    assert "AuthenticationResult" in signed_in_again
