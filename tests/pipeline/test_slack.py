"""Slack's Accept / Reject through `make run`: the runner started with the Slack app's credentials (in its
local Secrets Manager) and the URL of a fake Slack this test serves; Slack's signed requests arrive over
the real HTTP API at the route the template gives SlackFunction, without a token."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from leadstream.notifications.blocks import ACCEPT
from leadstream.slack.interactions import NOT_A_SALES_USER
from leadstream.slack.signature import signature

from local.runner import SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET
from tests.fakes.slack import FakeSlack
from tests.integration.test_slack_interactions import click_body
from tests.pipeline.harness import Answer, Runner, eventually

pytestmark = pytest.mark.slow

SECRET = "pipeline-signing-secret"
TOKEN = "xoxb-pipeline"
STRANGER = "U0STRANGER"


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(TOKEN, {STRANGER: "stranger@example.com"})  # in Slack, not a Leadstream user
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory, slack: FakeSlack) -> Iterator[Runner]:
    tmp: Path = tmp_path_factory.mktemp("slack")
    run = Runner(
        tmp, "--slack-api-url", slack.api_url, env={SLACK_SIGNING_SECRET: SECRET, SLACK_BOT_TOKEN: TOKEN}
    )
    run.wait_ready()
    yield run
    run.stop()


def interaction(run: Runner, body: bytes, secret: str = SECRET, age: float = 0) -> Answer:
    timestamp = str(int(time.time() - age))
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature(secret, timestamp, body),
    }
    return run.request("POST", "/slack/interactions", body, headers)


def test_a_forged_or_stale_click_is_401_through_the_http_api(runner: Runner, slack: FakeSlack) -> None:
    body = click_body(slack.response_url("forged"), ACCEPT, STRANGER)

    forged = interaction(runner, body, secret="not-it")
    stale = interaction(runner, body, age=6 * 60)

    assert (forged.status, stale.status) == (401, 401)
    assert slack.asked == []  # refused before anything else was done


def test_a_signed_click_by_someone_who_is_no_sales_user_is_answered_through_slack(
    runner: Runner, slack: FakeSlack
) -> None:
    answer = interaction(runner, click_body(slack.response_url("stranger"), ACCEPT, STRANGER))

    assert answer.status == 200
    assert slack.asked == [STRANGER]  # Slack's users.info, with the bot token from the secret
    assert eventually(lambda: slack.responses, 5)
    [(path, reply)] = slack.responses
    assert path == "/actions/stranger"
    assert reply["text"] == NOT_A_SALES_USER
