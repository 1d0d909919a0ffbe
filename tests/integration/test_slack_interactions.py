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
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.exceptions import ClientError
from leadstream.notifications.blocks import ACCEPT, ACTIONS_BLOCK, REJECT, Decision, slack_message
from leadstream.platform import secrets
from leadstream.sales.sla import SlaTarget, SlaTimers
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.repository import ScoreRepository
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


@dataclass
class Lead:
    """The lead the SQL message is about, as the workflow keeps it, and its speed-to-lead schedule."""

    scores: ScoreRepository
    scheduler: Any
    group: str
    schedule: str

    def stage(self) -> str:
        return self.scores.load(LEAD).score.stage.value

    def history(self) -> list[tuple[str, str, str, str | None]]:
        return [(t.from_stage.value, t.to_stage.value, t.by, t.reason) for t in self.scores.history(LEAD)]

    def timer_running(self) -> bool:
        try:
            self.scheduler.get_schedule(GroupName=self.group, Name=self.schedule)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            return False
        return True

    def unchanged(self) -> bool:
        return self.stage() == "SQL" and self.history() == [] and self.timer_running()


def sql_with_a_running_timer(stack: Stack, scheduler: Any) -> Lead:
    """LEAD handed to sales as an SQL (its third stage change, TRANSITION) five minutes ago, its SLA timer
    running (STATE and its Scheduler schedule, as NotifySalesFunction leaves them)."""
    scores, now = ScoreRepository(stack.physical_name("LeadsTable")), datetime.now(UTC)
    group = stack.physical_name("SlaScheduleGroup")
    timers = SlaTimers(SlaTarget(group, stack.arn("SlaFunction"), stack.arn("SlaSchedulerRole")))
    due = now + timedelta(minutes=25)
    schedule = timers.start(LEAD, TRANSITION, due, now)
    timer = {
        "transition_id": TRANSITION,
        "state": "running",
        "started_at": (now - timedelta(minutes=5)).timestamp(),
        "due_at": due.timestamp(),
        "schedule": schedule,
    }
    stored = scores.load(LEAD)
    lead = replace(stored.score, stage=Stage.SQL, known=True, transition_count=3, as_of=now, last_seen=now)
    scores.save(replace(stored, sales={"sla": timer}), lead)
    return Lead(scores, scheduler, group, schedule)


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
) -> Iterator[tuple[ModuleType, Lead]]:
    """SlackFunction of the Slack stack, its secret, two users (sales, marketing) in its user pool, and the
    SQL the message is about."""
    stack = slack_app_stack(moto_endpoint, fake_slack.api_url)
    handles = clients(moto_endpoint, REGION)
    provision(stack, handles)
    handles["secretsmanager"].create_secret(
        Name=SECRET_NAME, SecretString=json.dumps({"signing_secret": SIGNING_SECRET, "bot_token": BOT_TOKEN})
    )
    pool = stack.physical_ids["SalesUserPool"]
    create_user(handles["cognito-idp"], pool, "sales@example.com", local_password(), ["sales"])
    create_user(handles["cognito-idp"], pool, "marketing@example.com", local_password(), ["marketing"])
    lead = sql_with_a_running_timer(stack, handles["scheduler"])
    with container(stack.functions["SlackFunction"].environment, monkeypatch) as handler:
        yield handler, lead


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
    response_url: str,
    action_id: str = ACCEPT,
    user: str = SALES,
    action_ts: str = "1764460000.000100",
    transition_id: str = TRANSITION,
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
                "value": Decision(LEAD, transition_id).value(),
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
    wired: tuple[ModuleType, Lead], fake_slack: FakeSlack
) -> None:
    handler, lead = wired
    request = slack_request(click_body(fake_slack.response_url()))
    assert request["isBase64Encoded"] is True  # a form post: the HTTP API hands it over in base64

    answer = handler.lambda_handler(request, LambdaContext())

    assert answer["statusCode"] == 200
    assert lead.stage() == "accepted"
    assert lead.history() == [("SQL", "accepted", "sales@example.com", None)]  # as the pool's user
    assert not lead.timer_running()  # accepted in time: the SLA timer's schedule is gone
    assert lead.scores.load(LEAD).sales["sla"]["state"] == "met"
    assert fake_slack.asked == [SALES]
    [(path, reply)] = fake_slack.responses
    assert path == "/actions/T1/1/abc"
    assert reply["replace_original"] is True
    assert [b["type"] for b in reply["blocks"]] == ["header", "section", "context"]  # the buttons are gone
    assert reply["blocks"][-1]["elements"][0]["text"] == f"Accepted by <@{SALES}>"


def test_reject_from_slack_records_the_default_reason_and_says_so(
    wired: tuple[ModuleType, Lead], fake_slack: FakeSlack
) -> None:
    handler, lead = wired

    answer = handler.lambda_handler(
        slack_request(click_body(fake_slack.response_url(), REJECT)), LambdaContext()
    )

    assert answer["statusCode"] == 200
    assert lead.stage() == "rejected"
    assert lead.history() == [("SQL", "rejected", "sales@example.com", SLACK_REJECT_REASON)]
    assert not lead.timer_running()
    [(_, reply)] = fake_slack.responses
    assert reply["blocks"][-1]["elements"][0]["text"] == (
        f"Rejected by <@{SALES}> (reason recorded: rejected in Slack)"
    )


