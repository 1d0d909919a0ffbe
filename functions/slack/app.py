"""SlackFunction: POST /slack/interactions, where Slack sends the clicks on an SQL message's Accept and
Reject buttons. No JWT authorizer (Slack cannot send one): every request must carry Slack's signature,
checked before anything else is read; a bad or stale one is a 401 and nothing of the body is logged.

A function of its own rather than a route of ApiFunction: this route is open to the internet, so the
code behind it is only this, with only what it needs (the Slack app's secret, reading the user pool, the
sales actions' writes), and the sales API's cold start carries none of it.
"""

import time
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.platform import secrets
from leadstream.platform.errors import BadRequest, NotFound
from leadstream.platform.http import install_error_handlers, raw_body
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import SlackSettings
from leadstream.sales.directory import SalesDirectory
from leadstream.slack.acting import lead_actions
from leadstream.slack.interactions import Interactions, parse
from leadstream.slack.signature import verify
from leadstream.slack.web import AppSecret, SlackWeb, app_secret
from pydantic import ValidationError

settings = SlackSettings.from_env()
BODY_LIMIT = 64 * 1024  # a block_actions payload is a few kB: the message clicked in, the user, the action
OFF = (
    "Slack interactivity is off for this stack: set the stack parameter SlackSigningSecret to the name of "
    "the Slack app's secret (README, 'Slack that acts')"
)


def _secret() -> AppSecret:
    return app_secret(secrets.secret(settings.slack_app_secret or ""))


slack = SlackWeb(settings.slack_api_url, lambda: _secret().bot_token)
actions = lead_actions(settings)
interactions = Interactions(
    slack,
    SalesDirectory(settings.sales_user_pool_id),
    actions,
    warn=lambda message, facts: logger.warning(message, **facts),
)

app = APIGatewayHttpResolver()
install_error_handlers(app)


@app.post("/slack/interactions")
def interaction() -> Response[str]:
    if not settings.slack_app_secret:
        raise NotFound(OFF)
    headers = app.current_event.headers
    body = raw_body(app, BODY_LIMIT)
    verify(
        _secret().signing_secret,
        headers.get("x-slack-request-timestamp"),
        headers.get("x-slack-signature"),
        body,
        time.time(),
    )
    try:
        (payload,) = parse_qs(body.decode("utf-8"), strict_parsing=True)["payload"]
        click = parse(payload)
    except (ValueError, KeyError, ValidationError) as exc:  # signed by Slack, yet not what we expect
        raise BadRequest("the body must be a form with one `payload`: a Slack interaction (JSON)") from exc
    outcome = "ignored" if click is None else interactions.handle(click)
    logger.info("slack interaction", outcome=outcome, lead_actions=click is not None)
    metrics.add_metric(name=f"SlackActions{outcome.capitalize()}", unit=MetricUnit.Count, value=1)
    return Response(HTTPStatus.OK.value, content_types.TEXT_PLAIN, "")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    actions.register(context)
    return app.resolve(event, context)
