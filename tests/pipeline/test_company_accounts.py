"""Companies of anonymous visitors through `make run`: the runner started with a company lookup token (in its
local Secrets Manager) and the URL of a fake IPinfo this test serves; visitors send over the real HTTP API,
and `python -m cli accounts show` tells what sales sees within seconds."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.runner import COMPANY_LOOKUP_TOKEN, DEMO_WRITE_KEY
from tests.builders import basic_auth
from tests.fakes.ipinfo import FakeIpinfo
from tests.pipeline.harness import REPO, Runner, eventually

pytestmark = pytest.mark.slow

TOKEN = "ipinfo-pipeline-token"
ACME_NETWORK = {
    "81.2.69.0/24": {
        "company": {"name": "Acme Widgets Ltd", "domain": "acme.co.uk", "type": "business"},
        "privacy": {"vpn": False, "proxy": False, "tor": False, "relay": False, "hosting": False},
    }
}
HEADERS = {"Content-Type": "application/json", **basic_auth(DEMO_WRITE_KEY)}


@pytest.fixture
def ipinfo() -> Iterator[FakeIpinfo]:
    fake = FakeIpinfo(TOKEN, ACME_NETWORK)
    yield fake
    fake.stop()


@pytest.fixture
def runner(tmp_path: Path, ipinfo: FakeIpinfo) -> Iterator[Runner]:
    run = Runner(tmp_path, "--company-lookup-url", ipinfo.url, env={COMPANY_LOOKUP_TOKEN: TOKEN})
    run.wait_ready()
    yield run
    run.stop()


def send(run: Runner, path: str, message: dict[str, Any]) -> None:
    answer = run.request("POST", path, json.dumps(message).encode(), HEADERS)
    assert answer.status == 200, answer.body


def accounts_show(run: Runner, domain: str) -> dict[str, Any] | None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "--endpoint", run.endpoint, "accounts", "show", domain, "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        return None
    shown: dict[str, Any] = json.loads(done.stdout)
    return shown


def test_two_known_people_and_an_anonymous_visitor_of_acme_make_its_account_within_seconds(runner, ipinfo):
    for path in ("/", "/pricing", "/docs/integrations"):
        send(
            runner, "/v1/page", {"anonymousId": "acme-visitor", "context": {"ip": "81.2.69.77"}, "name": path}
        )
    for who, title in (("vp", "VP Engineering"), ("cfo", "CFO")):
        anonymous_id = f"acme-{who}"
        send(runner, "/v1/page", {"anonymousId": anonymous_id, "context": {"ip": "81.2.69.12"}})
        traits = {"email": f"{who}@acme.co.uk", "title": title, "name": f"{who.upper()} of Acme"}
        send(runner, "/v1/identify", {"anonymousId": anonymous_id, "traits": traits})

    def complete() -> dict[str, Any] | None:
        shown = accounts_show(runner, "acme.co.uk")
        return shown if shown is not None and shown["people"] == 3 and shown["coverage"] > 0 else None

    shown = eventually(complete, seconds=30)
    assert shown is not None, runner.log_path.read_text()[-3000:]
    assert shown["score"] > 0
    assert shown["name"] == "Acme Widgets Ltd"
    assert shown["anonymous_people"] == 1
    people = {m["person"]: m for m in shown["members"]}
    assert set(people) == {"VP of Acme", "CFO of Acme", "anonymous visitor from Acme Widgets Ltd"}
    assert people["anonymous visitor from Acme Widgets Ltd"]["basis"] == "company by IP"
    assert people["CFO of Acme"]["basis"] == "e-mail domain"
    assert people["CFO of Acme"]["title"] == "CFO"
    assert all(m["score"] > 0 for m in shown["members"])
    assert ipinfo.asked == ["81.2.69.0"]  # one lookup for the company's visitors

    table = subprocess.run(
        [sys.executable, "-m", "cli", "--endpoint", runner.endpoint, "accounts", "show", "acme.co.uk"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "Account Acme Widgets Ltd (acme.co.uk)" in table
    assert "anonymous visitor from Acme Widgets Ltd" in table
    assert "1 anonymous" in table
