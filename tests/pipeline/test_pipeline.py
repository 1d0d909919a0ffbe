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
from leadstream.identity.identifiers import device_lead, identifiers
from leadstream.scoring.model_file import load_model
from leadstream.scoring.repository import ScoreRepository
from leadstream.scoring.score import LeadScore

from local.aws import clients
from local.runner import DEMO_WRITE_KEY, STACK
from tests.builders import basic_auth, points, stream_records

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


LEADS_TABLE = f"{STACK}-LeadsTable"


def lead_score(run: Runner, anonymous_id: str) -> LeadScore | None:
    """A visitor's score in the runner's table, read as ScoreRepository reads it (this process's shared
    DynamoDB client may point at another local AWS: the read goes to the runner's own)."""
    lead = device_lead(identifiers(anonymous_id, None, None))
    item = (
        clients(run.endpoint, "eu-west-1")["dynamodb"]
        .get_item(
            TableName=LEADS_TABLE,
            Key={"pk": {"S": f"LEAD#{lead}"}, "sk": {"S": "STATE"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return ScoreRepository(LEADS_TABLE).from_image(item) if item else None


def stage_changed(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "Source": "leadstream",
        "DetailType": "Lead Stage Changed",
        "Detail": json.dumps(detail),
        "EventBusName": "leadstream-local",
    }


def test_a_visitor_who_requests_a_demo_becomes_one_sql_and_one_notification(
    runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # repositories make the process's client
    assert visitor_journey(runner) == [200, 200, 303]

    notes = eventually(runner.notes)
    assert len(notes) == 1, runner.log_path.read_text()
    note = notes[0]
    journey = ("page_view", "blog_post", "pricing_page", "demo_request", "work_email", "senior_title")
    assert note["subject"] == f"New SQL: Jane Doe at Acme (score {points(load_model(), *journey):g})"
    assert note["card"]["account"] == "acme.example"
    assert note["card"]["first_touch"]["channel"] == "email"
    assert eventually(lambda: "SALES NOTIFICATION  New SQL: Jane Doe" in runner.log_path.read_text())
    scored = lead_score(runner, ANON)
    assert scored is not None
    assert note["transition_id"] in [t.id for t in scored.transitions]  # its last write made the change

    # the website retries every request
    assert visitor_journey(runner) == [200, 200, 303]
    # then another visitor's page view: the table's stream is one shard here, handled in order, so once
    # that visitor is scored, scoring has seen whatever the retries put on the stream
    marker_view = {"anonymousId": "marker-visitor", "messageId": "marker-view", "writeKey": DEMO_WRITE_KEY}
    assert runner.post("/v1/p", json.dumps(marker_view).encode(), "text/plain", auth=False) == 200
    assert eventually(lambda: lead_score(runner, "marker-visitor")), runner.log_path.read_text()
    assert lead_score(runner, ANON) == scored  # not rewritten: no event counted twice, nothing to publish
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
    # the replay wrote nothing either (a write would drop the recorded transition): no outbox record
    assert lead_score(runner, ANON) == scored

    # and EventBridge delivers the SQL event again, then a marker: another lead's SQL, put after it
    detail = {
        k: note[k]
        for k in ("version", "transition_id", "lead_id", "from_stage", "to_stage", "changed_at", "card")
    }
    marker = {
        **detail,
        "transition_id": "Lmarker:SQL:1",
        "lead_id": "Lmarker",
        "card": {**detail["card"], "lead_id": "Lmarker", "name": "Mark Er", "email": "mark@marker.example"},
    }
    aws["events"].put_events(Entries=[stage_changed(detail)])
    aws["events"].put_events(Entries=[stage_changed(marker)])

    # The rule's target handles its events one at a time, in the order they were put: once the marker's
    # notification is out, the redelivered event has certainly been handled.
    assert eventually(lambda: any(n["transition_id"] == "Lmarker:SQL:1" for n in runner.notes())), (
        runner.log_path.read_text()
    )
    assert [n["transition_id"] for n in runner.notes()] == [note["transition_id"], "Lmarker:SQL:1"]


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
