"""The runner's API destinations on template.yaml's webhook (WebhookUrl set): lead events on the bus reach
an HTTP receiver with the header whose value is in Secrets Manager; what it refuses is parked with why."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from local.aws import clients, delivery_queue_name, provision
from local.destinations import ApiDestinationDelivery
from local.environment import REGION
from local.template import Stack, load_stack
from tests.pipeline.harness import eventually

SECRET_NAME = "hook/crm"
TOKEN = "Bearer crm-456"


class Receiver:
    """An inbound webhook answering each event by its transition_id: `refuse...` ones 400, `flaky...`
    ones 503 the first two times, others 200."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.received.append((dict(self.headers), event))
                transition = str(event.get("detail", {}).get("transition_id", ""))
                status = 200
                if transition.startswith("refuse"):
                    status = 400
                elif transition.startswith("flaky") and receiver.ids().count(transition) <= 2:
                    status = 503
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self) -> list[str]:
        return [event["detail"].get("transition_id") for _, event in self.received]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.server.shutdown()


@pytest.fixture(scope="module")
def hooked(moto_endpoint: str, receiver: Receiver) -> Iterator[tuple[Stack, dict[str, Any], dict[str, str]]]:
    """template.yaml with the webhook on, as a stack of its own in the local AWS, its rule delivered."""
    parameters = {"StageName": "hook", "WebhookUrl": receiver.url, "WebhookSecret": SECRET_NAME}
    stack = load_stack("leadstream-hook", REGION, parameters, {})
    aws = clients(moto_endpoint, REGION)
    queues = provision(stack, aws)
    aws["secretsmanager"].create_secret(Name=SECRET_NAME, SecretString=TOKEN)
    stop = threading.Event()
    (rule,) = stack.api_rules
    delivery = ApiDestinationDelivery(
        stack, rule, queues[delivery_queue_name(stack, rule.name)], aws, queues, stop, lambda _: None
    )
    delivery.start()
    yield stack, aws, queues
    stop.set()
    delivery.join(timeout=5)


def put(aws: dict[str, Any], detail_type: str, transition_id: str) -> None:
    detail = {"transition_id": transition_id, "lead_id": "L1", "from_stage": "lead", "to_stage": "MQL"}
    aws["events"].put_events(
        Entries=[
            {
                "Source": "leadstream",
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
                "EventBusName": "leadstream-hook",
            }
        ]
    )


def test_every_lead_event_reaches_the_receiver_with_the_secret_header_and_account_events_do_not(
    hooked: tuple[Stack, dict[str, Any], dict[str, str]], receiver: Receiver
):
    _, aws, _ = hooked
    put(aws, "Account Stage Changed", "account-1")
    put(aws, "Lead Stage Changed", "lead-1")
    put(aws, "Lead Assigned", "lead-2")  # a lead event added later reaches the webhook too

    assert eventually(lambda: {"lead-1", "lead-2"} <= set(receiver.ids()), seconds=10)
    assert "account-1" not in receiver.ids()
    headers, event = next((h, e) for h, e in receiver.received if e["detail"]["transition_id"] == "lead-1")
    assert headers["Authorization"] == TOKEN
    assert (event["source"], event["detail-type"]) == ("leadstream", "Lead Stage Changed")


def test_an_event_the_receiver_refuses_is_parked_once_with_why(
    hooked: tuple[Stack, dict[str, Any], dict[str, str]], receiver: Receiver
):
    _, aws, queues = hooked
    put(aws, "Lead Stage Changed", "refuse-1")

    def parked() -> list[dict[str, Any]]:
        answer = aws["sqs"].receive_message(
            QueueUrl=queues["WebhookFailuresQueue"], MessageAttributeNames=["All"], WaitTimeSeconds=1
        )
        return list(answer.get("Messages", []))

    (message,) = eventually(parked, seconds=10)
    assert json.loads(message["Body"])["detail"]["transition_id"] == "refuse-1"
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert (attributes["ERROR_CODE"], attributes["RETRY_ATTEMPTS"]) == ("400", "0")
    assert receiver.ids().count("refuse-1") == 1  # a 400 is not retried


def test_a_receiver_answering_503_is_retried_until_it_takes_the_event(
    hooked: tuple[Stack, dict[str, Any], dict[str, str]], receiver: Receiver
):
    _, aws, _ = hooked
    put(aws, "Lead Stage Changed", "flaky-1")

    assert eventually(lambda: receiver.ids().count("flaky-1") == 3, seconds=10)  # 503, 503, then 200
