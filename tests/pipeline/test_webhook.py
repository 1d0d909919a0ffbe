"""The outbound webhook (WebhookUrl) in `make run`: a small HTTP server plays the CRM. Lead events reach it
as EventBridge's JSON events with the configured auth header; it is retried while it answers 503, and an
event it refuses ends in WebhookFailuresQueue with what went wrong."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local.aws import clients
from local.runner import STACK
from tests.pipeline.harness import Runner, eventually, free_port
from tests.pipeline.test_pipeline import visitor_journey

pytestmark = pytest.mark.slow

TOKEN = "Bearer crm-token-123"


class Crm:
    """An inbound webhook: records each request; answers what `plan` says for an event's transition_id
    (a list of statuses, one per attempt), else 200."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.plan: dict[str, list[int]] = {}
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                crm.received.append({"path": self.path, "headers": dict(self.headers), "event": body})
                planned = crm.plan.get(body.get("detail", {}).get("transition_id"), [])
                self.send_response(planned.pop(0) if planned else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/inbound/leadstream"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, transition_id: str | None = None) -> list[dict[str, Any]]:
        return [
            r
            for r in self.received
            if transition_id is None or r["event"].get("detail", {}).get("transition_id") == transition_id
        ]


@pytest.fixture(scope="module")
def crm() -> Iterator[Crm]:
    receiver = Crm()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, crm: Crm) -> Iterator[Runner]:
    runner = Runner(
        tmp_path_factory.mktemp("webhook"),
        "--webhook-url",
        crm.url,
        env={"LEADSTREAM_WEBHOOK_SECRET": TOKEN},
    )
    runner.wait_ready()
    yield runner
    runner.stop()


def publish(run: Runner, transition_id: str) -> None:
    """A lead event on the bus, as PublishFunction puts one (a stage change sales is not told about)."""
    detail = {"transition_id": transition_id, "lead_id": "L-web", "from_stage": "lead", "to_stage": "MQL"}
    clients(run.endpoint, "eu-west-1")["events"].put_events(
        Entries=[
            {
                "Source": "leadstream",
                "DetailType": "Lead Stage Changed",
                "Detail": json.dumps(detail),
                "EventBusName": "leadstream-local",
            }
        ]
    )


def parked(run: Runner) -> list[dict[str, Any]]:
    sqs = clients(run.endpoint, "eu-west-1")["sqs"]
    url = sqs.get_queue_url(QueueName=f"{STACK}-WebhookFailuresQueue")["QueueUrl"]
    received = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
    )
    return list(received.get("Messages", []))


def test_a_lead_that_becomes_sql_reaches_the_crm_with_the_auth_header(run: Runner, crm: Crm):
    assert visitor_journey(run) == [200, 200, 303]

    def sql() -> list[dict[str, Any]]:
        return [r for r in crm.events() if r["event"]["detail"].get("to_stage") == "SQL"]

    (request,) = eventually(sql, seconds=30)
    assert request["path"] == "/inbound/leadstream"
    assert request["headers"]["Authorization"] == TOKEN
    assert request["headers"]["Content-Type"].startswith("application/json")
    event = request["event"]
    assert (event["source"], event["detail-type"]) == ("leadstream", "Lead Stage Changed")
    assert {"id", "time", "account", "region", "resources"} <= set(event)  # the whole EventBridge event


def test_a_crm_that_answers_503_is_retried_until_it_takes_the_event(run: Runner, crm: Crm):
    crm.plan["flaky:MQL:1"] = [503, 503]
    publish(run, "flaky:MQL:1")

    assert eventually(lambda: len(crm.events("flaky:MQL:1")) == 3, seconds=15)
    assert not any(json.loads(m["Body"])["detail"]["transition_id"] == "flaky:MQL:1" for m in parked(run))


def test_an_event_the_crm_refuses_is_parked_with_why_and_not_retried(run: Runner, crm: Crm):
    crm.plan["refused:MQL:1"] = [400, 400, 400]
    publish(run, "refused:MQL:1")

    dead = eventually(lambda: parked(run), seconds=15)
    assert [json.loads(m["Body"])["detail"]["transition_id"] for m in dead] == ["refused:MQL:1"]
    attributes = {k: v["StringValue"] for k, v in dead[0]["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "400"
    assert attributes["RETRY_ATTEMPTS"] == "0"
    assert attributes["RULE_ARN"].endswith(":rule/leadstream-local/leadstream-local-WebhookRule")
    assert ":api-destination/" in attributes["TARGET_ARN"]
    assert len(crm.events("refused:MQL:1")) == 1
