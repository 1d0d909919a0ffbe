"""Sales notifications through Slack, as the stack wires them: NotifySalesFunction's handler, the webhook
URL in a Secrets Manager secret named by SLACK_WEBHOOK_SECRET, and a Slack-compatible webhook served on
loopback that records what it receives."""

import contextlib
import importlib
import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import ModuleType
from typing import Any

import pytest
from leadstream.contracts.events import LeadStageChanged
from leadstream.notifications.message import deliver
from leadstream.notifications.notifiers import SlackNotifier, SnsNotifier
from leadstream.platform import aws as aws_clients
from leadstream.platform.errors import NotifyFailed

from local.aws import clients, provision
from local.environment import REGION, local_overrides
from local.template import Stack, load_stack
from tests.builders import LambdaContext, http_request, page_view
from tests.integration.test_sample_events import sample, the_samples_story

CTX = LambdaContext()


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


def slack_stack(webhook_url: str, endpoint: str) -> Stack:
    """The stack as deployed with a SlackWebhookUrl parameter (named apart: it sits beside the test stack)."""
    parameters = {"StageName": "slack", "SlackWebhookUrl": webhook_url, "LocalAwsEndpoint": endpoint}
    return load_stack("leadstream-slack", REGION, parameters, local_overrides(region=REGION))


@contextlib.contextmanager
def secret_reads() -> Iterator[list[str]]:
    """The secrets the functions in this process read from Secrets Manager (at their one client)."""
    client = aws_clients.client("secretsmanager")
    read: list[str] = []

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        read.append(json.loads(params["body"])["SecretId"])

    client.meta.events.register("before-call.secretsmanager.GetSecretValue", record)
    try:
        yield read
    finally:
        client.meta.events.unregister("before-call.secretsmanager.GetSecretValue", record)