def test_a_double_click_acts_once(wired: tuple[ModuleType, Lead], fake_slack: FakeSlack) -> None:
    handler, lead = wired
    body = click_body(fake_slack.response_url())

    first = handler.lambda_handler(slack_request(body), LambdaContext())
    again = handler.lambda_handler(slack_request(body), LambdaContext())  # the same click, sent again
    later = handler.lambda_handler(  # another click of the same user: the action's own rules decide
        slack_request(click_body(fake_slack.response_url(), action_ts="1764460099.000100")), LambdaContext()
    )

    assert (first["statusCode"], again["statusCode"], later["statusCode"]) == (200, 200, 200)
    assert lead.history() == [("SQL", "accepted", "sales@example.com", None)]  # one stage change
    *_, (_, refusal) = fake_slack.responses  # the later click: the message is about a hand-over done
    assert refusal["response_type"] == "ephemeral"
    assert refusal["text"].startswith("Nothing was changed: this message is about an earlier stage change")


def test_a_double_click_arriving_while_the_first_acts_is_answered_200_and_acts_once(
    wired: tuple[ModuleType, Lead], fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler, lead = wired
    body = click_body(fake_slack.response_url())
    acting, done = threading.Event(), threading.Event()
    acting_service = handler.actions.service
    accept = acting_service.accept

    def slow_accept(*args: Any) -> None:  # the first click is acting until the second one was answered
        acting.set()
        done.wait(10)
        accept(*args)

    monkeypatch.setattr(acting_service, "accept", slow_accept)
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
    assert lead.history() == [("SQL", "accepted", "sales@example.com", None)]
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
    wired: tuple[ModuleType, Lead],
    fake_slack: FakeSlack,
    forged: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    handler, lead = wired
    capsys.readouterr()

    answer = handler.lambda_handler(forged(click_body(fake_slack.response_url())), LambdaContext())
    logged = "".join(capsys.readouterr())

    assert answer["statusCode"] == 401
    assert "refused" in response_json(answer)["error"]
    assert lead.unchanged()
    assert fake_slack.asked == []  # not even Slack was asked who it is
    assert fake_slack.responses == []
    for part_of_the_body in (LEAD, SALES, "block_actions", "payload"):
        assert part_of_the_body not in logged


def test_a_request_without_slacks_headers_is_401(
    wired: tuple[ModuleType, Lead], fake_slack: FakeSlack
) -> None:
    handler, lead = wired
    request = http_request(
        "/slack/interactions",
        click_body(fake_slack.response_url()),
        content_type="application/x-www-form-urlencoded",
        write_key=None,
    )

    answer = handler.lambda_handler(request, LambdaContext())

    assert answer["statusCode"] == 401
    assert "X-Slack-Signature" in response_json(answer)["error"]
    assert lead.unchanged()


def test_a_body_passed_as_text_is_verified_over_the_same_bytes(
    wired: tuple[ModuleType, Lead], fake_slack: FakeSlack
) -> None:
    handler, lead = wired
    request = slack_request(click_body(fake_slack.response_url()))
    request["body"], request["isBase64Encoded"] = base64.b64decode(request["body"]).decode(), False

    assert handler.lambda_handler(request, LambdaContext())["statusCode"] == 200
    assert lead.stage() == "accepted"


@pytest.mark.parametrize(
    "user",
    [
        pytest.param(STRANGER, id="in-slack-not-in-leadstream"),
        pytest.param(NOBODY, id="slack-has-no-such-user"),
        pytest.param(MARKETING, id="marketing-may-not-act"),
    ],
)
def test_a_slack_user_who_is_no_sales_user_is_told_so_alone_and_nothing_changes(
    wired: tuple[ModuleType, Lead], fake_slack: FakeSlack, user: str
) -> None:
    handler, lead = wired

    answer = handler.lambda_handler(
        slack_request(click_body(fake_slack.response_url(), user=user)), LambdaContext()
    )

    assert answer["statusCode"] == 200
    assert lead.unchanged()
    [(_, reply)] = fake_slack.responses
    assert reply == {"response_type": "ephemeral", "replace_original": False, "text": NOT_A_SALES_USER}


def test_a_signed_body_that_is_no_interaction_is_400(wired: tuple[ModuleType, Lead]) -> None:
    handler, lead = wired

    answer = handler.lambda_handler(slack_request(b"payload=%7Bnot+json"), LambdaContext())

    assert answer["statusCode"] == 400
    assert "payload" in response_json(answer)["error"]
    assert lead.unchanged()


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


def test_a_click_on_the_message_of_an_earlier_hand_over_is_refused_to_the_clicker_alone_and_changes_nothing(
    wired: tuple[ModuleType, Lead], fake_slack: FakeSlack
) -> None:
    handler, lead = wired  # the lead was handed to sales before (Lacme42:SQL:1), rejected, and is SQL again

    answer = handler.lambda_handler(
        slack_request(click_body(fake_slack.response_url(), REJECT, transition_id=f"{LEAD}:SQL:1")),
        LambdaContext(),
    )

    assert answer["statusCode"] == 200
    assert lead.unchanged()
    [(_, reply)] = fake_slack.responses
    assert (reply["response_type"], reply["replace_original"]) == ("ephemeral", False)
    assert "earlier stage change" in reply["text"]
    assert "SQL now" in reply["text"]
