"""Adding a website is one command: a page on an origin no source lists is refused, readably; after
`python -m cli sources create ... --origin` (or `sources origins --add`) against the running `make run`,
its preflighted and its snippet calls pass, without restarting anything."""

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from local.runner import DEMO_SOURCE, DEMO_WRITE_KEY
from tests.browser.test_snippet import LOADED, Visitor
from tests.builders import basic_auth
from tests.pipeline.harness import REPO, Runner

pytestmark = pytest.mark.slow

# A site on another origin than the runner's own: a page of its own, and the snippet tag once it has a key.
SITE_KEY: dict[str, str] = {}
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Second site</title>{snippet}</head>
<body><h1>Second site</h1></body></html>"""


class SecondSite(BaseHTTPRequestHandler):
    api = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        key = SITE_KEY.get("key")
        tag = f'<script async src="{self.api}/v1/lb.js" data-write-key="{key}"></script>' if key else ""
        body = PAGE.format(snippet=tag).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def second_site(runner: Runner) -> Iterator[str]:
    SecondSite.api = runner.base
    server = ThreadingHTTPServer(("127.0.0.1", 0), SecondSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    SITE_KEY.clear()


def cli(runner: Runner, *args: str) -> str:
    """`python -m cli` as an operator runs it against this make run."""
    done = subprocess.run(
        [sys.executable, "-m", "cli", "--endpoint", runner.endpoint, "--api", runner.base, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# What the page's scripts send: a Segment-style SDK (application/json, HTTP Basic: a preflight) and a
# snippet-style call (text/plain, the key in the body: none). Each says what the page could read.
SEND = """async ([url, contentType, headers, body]) => {
  try {
    const sent = {method: "POST", headers: {"Content-Type": contentType, ...headers}, body};
    const answer = await fetch(url, sent);
    return {status: answer.status, body: await answer.text()};
  } catch (error) {
    return {blocked: String(error)};
  }
}"""


def send_json(context: BrowserContext, site: str, runner: Runner, key: str) -> dict[str, Any]:
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(site + "/")
    auth = basic_auth(key)
    body = json.dumps({"anonymousId": "sdk-visitor", "event": "Signed Up"})
    return dict(page.evaluate(SEND, [f"{runner.base}/v1/track", "application/json", auth, body]))


def send_text(context: BrowserContext, site: str, runner: Runner, key: str) -> dict[str, Any]:
    page = context.pages[0] if context.pages else context.new_page()
    page.goto(site + "/")
    body = json.dumps({"writeKey": key, "anonymousId": "snippet-visitor", "context": {"page": {"path": "/"}}})
    return dict(page.evaluate(SEND, [f"{runner.base}/v1/p", "text/plain", {}, body]))


def test_a_site_added_with_the_command_line_can_send_from_a_browser_at_once(
    runner: Runner, second_site: str, context: BrowserContext
):
    # Before: the demo key from an origin its source does not list. The snippet's kind of call reaches the
    # API and the page can read why it was refused; an SDK's preflighted call does not get that far.
    refused = send_text(context, second_site, runner, DEMO_WRITE_KEY)
    assert refused["status"] == 403
    assert json.loads(refused["body"])["error"] == f"origin {second_site} is not allowed for this source"
    assert "blocked" in send_json(context, second_site, runner, DEMO_WRITE_KEY)

    created = cli(runner, "sources", "create", "Second site", "--origin", second_site)
    found = re.search(r"^Write key: (\S+)$", created, re.MULTILINE)
    assert found, created
    key = found.group(1)
    assert "AllowedOrigins" not in created

    assert send_json(context, second_site, runner, key) == {"status": 200, "body": '{"success":true}'}
    assert send_text(context, second_site, runner, key) == {"status": 200, "body": '{"success":true}'}


def test_the_snippet_on_a_site_added_with_the_command_line_stores_its_page_view(
    runner: Runner, second_site: str, context: BrowserContext
):
    created = cli(runner, "sources", "create", "Snippet site", "--origin", second_site)
    found = re.search(r"^Write key: (\S+)$", created, re.MULTILINE)
    assert found, created
    SITE_KEY["key"] = found.group(1)
    visitor = Visitor(runner, context)

    visitor.page.goto(second_site + "/")
    visitor.page.wait_for_function(LOADED)
    aid = visitor.anonymous_id()

    stored = visitor.wait(lambda: visitor.events(aid, "page"), "the second site's page view stored")
    assert stored[0]["path"] == "/"
    sends = visitor.wait(lambda: [r for r in visitor.sends() if r.post_data], "the snippet's send")
    assert sends[0].headers["content-type"] == "text/plain"
    assert visitor.errors == []


def test_an_origin_added_to_a_running_source_works_without_a_restart(
    runner: Runner, second_site: str, context: BrowserContext
):
    cli(runner, "sources", "origins", DEMO_SOURCE, "--remove", second_site)  # whatever ran before
    assert send_text(context, second_site, runner, DEMO_WRITE_KEY)["status"] == 403  # its source remembered

    said = cli(runner, "sources", "origins", DEMO_SOURCE, "--add", second_site)
    assert f"Added {second_site}" in said

    assert send_text(context, second_site, runner, DEMO_WRITE_KEY)["status"] == 200
    assert send_json(context, second_site, runner, DEMO_WRITE_KEY)["status"] == 200
