"""SlackFunction in-process against moto, as a stack with the SlackSigningSecret parameter deploys it: Slack's
interactivity requests (signed, form-encoded, base64 as the HTTP API passes them), the Slack app's secret
in Secrets Manager, the sales users in the stack's Cognito pool, and a fake Slack (users.info and the
response_url) on loopback."""

import base64
import contextlib
import importlib
import json
import sys
import threading
import time
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest
from leadstream.notifications.blocks import ACCEPT, ACTIONS_BLOCK, REJECT, Decision, slack_message
from leadstream.platform import secrets
from leadstream.sales.access import Caller, Role
from leadstream.slack.interactions import NOT_A_SALES_USER, SLACK_REJECT_REASON
from leadstream.slack.signature import signature

from local.aws import clients, create_user, local_password, provision
from local.environment import REGION, local_overrides
from local.template import Stack, load_stack
from tests.builders import LambdaContext, http_request, response_json
from tests.fakes.slack import FakeSlack

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"
SECRET_NAME = "leadstream-slackapp/slack-app"
SALES, MARKETING, STRANGER, NOBODY = "U0SALES", "U0MKT", "U0STRANGER", "U0NOBODY"
LEAD, TRANSITION = "Lacme42", "Lacme42:SQL:3"


class RecordedActions:
    """The sales workflow's accept/reject service, as SlackFunction calls it: what it was asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str | None, frozenset[Role], str]] = []

    def accept(self, lead_id: str, transition_id: str, who: Caller, key: str) -> None:
        self.calls.append(("accept", lead_id, transition_id, who.email, who.roles, ""))

    def reject(self, lead_id: str, transition_id: str, who: Caller, reason: str, key: str) -> None:
        self.calls.append(("reject", lead_id, transition_id, who.email, who.roles, reason))


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    slack = FakeSlack(
        BOT_TOKEN,
        {
            SALES: "Sales@Example.com",  # Slack keeps the case someone typed; Cognito has it in lower case
            MARKETING: "marketing@example.com",
            STRANGER: "stranger@example.com",  # in Slack, not in Leadstream's user pool
        },
    )
    yield slack
    slack.stop()


def slack_app_stack(endpoint: str, api_url: str) -> Stack:
    """The stack as deployed with SlackSigningSecret (named apart: it sits beside the test stack)."""
    parameters = {
        "StageName": "slackapp",
        "SlackSigningSecret": SECRET_NAME,
        "SlackApiUrl": api_url,
        "LocalAwsEndpoint": endpoint,
    }
    return load_stack("leadstream-slackapp", REGION, parameters, local_overrides(region=REGION))


@contextlib.contextmanager
def container(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """A new SlackFunction container with `environment`; the module the other tests share is put back."""
    name = "functions.slack.app"
    saved = sys.modules.pop(name, None)
    with monkeypatch.context() as env:
        for variable, value in environment.items():
            env.setenv(variable, value)
        secrets.forget()
        try:
            yield importlib.import_module(name)
        finally:
            sys.modules.pop(name, None)
            if saved is not None:
                sys.modules[name] = saved


@pytest.fixture
def wired(
    aws: dict[str, Any], moto_endpoint: str, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ModuleType, RecordedActions]]:
    """SlackFunction of the Slack stack, its secret and two users (sales, marketing) in its user pool."""
    stack = slack_app_stack(moto_endpoint, fake_slack.api_url)
    handles = clients(moto_endpoint, REGION)
    provision(stack, handles)
    handles["secretsmanager"].create_secret(
        Name=SECRET_NAME, SecretString=json.dumps({"signing_secret": SIGNING_SECRET, "bot_token": BOT_TOKEN})
    )
    pool = stack.physical_ids["SalesUserPool"]
    create_user(handles["cognito-idp"], pool, "sales@example.com", local_password(), ["sales"])
    create_user(handles["cognito-idp"], pool, "marketing@example.com", local_password(), ["marketing"])
    with container(stack.functions["SlackFunction"].environment, monkeypatch) as handler:
        recorded = RecordedActions()
        handler.actions.service = recorded
        yield handler, recorded


def message_clicked() -> dict[str, Any]:
    """The SQL message as Slack holds it (what the notifier posted)."""
    return slack_message(
        "New SQL: Jane Doe at Acme (score 92)",
        "Why: Requested a demo (+40)",
        lead_id=LEAD,
        transition_id=TRANSITION,
        to_stage="SQL",
    )


def click_body(
    response_url: str, action_id: str = ACCEPT, user: str = SALES, action_ts: str = "1764460000.000100"
) -> bytes:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "sam", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "trigger_id": "1234.5678.abcdef",
        "response_url": response_url,
        "container": {"type": "message", "message_ts": "1764459999.000200"},
        "message": message_clicked(),
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": ACTIONS_BLOCK,
                "value": Decision(LEAD, TRANSITION).value(),
                "action_ts": action_ts,
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def slack_request(
    body: bytes, *, secret: str = SIGNING_SECRET, at: float | None = None, signed: bytes | None = None
) -> dict[str, Any]:
    """An interactivity request as Slack sends it through the HTTP API: signed over `signed` (the body
    itself unless a test tampers with it) at `at` (now)."""
    timestamp = str(int(time.time() if at is None else at))
    headers = {
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature(secret, timestamp, body if signed is None else signed),
        "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    return http_request(
        "/slack/interactions",
        body,
        content_type="application/x-www-form-urlencoded",
        headers=headers,
        write_key=None,
    )


def test_a_signed_accept_by_a_sales_user_accepts_as_that_user_and_the_message_says_who_without_buttons(
    wired: tuple[ModuleType, RecordedActions], fake_slack: FakeSlack
) -> None:
    handler, recorded = wired
    request = slack_request(click_body(fake_slack.response_url()))
    assert request["isBase64Encoded"] is True  # a form post: the HTTP API hands it over in base64

    answer = handler.lambda_handler(request, LambdaContext())

    assert answer["statusCode"] == 200
    assert recorded.calls == [("accept", LEAD, TRANSITION, "sales@example.com", frozenset({Role.SALES}), "")]
    assert fake_slack.asked == [SALES]
    [(path, reply)] = fake_slack.responses
    assert path == "/actions/T1/1/abc"
    assert reply["replace_original"] is True
    assert [b["type"] for b in reply["blocks"]] == ["header", "section", "context"]  # the buttons are gone
    assert reply["blocks"][-1]["elements"][0]["text"] == f"Accepted by <@{SALES}>"


def test_reject_from_slack_records_the_default_reason_and_says_so(
    wired: tuple[ModuleType, RecordedActions], fake_slack: FakeSlack
) -> None:
    handler, recorded = wired

    answer = handler.lambda_handler(
        slack_request(click_body(fake_slack.response_url(), REJECT)), LambdaContext()
    )

    assert answer["statusCode"] == 200
    [call] = recorded.calls
    assert call == (
        "reject",
        LEAD,
        TRANSITION,
        "sales@example.com",
        frozenset({Role.SALES}),
        SLACK_REJECT_REASON,
    )
    [(_, reply)] = fake_slack.responses
    assert reply["blocks"][-1]["elements"][0]["text"] == (
        f"Rejected by <@{SALES}> (reason recorded: rejected in Slack)"
    )


def test_a_double_click_acts_once(wired: tuple[ModuleType, RecordedActions], fake_slack: FakeSlack) -> None:
    handler, recorded = wired
    body = click_body(fake_slack.response_url())

    first = handler.lambda_handler(slack_request(body), LambdaContext())
    again = handler.lambda_handler(slack_request(body), LambdaContext())  # the same click, sent again
    later = handler.lambda_handler(  # another click of the same user: the action's own rules decide
        slack_request(click_body(fake_slack.response_url(), action_ts="1764460099.000100")), LambdaContext()
    )

    assert (first["statusCode"], again["statusCode"], later["statusCode"]) == (200, 200, 200)
    assert [c[0] for c in recorded.calls] == ["accept", "accept"]  # the first click and the later one


def test_a_double_click_arriving_while_the_first_acts_is_answered_200_and_acts_once(
    wired: tuple[ModuleType, RecordedActions], fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, recorded = wired
    body = click_body(fake_slack.response_url())
    acting, done = threading.Event(), threading.Event()
    accept = recorded.accept

    def slow_accept(*args: Any) -> None:  # the first click is acting until the second one was answered
        acting.set()
        done.wait(10)
        accept(*args)

    monkeypatch.setattr(recorded, "accept", slow_accept)
    first: list[dict[str, Any]] = []
    clicking = threading.Thread(
        target=lambda: first.append(handler.lambda_handler(slack_request(body), LambdaContext()))
    )
    clicking.start()
    assert acting.wait(10)
    second = handler.lambda_handler(slack_request(body), LambdaContext())
    done.set()
    clicking.join(10)

    assert (first[0]["statusCode"], second["statusCode"]) == (200, 200)
    assert [c[0] for c in recorded.calls] == ["accept"]
    assert len(fake_slack.responses) == 1  # the first click answers; the second says nothing


@pytest.mark.parametrize(
    "forged",
    [
        pytest.param(
            lambda body: slack_request(body, signed=body.replace(b"U0SALES", b"U0OTHER")), id="tampered"
        ),
        pytest.param(lambda body: slack_request(body, secret="not-the-signing-secret"), id="wrong-secret"),
        pytest.param(lambda body: slack_request(body, at=time.time() - 6 * 60), id="six-minutes-old"),
        pytest.param(lambda body: slack_request(body, at=time.time() + 6 * 60), id="six-minutes-ahead"),
    ],
)
def test_a_request_not_signed_by_slack_now_is_401_and_changes_nothing_and_logs_nothing_of_it(
    wired: tuple[ModuleType, RecordedActions],
    fake_slack: FakeSlack,
    forged: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler, recorded = wired
    capsys.readouterr()

    answer = handler.lambda_handler(forged(click_body(fake_slack.response_url())), LambdaContext())
    logged = "".join(capsys.readouterr())

    assert answer["statusCode"] == 401
    assert "refused" in response_json(answer)["error"]
    assert recorded.calls == []
    assert fake_slack.asked == []  # not even Slack was asked who it is
    assert fake_slack.responses == []
    for part_of_the_body in (LEAD, SALES, "block_actions", "payload"):
        assert part_of_the_body not in logged


def test_a_request_without_slacks_headers_is_401(
    wired: tuple[ModuleType, RecordedActions], fake_slack: FakeSlack
) -> None:
    handler, recorded = wired
    request = http_request(
        "/slack/interactions",
        click_body(fake_slack.response_url()),
        content_type="application/x-www-form-urlencoded",
        write_key=None,
    )

    answer = handler.lambda_handler(request, LambdaContext())

    assert answer["statusCode"] == 401
    assert "X-Slack-Signature" in response_json(answer)["error"]
    assert recorded.calls == []


def test_a_body_passed_as_text_is_verified_over_the_same_bytes(
    wired: tuple[ModuleType, RecordedActions], fake_slack: FakeSlack
) -> None:
    handler, recorded = wired
    request = slack_request(click_body(fake_slack.response_url()))
    request["body"], request["isBase64Encoded"] = base64.b64decode(request["body"]).decode(), False

    assert handler.lambda_handler(request, LambdaContext())["statusCode"] == 200
    assert [c[0] for c in recorded.calls] == ["accept"]


@pytest.mark.parametrize(
    "user",
    [
        pytest.param(STRANGER, id="in-slack-not-in-leadstream"),
        pytest.param(NOBODY, id="slack-has-no-such-user"),
        pytest.param(MARKETING, id="marketing-may-not-act"),
    ],
)
def test_a_slack_user_who_is_no_sales_user_is_told_so_alone_and_nothing_changes(
    wired: tuple[ModuleType, RecordedActions], fake_slack: FakeSlack, user: str
) -> None:
    handler, recorded = wired

    answer = handler.lambda_handler(
        slack_request(click_body(fake_slack.response_url(), user=user)), LambdaContext()
    )

    assert answer["statusCode"] == 200
    assert recorded.calls == []
    [(_, reply)] = fake_slack.responses
    assert reply == {"response_type": "ephemeral", "replace_original": False, "text": NOT_A_SALES_USER}


def test_a_signed_body_that_is_no_interaction_is_400(wired: tuple[ModuleType, RecordedActions]) -> None:
    handler, recorded = wired

    answer = handler.lambda_handler(slack_request(b"payload=%7Bnot+json"), LambdaContext())

    assert answer["statusCode"] == 400
    assert "payload" in response_json(answer)["error"]
    assert recorded.calls == []


def test_without_the_slack_app_secret_the_route_is_404_saying_it_is_off(
    aws: dict[str, Any], stack: Stack, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = stack.functions["SlackFunction"].environment
    assert "SLACK_APP_SECRET" not in environment  # the test stack has no SlackSigningSecret
    monkeypatch.delenv("SLACK_APP_SECRET", raising=False)
    with container(environment, monkeypatch) as handler:
        answer = handler.lambda_handler(slack_request(click_body(fake_slack.response_url())), LambdaContext())

    assert answer["statusCode"] == 404
    assert "SlackSigningSecret" in response_json(answer)["error"]
