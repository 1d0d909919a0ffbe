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
    "stream_records",
]

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from leadstream.scoring.model import ScoringModel

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
) -> dict[str, Any]:
    """An API Gateway HTTP API (v2) event, translated exactly as the local runner does it. It carries the
    local demo source's write key (HTTP Basic) unless `write_key` says otherwise."""
    if isinstance(body, dict):
        raw = (json.dumps(body) if content_type == "application/json" else urlencode(body)).encode()
    elif isinstance(body, str):
        raw = body.encode()
    else:
        raw = body or b""
    auth = basic_auth(write_key) if write_key else {}
    all_headers = {"content-type": content_type, "host": "api.test", **auth, **(headers or {})}
    route_ = Route(method, route or path.split("?")[0], "test")
    return api_event(method, path, all_headers, raw, route_, path_params or {}, "203.0.113.9")


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
