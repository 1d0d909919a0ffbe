"""lb.js on the demo site, in headless Chromium, against the running system (`make run`'s runner).

What the tracking API stored (read from the local DynamoDB) is the ground truth: messages that leave with
sendBeacon (page hide, link clicks, form submits) show up as requests without a readable body. The
requests a page makes are recorded too, to read what fetch sent and to prove silence (consent, DNT).
"""

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from leadstream.identity.identifiers import Identifier, IdKind
from leadstream.identity.repository import lead_pk
from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from local.aws import clients
from tests.browser.conftest import USER_AGENT
from tests.pipeline.test_pipeline import Runner

pytestmark = pytest.mark.slow
TABLE = "leadstream-local-LeadsTable"
REGION = "eu-west-1"
QUIET_MS = 1_500  # a queued message is sent within 1 s: after this long, nothing sent means nothing to send
LOADED = "window.leadstream && window.leadstream.v"
YEAR = 365 * 24 * 3600


class Visitor:
    """One browser context on the demo site: the page, what it sent, and what the server kept of it."""

    def __init__(self, runner: Runner, context: BrowserContext) -> None:
        self.runner, self.context = runner, context
        self.requests: list[Request] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        context.on("request", lambda r: self.requests.append(r) if "/v1/" in r.url else None)
        self.page = context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.dynamodb = clients(runner.endpoint, REGION)["dynamodb"]

    def open(self, path: str) -> Page:
        self.page.goto(self.runner.base + path)
        return self.page

    # --- the browser ---

    def wait[T](self, check: Callable[[], T | None], what: str, seconds: float = 10) -> T:
        """Poll while the browser runs (time.sleep would hold Playwright's event callbacks back)."""
        deadline = time.monotonic() + seconds
        while not (value := check()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {seconds} s")
            self.page.wait_for_timeout(100)
        return value

    def cookie(self, name: str) -> dict[str, Any] | None:
        return next((dict(c) for c in self.context.cookies() if c["name"] == name), None)

    def anonymous_id(self) -> str:
        cookie = self.wait(lambda: self.cookie("ls_aid"), "the ls_aid cookie")
        return str(cookie["value"])

    def storage(self) -> dict[str, str]:
        """The snippet's localStorage keys."""
        stored: dict[str, str] = self.page.evaluate("({...localStorage})")
        return {k: v for k, v in stored.items() if k.startswith("ls_")}

    def sends(self) -> list[Request]:
        """Every request to the API but loading the snippet itself."""
        return [r for r in self.requests if not (r.method == "GET" and r.url.endswith("/v1/lb.js"))]

    def intercept(self) -> list[dict[str, Any]]:
        """From now on, the messages of every send, sendBeacon's included (routed requests show a body)."""
        seen: list[dict[str, Any]] = []

        def record(route: Route) -> None:
            seen.extend(json.loads(route.request.post_data or "")["batch"])
            route.continue_()

        self.context.route("**/v1/b", record)
        return seen

    def messages(self) -> list[dict[str, Any]]:
        """The messages fetch sent (a beacon's body is not visible here)."""
        return [m for r in self.sends() if r.post_data for m in json.loads(r.post_data)["batch"]]

    # --- the server ---

    def items(self) -> list[dict[str, Any]]:
        plain = TypeDeserializer()
        pages = self.dynamodb.get_paginator("scan").paginate(TableName=TABLE)
        return [
            {k: plain.deserialize(v) for k, v in item.items()} for page in pages for item in page["Items"]
        ]

    def events(self, anonymous_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """Events stored under the visitor's own lead: that of its anonymous id."""
        pk = lead_pk(Identifier(IdKind.ANONYMOUS, anonymous_id).derived_lead_id())
        return [
            i
            for i in self.items()
            if i["pk"] == pk and i["sk"].startswith("EVT#") and kind in (None, i["type"])
        ]

    def profile(self, email: str) -> dict[str, Any] | None:
        return next((i for i in self.items() if i["sk"] == "PROFILE" and i.get("email") == email), None)


@pytest.fixture
def visitor(runner: Runner, context: BrowserContext) -> Iterator[Visitor]:
    visiting = Visitor(runner, context)
    yield visiting
    assert visiting.errors == [], "a script error on the page"


def stored_ids(visitor: Visitor, anonymous_id: str) -> set[str]:
    return {e["sk"].removeprefix("EVT#") for e in visitor.events(anonymous_id)}


def test_page_views_carry_one_first_party_id_across_pages(visitor: Visitor):
    page = visitor.open("/demo/?utm_source=newsletter&utm_medium=email")
    aid = visitor.anonymous_id()
    cookie = visitor.cookie("ls_aid")
    assert cookie is not None
    assert (cookie["sameSite"], cookie["path"], cookie["httpOnly"]) == ("Lax", "/", False)
    assert YEAR - 60 < cookie["expires"] - time.time() <= YEAR + 60
    assert visitor.storage()["ls_aid"] == aid

    page.click("text=Read: why speed to lead matters")
    page.wait_for_url("**/demo/blog/speed-to-lead.html")
    page.click("text=pricing page")
    page.wait_for_url("**/demo/pricing.html")

    wanted = {"/demo/", "/demo/blog/speed-to-lead.html", "/demo/pricing.html"}

    def views() -> list[dict[str, Any]] | None:
        stored = visitor.events(aid, "page")
        return stored if {e["path"] for e in stored} == wanted else None

    landing = next(
        e for e in visitor.wait(views, "three page views under the visitor's id") if e["path"] == "/demo/"
    )
    assert len(visitor.events(aid, "page")) == 3
    assert (landing["touch"]["channel"], landing["touch"]["source"]) == ("email", "newsletter")
    assert visitor.anonymous_id() == aid

    pricing = visitor.wait(
        lambda: [m for m in visitor.messages() if m["context"]["page"]["path"] == "/demo/pricing.html"],
        "the pricing page view, sent with fetch",
    )[0]
    assert pricing["type"] == "page"
    assert pricing["anonymousId"] == aid
    assert pricing["name"] == "Pricing — Acme Analytics"
    assert pricing["context"]["page"]["referrer"] == f"{visitor.runner.base}/demo/blog/speed-to-lead.html"
    assert pricing["context"]["library"] == {"name": "lb.js", "version": "1.0.0"}
    assert pricing["context"]["userAgent"] == USER_AGENT
    assert uuid.UUID(pricing["messageId"])
    request = next(r for r in visitor.sends() if r.post_data and pricing["messageId"] in r.post_data)
    assert request.headers["content-type"] == "text/plain"
    assert json.loads(request.post_data or "")["writeKey"] == "lsk_local_demo"
    assert visitor.console == []


def test_a_single_page_app_navigation_is_a_page_view_of_the_new_url(visitor: Visitor):
    page = visitor.open("/demo/app.html")
    aid = visitor.anonymous_id()
    visitor.wait(lambda: visitor.events(aid, "page"), "the app's first page view")
    page.evaluate("history.replaceState(history.state, '')")  # the same URL: no new view
    page.evaluate("history.replaceState(history.state, '', '#top')")  # a fragment: no new view either

    page.click("#tab-reports")
    expect(page).to_have_url(re.compile(r"/demo/app\.html\?tab=reports$"))

    reports = visitor.wait(
        lambda: [m for m in visitor.messages() if m["context"]["page"]["search"] == "?tab=reports"],
        "a page view of ?tab=reports",
    )
    assert len(reports) == 1
    view = reports[0]
    assert view["type"] == "page"
    assert view["name"] == "Reports — Acme Analytics app"  # the title the app set after pushState
    assert view["context"]["page"]["url"] == f"{visitor.runner.base}/demo/app.html?tab=reports"
    assert view["context"]["page"]["referrer"] == f"{visitor.runner.base}/demo/app.html"
    visitor.wait(lambda: view["messageId"] in stored_ids(visitor, aid), "the SPA page view stored")
    assert len(visitor.events(aid, "page")) == 2

    page.go_back()  # popstate
    visitor.wait(lambda: len(visitor.events(aid, "page")) == 3, "a page view on going back")


def test_a_form_with_an_email_identifies_the_visitor(visitor: Visitor):
    page = visitor.open("/demo/blog/speed-to-lead.html")
    aid = visitor.anonymous_id()
    email = f"reader-{uuid.uuid4().hex[:8]}@acme.example"

    page.fill("#newsletter [name=email]", email)
    page.fill("#newsletter [name=first_name]", "Ada")
    page.click("#newsletter button")
    expect(page.locator("#subscribed")).to_be_visible()  # the site's own handler ran as ever

    profile = visitor.wait(lambda: visitor.profile(email), "a profile with the e-mail")
    assert profile["name"] == "Ada"
    visitor.wait(lambda: visitor.events(aid, "identify"), "an identify under the visitor's id")


def test_a_form_is_read_for_contact_fields_only_and_never_for_passwords(visitor: Visitor):
    sent = visitor.intercept()
    page = visitor.open("/demo/blog/speed-to-lead.html")
    page.wait_for_function(LOADED)
    page.evaluate(
        """() => {
        const form = document.createElement("form");
        form.id = "sign-up";
        form.innerHTML = `<input name="user[email_address]" value=" lin@acme.example ">
          <input name="given_name" value="Lin"><input name="family-name" value="Ng">
          <input autocomplete="organization" name="x1" value="Acme">
          <input name="jobTitle" value="CTO"><input type="tel" name="mobile" value="+44 20 1234 5678">
          <input type="password" name="email" value="hunter2"><input name="card" value="4111111111111111">
          <input type="checkbox" name="title" value="on" checked><button>Sign up</button>`;
        form.addEventListener("submit", (event) => event.preventDefault());
        document.body.append(form);
      }"""
    )
    page.click("#sign-up button")

    identify = visitor.wait(lambda: [m for m in sent if m["type"] == "identify"], "the identify")
    assert identify[0]["traits"] == {
        "email": "lin@acme.example",
        "firstName": "Lin",
        "lastName": "Ng",
        "company": "Acme",
        "title": "CTO",
        "phone": "+44 20 1234 5678",
    }
    assert "hunter2" not in json.dumps(sent)
    assert "4111" not in json.dumps(sent)


def test_the_demo_request_form_posts_the_anonymous_id_and_identifies(visitor: Visitor):
    page = visitor.open("/demo/request-demo.html")
    aid = visitor.anonymous_id()
    form = page.locator("#demo-request")
    expect(form.locator("input[name=anonymousId]")).to_have_value(aid)
    expect(form.locator("input[name=pagePath]")).to_have_value("/demo/request-demo.html")
    email = f"buyer-{uuid.uuid4().hex[:8]}@acme.example"

    form.locator("[name=name]").fill("Grace Hopper")
    form.locator("[name=email]").fill(email)
    form.locator("[name=company]").fill("Acme")
    form.locator("[name=title]").fill("Head of Sales")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/demo/thanks.html")

    def posted() -> dict[str, Any] | None:
        stored = visitor.events(aid)
        forms = [e for e in stored if e["type"] == "form"]
        return forms[0] if forms and any(e["type"] == "identify" for e in stored) else None

    form_event = visitor.wait(posted, "the form post and the identify, both under the visitor's id")
    assert (form_event["form_id"], form_event["path"]) == ("demo-request", "/demo/request-demo.html")
    profile = visitor.wait(lambda: visitor.profile(email), "a profile with the e-mail")
    assert (profile["name"], profile["company"], profile["title"]) == (
        "Grace Hopper",
        "Acme",
        "Head of Sales",
    )


def test_outbound_and_download_clicks_are_tracked(visitor: Visitor):
    visitor.context.route(
        "https://hbr.org/**", lambda route: route.fulfill(content_type="text/html", body="<title>HBR</title>")
    )
    sent = visitor.intercept()
    page = visitor.open("/demo/pricing.html")
    aid = visitor.anonymous_id()
    page.click("#brochure")
    visitor.open("/demo/blog/speed-to-lead.html")
    page.click("#source")
    page.wait_for_url("https://hbr.org/**")

    both = {"File Downloaded", "Outbound Link Clicked"}
    visitor.wait(lambda: {e["name"] for e in visitor.events(aid, "track")} >= both, "both clicks tracked")
    assert sorted(e["name"] for e in visitor.events(aid, "track")) == sorted(both)
    clicks = {m["event"]: m for m in sent if m["type"] == "track"}
    assert clicks["File Downloaded"]["properties"] == {"url": f"{visitor.runner.base}/demo/brochure.pdf"}
    assert clicks["Outbound Link Clicked"]["properties"] == {
        "url": "https://hbr.org/2011/03/the-short-life-of-online-sales-leads"
    }


def test_a_call_made_before_the_snippet_loaded_is_replayed(visitor: Visitor):
    visitor.context.add_init_script(
        "window.leadstream=function(){(leadstream.q=leadstream.q||[]).push(arguments)};"
        "leadstream('track', 'Queued Early', {plan: 'growth'})"
    )
    visitor.open("/demo/pricing.html")
    aid = visitor.anonymous_id()
    early = visitor.wait(
        lambda: [m for m in visitor.messages() if m.get("event") == "Queued Early"], "the queued call sent"
    )
    assert early[0]["properties"] == {"plan": "growth"}
    visitor.wait(lambda: visitor.events(aid, "track"), "the queued call stored")


def test_a_failed_send_is_retried_with_the_same_message_ids(visitor: Visitor):
    attempts: list[list[str]] = []

    def unavailable_once(route: Route) -> None:
        attempts.append([m["messageId"] for m in json.loads(route.request.post_data or "")["batch"]])
        if len(attempts) == 1:
            route.fulfill(status=503, content_type="application/json", body='{"error": "retry"}')
        else:
            route.continue_()

    visitor.context.route("**/v1/b", unavailable_once)
    visitor.open("/demo/pricing.html")
    aid = visitor.anonymous_id()

    visitor.wait(lambda: len(attempts) >= 2, "a second attempt")
    assert attempts[1] == attempts[0]
    visitor.wait(lambda: set(attempts[0]) <= stored_ids(visitor, aid), "the retried messages stored")


def test_a_refused_send_is_not_retried(visitor: Visitor):
    attempts: list[list[str]] = []

    def refused_once(route: Route) -> None:
        attempts.append([m["messageId"] for m in json.loads(route.request.post_data or "")["batch"]])
        if len(attempts) == 1:
            route.fulfill(status=400, content_type="application/json", body='{"error": "bad"}')
        else:
            route.continue_()

    visitor.context.route("**/v1/b", refused_once)
    page = visitor.open("/demo/pricing.html")
    visitor.wait(lambda: attempts, "a first attempt")
    page.evaluate("leadstream('track', 'After A Refusal')")

    visitor.wait(lambda: len(attempts) >= 2, "the next send")
    assert not set(attempts[0]) & set(attempts[1])
    visitor.wait(lambda: "ls_q" not in visitor.storage(), "nothing left to send")


def test_messages_that_could_not_be_sent_go_with_the_next_page(visitor: Visitor):
    base = visitor.runner.base
    blocked: list[str] = []

    def offline_on_the_home_page(route: Route) -> None:
        if route.request.headers.get("referer") == f"{base}/demo/":
            blocked.append(route.request.resource_type)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    visitor.context.route("**/v1/b", offline_on_the_home_page)
    page = visitor.open("/demo/")
    aid = visitor.anonymous_id()
    visitor.wait(lambda: blocked, "a send from the home page that fails")
    queued = json.loads(visitor.storage()["ls_q"])
    assert [m["context"]["page"]["path"] for m in queued] == ["/demo/"]

    page.click("text=Pricing")  # leaving: the beacon fails too
    page.wait_for_url("**/demo/pricing.html")
    visitor.wait(
        lambda: queued[0]["messageId"] in stored_ids(visitor, aid), "the home page view, sent from pricing"
    )


def test_withdrawn_consent_stops_all_tracking_and_forgets_the_id(visitor: Visitor):
    page = visitor.open("/demo/")
    aid = visitor.anonymous_id()
    visitor.wait(lambda: visitor.events(aid, "page"), "the first page view stored")
    page.click("text=Stop tracking me")  # leadstream('consent', false)

    assert visitor.cookie("ls_aid") is None
    assert visitor.storage() == {"ls_consent": "0"}
    assert page.evaluate("leadstream.anonymousId()") is None
    sent = len(visitor.sends())
    page.evaluate("leadstream('track', 'Not Sent'); leadstream('identify', {email: 'no@acme.example'})")
    page.click("text=Pricing")
    page.wait_for_url("**/demo/pricing.html")
    page.click("nav >> text=Request a demo")
    page.wait_for_function(LOADED)
    expect(page.locator("#demo-request input[name=anonymousId]")).to_have_count(0)
    page.click("nav >> text=App")
    page.wait_for_function(LOADED)
    page.click("#tab-reports")
    page.wait_for_timeout(QUIET_MS)

    assert visitor.sends()[sent:] == []
    assert visitor.cookie("ls_aid") is None
    assert visitor.storage() == {"ls_consent": "0"}

    page.click("text=Track me again")  # leadstream('consent', true): a new visitor from here on
    fresh = visitor.anonymous_id()
    assert fresh != aid
    visitor.wait(lambda: visitor.events(fresh, "page"), "a page view with the new id")


def test_identify_with_a_user_id_lasts_until_reset(visitor: Visitor):
    page = visitor.open("/demo/app.html")
    aid = visitor.anonymous_id()
    page.evaluate("leadstream('identify', 'user-42', {email: 'ada@acme.example', name: 'Ada'})")
    page.click("nav >> text=Pricing")
    page.wait_for_url("**/demo/pricing.html")

    pricing = visitor.wait(
        lambda: [m for m in visitor.messages() if m["context"]["page"]["path"] == "/demo/pricing.html"],
        "the pricing page view",
    )
    assert (pricing[0]["anonymousId"], pricing[0]["userId"]) == (aid, "user-42")
    page.evaluate("leadstream('reset'); leadstream('track', 'After Reset')")

    after = visitor.wait(
        lambda: [m for m in visitor.messages() if m.get("event") == "After Reset"], "the call after reset"
    )[0]
    assert "userId" not in after
    assert after["anonymousId"] == visitor.anonymous_id() != aid
    assert visitor.storage()["ls_aid"] == after["anonymousId"]


def test_a_site_that_requires_consent_is_silent_until_given(visitor: Visitor):
    def requiring_consent(route: Route) -> None:
        page = route.fetch()
        html = page.text().replace("data-write-key=", "data-require-consent data-write-key=")
        route.fulfill(response=page, body=html)

    visitor.context.route("**/demo/*.html", requiring_consent)
    page = visitor.open("/demo/pricing.html")
    page.wait_for_function(LOADED)
    page.wait_for_timeout(QUIET_MS)
    assert visitor.sends() == []
    assert visitor.cookie("ls_aid") is None

    page.click("text=Track me again")  # leadstream('consent', true)
    aid = visitor.anonymous_id()
    visitor.wait(lambda: visitor.events(aid, "page"), "the page view once consent is given")
    page.click("nav >> text=Request a demo")  # and the next page remembers it
    visitor.wait(lambda: len(visitor.events(aid, "page")) == 2, "the next page view")


@pytest.mark.parametrize(
    "signal",
    [
        "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})",
        "Object.defineProperty(window, 'doNotTrack', {value: '1'})",
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})",
    ],
    ids=["navigator.doNotTrack", "window.doNotTrack", "globalPrivacyControl"],
)
def test_do_not_track_sends_nothing_and_sets_no_id(visitor: Visitor, signal: str):
    visitor.context.add_init_script(signal)
    page = visitor.open("/demo/blog/speed-to-lead.html")
    page.wait_for_function(LOADED)
    page.fill("#newsletter [name=email]", "private@acme.example")
    page.click("#newsletter button")
    visitor.open("/demo/request-demo.html").wait_for_function(LOADED)
    expect(page.locator("#demo-request input[name=anonymousId]")).to_have_count(0)
    visitor.open("/demo/app.html").wait_for_function(LOADED)
    page.click("#tab-reports")
    page.wait_for_timeout(QUIET_MS)

    assert visitor.sends() == []
    assert visitor.cookie("ls_aid") is None
    assert visitor.storage() == {}
    assert page.evaluate("leadstream.anonymousId()") is None
