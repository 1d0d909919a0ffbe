"""Notification channels against real peers: a Slack-compatible webhook served on loopback."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from leadstream.contracts.events import LeadStageChanged
from leadstream.notifications.message import deliver
from leadstream.notifications.notifiers import SlackNotifier
from leadstream.platform.errors import NotifyFailed

from tests.integration.test_sample_events import sample


class Webhook:
    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(json.loads(body))
                self.send_response(outer.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/XXX"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.shutdown()


CHANGE = LeadStageChanged.model_validate(sample("notify_sales.json")["detail"])


def test_slack_gets_a_message_a_rep_can_read_on_a_phone(webhook: Webhook):
    deliver(CHANGE, SlackNotifier(webhook.url))

    (message,) = webhook.received
    text = message["text"]
    assert text.startswith("*New SQL: Jane Doe at Example Ltd (score")
    assert "jane.doe@example.com" in text
    assert "Why: " in text
    assert "First came from paid search via google, campaign brand" in text


def test_a_slack_error_raises_so_the_event_is_retried_and_parked(webhook: Webhook):
    webhook.status = 500

    with pytest.raises(NotifyFailed, match="answered 500"):
        deliver(CHANGE, SlackNotifier(webhook.url))


def test_an_unreachable_slack_raises_too():
    with pytest.raises(NotifyFailed, match="unreachable"):
        deliver(CHANGE, SlackNotifier("http://127.0.0.1:9/hook", timeout=1))


def test_a_plain_http_webhook_is_refused_outside_loopback():
    with pytest.raises(ValueError, match="https"):
        SlackNotifier("http://hooks.slack.com/services/x")


def test_the_webhook_url_lives_in_a_secret_not_in_the_function_environment(moto_endpoint, webhook: Webhook):
    from local.aws import clients, provision
    from local.template import load_stack

    stack = load_stack("leadstream-slack", "eu-west-1", {"SlackWebhookUrl": webhook.url}, {})
    env = stack.functions["NotifySalesFunction"].declared
    assert webhook.url not in json.dumps(env)
    assert env["SLACK_WEBHOOK_SECRET"] == stack.physical_name("SlackWebhookSecret")

    aws = clients(moto_endpoint, "eu-west-1")
    provision(stack, aws)
    fetched: list[str] = []

    def from_secret() -> str:
        fetched.append("x")
        return str(
            aws["secretsmanager"].get_secret_value(SecretId=env["SLACK_WEBHOOK_SECRET"])["SecretString"]
        )

    channel = SlackNotifier(from_secret)
    deliver(CHANGE, channel)
    assert len(webhook.received) == 1
    assert fetched  # read when first needed, not at cold start


def test_without_a_webhook_url_the_stack_has_no_slack_secret():
    from local.template import load_stack

    stack = load_stack("leadstream-noslack", "eu-west-1", {}, {})

    assert "SlackWebhookSecret" not in stack.of_type("AWS::SecretsManager::Secret")
    assert "SLACK_WEBHOOK_SECRET" not in stack.functions["NotifySalesFunction"].declared
