"""Builders shared by the test levels: API requests, stream records, bus events (and the runner's
LambdaContext, re-exported)."""

__all__ = [
    "LambdaContext",
    "basic_auth",
    "bus_event",
    "http_request",
    "page_view",
    "points",
    "response_json",
    "signed_in",
    "stream_records",
]

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from leadstream.scoring.model import ScoringModel

from local.authorizer import Authorized, event_claims
from local.events import stream_records
from local.gateway import api_event
from local.runner import DEMO_WRITE_KEY
from local.template import Route
from local.workers import LambdaContext


def basic_auth(write_key: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


def http_request(
    path: str,
    body: str | bytes | dict[str, Any] | None = None,
    *,
    route: str | None = None,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    path_params: dict[str, str] | None = None,
    write_key: str | None = DEMO_WRITE_KEY,
    method: str = "POST",
    user: Authorized | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (v2) event, translated exactly as the local runner does it. It carries the
    local demo source's write key (HTTP Basic) unless `write_key` says otherwise; with `user` (`signed_in`),
    the claims a JWT authorizer passed."""
    if isinstance(body, dict):
        raw = (json.dumps(body) if content_type == "application/json" else urlencode(body)).encode()
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = body or b""
    auth = basic_auth(write_key) if write_key else {}
    all_headers = {"content-type": content_type, "host": "api.test", **auth, **(headers or {})}
    route_ = Route(method, route or path.split("?")[0], "test")
    return api_event(method, path, all_headers, raw, route_, path_params or {}, "203.0.113.9", user)


def signed_in(*groups: str, sub: str = "5f1c2d3e-user", **claims: Any) -> Authorized:
    """What API Gateway's JWT authorizer hands the function for a Cognito access token of a user in
    `groups` (every claim a string, as payload 2.0 carries them: the groups as "[sales admin]")."""
    now = int(time.time())
    token = {
        "sub": sub,
        "iss": "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_test",
        "client_id": "testclient",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "iat": now,
        "exp": now + 3600,
        **({"cognito:groups": list(groups)} if groups else {}),
        **claims,
    }
    return Authorized(event_claims(token), None)


def page_view(
    anonymous_id: str, path: str, *, message_id: str | None = None, **context: Any
) -> dict[str, Any]:
    return {
        "anonymousId": anonymous_id,
        "messageId": message_id or str(uuid.uuid4()),
        "context": {"page": {"path": path, "url": f"https://www.acme-demo.test{path}"}, **context},
    }


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response.get("body") else None


def bus_event(detail: dict[str, Any], detail_type: str = "Lead Stage Changed") -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "leadstream",
        "account": "123456789012",
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


def points(model: ScoringModel, *rule_ids: str) -> int:
    """What these rules earn in `model` (ScoreFunction's is `score.model`, the shipped one): tests that add
    points up this way survive any tuning of scoring.yaml."""
    rules = {rule.id: rule.points for rule in (*model.behaviour, *model.fit)}
    return sum(rules[rule_id] for rule_id in rule_ids)