@pytest.fixture
def cold_start(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Starts a new NotifySalesFunction container in the environment of the moment: its module is loaded
    afresh. The container the other tests share is put back afterwards."""
    name = "functions.notify_sales.app"
    package = importlib.import_module("functions.notify_sales")
    importlib.import_module(name)  # the shared container, in the test stack's environment: the one restored
    monkeypatch.setattr(package, "app", sys.modules[name])
    monkeypatch.delitem(sys.modules, name)

    def start() -> ModuleType:
        sys.modules.pop(name, None)
        return importlib.import_module(name)

    return start


@pytest.fixture
def slack_wired(
    cold_start: Any, moto_endpoint: str, webhook: Webhook, leads_table: str, monkeypatch: pytest.MonkeyPatch
) -> Stack:
    """The Slack stack's resources (its webhook secret among them) in the local AWS, and NotifySalesFunction's
    environment as that stack gives it (the file channel of the local runner is off)."""
    stack = slack_stack(webhook.url, moto_endpoint)
    provision(stack, clients(moto_endpoint, REGION))
    monkeypatch.delenv("NOTIFICATIONS_FILE", raising=False)
    for variable, value in stack.functions["NotifySalesFunction"].environment.items():
        monkeypatch.setenv(variable, value)
    # the cards it reads are those the test stack's functions write (track, form, score in this process)
    monkeypatch.setenv("LEADS_TABLE", leads_table)
    return stack


def test_slack_hears_of_a_new_sql_once_with_a_message_a_rep_can_read_on_a_phone(
    slack_wired: Stack, cold_start: Any, webhook: Webhook, track: Any, form: Any, score: Any
):
    env = slack_wired.functions["NotifySalesFunction"].declared
    assert webhook.url not in json.dumps(env)  # the URL is in the secret, not in the environment
    assert env["SLACK_WEBHOOK_SECRET"] == slack_wired.physical_name("SlackWebhookSecret")
    the_samples_story(track, form, score)
    event = sample("notify_sales.json")

    with secret_reads() as read:
        handler = cold_start()
        assert read == []  # not read at cold start: only when first needed
        result = handler.lambda_handler(event, CTX)
        handler.lambda_handler(event, CTX)  # EventBridge delivers the event again (or it is published again)

    assert read == [env["SLACK_WEBHOOK_SECRET"]]  # read once, then cached
    assert "slack" in result["channels"]
    (message,) = webhook.received
    header, section, context, actions = message["blocks"]
    assert header == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "New SQL: Jane Doe at Example Ltd (score 100)",
            "emoji": False,
        },
    }
    assert section["text"]["type"] == "plain_text"
    assert section["text"]["text"].splitlines() == [
        "Owner: sales@example.com",  # the shipped assignment rules: one team, one member
        "jane.doe@example.com",
        "Why: Viewed pricing (+50), Requested a demo (+40), Work e-mail address (+10)",
        "First came from paid search via google, campaign brand",
        "1 visit, 2 page views",
    ]
    # what a phone's notification and a client without blocks show: the same, as text without markup
    assert message["text"] == f"{header['text']['text']}\n{section['text']['text']}"
    assert message["mrkdwn"] is False
    # a link to the LeadCard (the stack's API URL: no SalesAppUrl given), and the buttons that act on it
    lead_id, transition_id = event["lead_id"], event["transition_id"]
    api_url = slack_wired.functions["NotifySalesFunction"].declared["SALES_APP_URL"]
    assert api_url.startswith("https://")
    assert api_url.endswith("/slack")
    assert context["elements"] == [
        # who works it (the assignment rules gave it its owner before sales was told), then the link
        {
            "type": "mrkdwn",
            "text": f"Owner: sales@example.com · <{api_url}/app#/leads/{lead_id}|Open the LeadCard>",
        }
    ]
    assert [(b["action_id"], json.loads(b["value"])) for b in actions["elements"]] == [
        (action, {"lead_id": lead_id, "transition_id": transition_id})
        for action in ("leadstream_accept", "leadstream_reject")
    ]


def test_a_slack_error_fails_the_invocation_and_lambdas_retry_tells_slack_once(
    slack_wired: Stack, cold_start: Any, webhook: Webhook, track: Any, form: Any, score: Any
):
    the_samples_story(track, form, score)
    event = sample("notify_sales.json")
    handler = cold_start()
    webhook.status = 500

    with pytest.raises(NotifyFailed, match="slack"):
        handler.lambda_handler(event, CTX)  # Lambda retries, then parks it in NotifyFailuresQueue

    webhook.status = 200
    handler.lambda_handler(event, CTX)  # Lambda's retry
    handler.lambda_handler(event, CTX)  # and a redelivery after it

    assert len(webhook.received) == 2  # the one Slack refused, and the one it took
    assert webhook.received[0] == webhook.received[1]


def test_an_unreachable_slack_raises_too():
    change = LeadStageChanged.model_validate(sample("lead_stage_changed.json")["detail"])

    with pytest.raises(NotifyFailed, match="unreachable"):
        deliver(change, SlackNotifier("http://127.0.0.1:9/hook", timeout=1))


def test_a_plain_http_webhook_is_refused_outside_loopback():
    with pytest.raises(ValueError, match="https"):
        SlackNotifier("http://hooks.slack.com/services/x")


def test_without_a_webhook_url_the_stack_has_no_slack_secret():
    stack = load_stack("leadstream-noslack", REGION, {}, {})

    assert "SlackWebhookSecret" not in stack.of_type("AWS::SecretsManager::Secret")
    assert "SLACK_WEBHOOK_SECRET" not in stack.functions["NotifySalesFunction"].declared


def request_demo(track: Any, form: Any, name: str, company: str, title: str = "VP Marketing") -> None:
    """A visitor reads pricing, then sends the demo-request form with what they typed."""
    for path in ("/", "/blog/speed-to-lead", "/pricing"):
        track.lambda_handler(http_request("/v1/page", page_view("evil-1", path)), CTX)
    fields = {"email": "mallory@bigcorp.com", "name": name, "company": company, "title": title}
    event = http_request(
        "/v1/forms/demo-request",
        {**fields, "anonymousId": "evil-1"},
        route="/v1/forms/{form_id}",
        path_params={"form_id": "demo-request"},
        content_type="application/json",
    )
    assert form.lambda_handler(event, CTX)["statusCode"] == 200


def test_slack_markup_typed_into_a_demo_request_reaches_slack_as_text_never_as_markup(
    track,
    form,
    score,
    publish,
    new_records,
    filters,
    published,
    handed_over,
    slack_wired,
    cold_start,
    webhook,
):
    request_demo(track, form, name="<!channel> Urgent", company="<https://evil.example|BigCorp>")
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    publish.lambda_handler({"Records": new_records(filters["PublishFunction"])}, CTX)
    [event] = published()
    assert event["detail"]["card"]["name"] == "<!channel> Urgent"  # the data is kept as typed

    cold_start().lambda_handler(handed_over(event), CTX)

    (message,) = webhook.received
    # Block Kit plain_text: Slack shows it as typed, with no mention, link, formatting or emoji code
    header, section, context, actions = message["blocks"]
    texts = [header["text"], section["text"]]  # every block with what the visitor typed
    assert {t["type"] for t in texts} == {"plain_text"}
    assert all(t["emoji"] is False for t in texts)
    assert texts[0]["text"].startswith("New SQL: <!channel> Urgent at <https://evil.example|BigCorp> (score ")
    # the one markup line is ours (the LeadCard link); the buttons carry ids, never what was typed
    [(link,)] = [[e["text"] for e in context["elements"] if e["type"] == "mrkdwn"]]
    assert link.startswith("Owner: sales@example.com · <https://")  # the owner: ours, from the rules
    assert link.endswith("|Open the LeadCard>")
    assert "channel" not in link
    assert "evil" not in link
    assert all("channel" not in b["value"] and "evil" not in b["value"] for b in actions["elements"])
    # the fallback text (phone notifications): no markup left live
    fallback = message["text"]
    assert "<" not in fallback
    assert ">" not in fallback
    assert "&lt;!channel&gt; Urgent at &lt;https://evil.example|BigCorp&gt;" in fallback
    assert message["mrkdwn"] is False


def test_formatting_characters_and_control_characters_stay_out_of_slack(webhook):
    detail = sample("lead_stage_changed.json")["detail"]
    detail["card"].update(name="*Jane* _Doe_ ~x~ `y` :fire:", company="Acme\x1b[31m\u202eLtd")
    change = LeadStageChanged.model_validate(detail)

    deliver(change, SlackNotifier(webhook.url))

    (message,) = webhook.received
    header = message["blocks"][0]["text"]
    assert header == {
        "type": "plain_text",
        "text": "New SQL: *Jane* _Doe_ ~x~ `y` :fire: at Acme[31mLtd (score 100)",
        "emoji": False,
    }
    assert "\x1b" not in json.dumps(message, ensure_ascii=False)


class RecordingSns:
    """An SNS client that holds a Publish to SNS's rules: the Subject has no line break or control
    character and fewer than 100 characters."""

    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, **params: Any) -> dict[str, Any]:
        subject = params["Subject"]
        assert len(subject.encode("utf-16-le")) // 2 < 100
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in subject)
        self.published.append(params)
        return {"MessageId": "m1"}


def test_a_name_with_a_line_break_cannot_break_the_e_mail_subject_or_add_lines():
    detail = sample("lead_stage_changed.json")["detail"]
    detail["card"].update(
        name="Jane\r\nBcc: everyone@example.com\nWhy: Requested a demo (+500)" + "!" * 200,
        title="CEO\x1b]0;owned\x07",
    )
    sns = RecordingSns()

    deliver(LeadStageChanged.model_validate(detail), SnsNotifier("arn:aws:sns:eu-west-1:1:t", sns))

    (sent,) = sns.published
    assert sent["Subject"].startswith("New SQL: Jane Bcc: everyone@example.com Why: ")
    assert sent["Subject"].endswith("(score 100)")
    lines = sent["Message"].splitlines()
    assert lines[0] == "CEO]0;owned"
    assert [line for line in lines if line.startswith("Why:")] == [
        "Why: Viewed pricing (+50), Requested a demo (+40), Work e-mail address (+10)"
    ]
