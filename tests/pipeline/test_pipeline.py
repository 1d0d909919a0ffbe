"""The running system over HTTP: `make run`'s runner, driven like a visitor, a retrying client and a
redelivering stream would drive it. One SQL, one notification, whatever is delivered twice."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.aws import clients
from local.runner import DEMO_WRITE_KEY
from tests.builders import basic_auth, stream_records

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Runner:
    def __init__(self, tmp: Path) -> None:
        self.port, self.aws_port = _free_port(), _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.endpoint = f"http://127.0.0.1:{self.aws_port}"
        self.notifications = tmp / "notifications.jsonl"
        self.log = (tmp / "runner.log").open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.runner",
                "--port",
                str(self.port),
                "--aws-port",
                str(self.aws_port),
                "--notifications",
                str(self.notifications),
            ],
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.log_path = tmp / "runner.log"

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"runner exited:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.base}/demo/", timeout=1) as page:
                    if page.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"runner not ready in {seconds}s:\n{self.log_path.read_text()}")

    def post(
        self,
        path: str,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> int:
        key = basic_auth(DEMO_WRITE_KEY) if auth else {}
        request = urllib.request.Request(
            self.base + path,
            data=body,
            method="POST",
            headers={"content-type": content_type, **key, **(headers or {})},
        )

        class Manual(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        try:
            with urllib.request.build_opener(Manual).open(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code

    def notes(self) -> list[dict[str, Any]]:
        if not self.notifications.exists():
            return []
        return [json.loads(line) for line in self.notifications.read_text().splitlines() if line.strip()]

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.log.close()
        return self.log_path.read_text()


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    run = Runner(tmp_path)
    run.wait_ready()
    yield run
    run.stop()


def eventually(check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


ANON = "6d0f9c1e-0000-4000-8000-000000000001"


def visitor_journey(run: Runner) -> list[int]:
    """A visitor as browsers and SDKs report one: the landing page through a short path (text/plain, key
    in the body), the next pages in a batch with one broken message in it, then the demo-request form."""

    def page(i: int, path: str) -> dict[str, object]:
        url = f"{run.base}{path}?utm_source=newsletter&utm_medium=email"
        return {
            "type": "page",
            "anonymousId": ANON,
            "messageId": f"page-{i}",
            "context": {"page": {"path": path, "url": url, "referrer": ""}},
        }

    landing = {**page(0, "/demo/"), "writeKey": DEMO_WRITE_KEY}
    statuses = [run.post("/v1/p", json.dumps(landing).encode(), "text/plain", auth=False)]
    batch = {
        "batch": [page(1, "/demo/blog/speed-to-lead.html"), {"type": "page"}, page(2, "/demo/pricing.html")]
    }
    statuses.append(run.post("/v1/b", json.dumps(batch).encode(), "text/plain"))
    form = (
        f"name=Jane+Doe&email=jane%40acme.example&company=Acme&title=Head+of+Sales&anonymousId={ANON}"
        "&_next=%2Fdemo%2Fthanks.html"
    ).encode()
    statuses.append(
        run.post(
            "/v1/forms/demo-request",
            form,
            "application/x-www-form-urlencoded",
            {"referer": f"{run.base}/demo/request-demo.html"},
        )
    )
    return statuses


def lead_state(run: Runner) -> dict[str, Any]:
    items = clients(run.endpoint, "eu-west-1")["dynamodb"].scan(TableName="leadstream-local-LeadsTable")[
        "Items"
    ]
    states = [i for i in items if i["sk"]["S"] == "STATE" and "stage" in i]  # not identifiers' pointers
    assert len(states) == 1
    return states[0]


def test_a_visitor_who_requests_a_demo_becomes_one_sql_and_one_notification(runner: Runner, tmp_path: Path):
    assert visitor_journey(runner) == [200, 200, 303]

    notes = eventually(runner.notes)
    assert len(notes) == 1, runner.log_path.read_text()
    note = notes[0]
    assert note["subject"] == "New SQL: Jane Doe at Acme (score 92)"
    assert note["card"]["account"] == "acme.example"
    assert note["card"]["first_touch"]["channel"] == "email"
    assert eventually(lambda: "SALES NOTIFICATION  New SQL: Jane Doe" in runner.log_path.read_text())
    score_before = lead_state(runner)["behaviour"]

    # the website retries every request
    assert visitor_journey(runner) == [200, 200, 303]
    # the stream redelivers a batch to scoring (what `sam local invoke -e` would do)
    aws = clients(runner.endpoint, "eu-west-1")
    records = [
        r
        for r in stream_records(aws, "leadstream-local-LeadsTable")
        if r["eventName"] == "INSERT" and r["dynamodb"]["Keys"]["sk"]["S"].startswith("EVT#")
    ]
    batch = tmp_path / "replay.json"
    batch.write_text(json.dumps({"Records": records}))
    replay = subprocess.run(
        [
            sys.executable,
            "-m",
            "local.invoke",
            "ScoreFunction",
            "-e",
            str(batch),
            "--aws-port",
            str(runner.aws_port),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout) == {"batchItemFailures": []}
    # and EventBridge delivers the SQL event again
    detail = {
        k: note[k]
        for k in ("version", "transition_id", "lead_id", "from_stage", "to_stage", "changed_at", "card")
    }
    aws["events"].put_events(
        Entries=[
            {
                "Source": "leadstream",
                "DetailType": "Lead Stage Changed",
                "Detail": json.dumps(detail),
                "EventBusName": "leadstream-local",
            }
        ]
    )

    time.sleep(3)
    assert len(runner.notes()) == 1
    assert lead_state(runner)["behaviour"] == score_before


def test_bad_input_over_http_is_a_json_400(runner: Runner):
    request = urllib.request.Request(
        f"{runner.base}/v1/page",
        data=b"{oops",
        method="POST",
        headers={"content-type": "application/json", **basic_auth(DEMO_WRITE_KEY)},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 400
    assert "not valid JSON" in json.loads(error.value.read())["error"]


def test_ctrl_c_stops_everything(tmp_path: Path):
    run = Runner(tmp_path)
    run.wait_ready()

    log = run.stop()

    assert run.process.returncode == 0
    assert "Stopped." in log
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{run.base}/demo/", timeout=1)
