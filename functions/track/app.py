"""TrackFunction: Segment-compatible tracking API, the lb.js snippet, e-mail open pixel and click links."""

import base64
import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import leadstream
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.contracts.api import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, Batch, Message
from leadstream.domain import links
from leadstream.domain.bots import is_bot
from leadstream.domain.events import EventType
from leadstream.domain.sources import Source
from leadstream.errors import validation_details
from leadstream.http import BadRequest, body_text, install_error_handlers, json_object, received_at, write_key
from leadstream.observability import logger, metrics, tracer
from leadstream.services.ingest import Ingest, Request
from leadstream.services.sources import SourceDirectory
from leadstream.settings import IngestSettings
from leadstream.sources_store import SourceRepository
from leadstream.store import LeadRepository
from pydantic import ValidationError

settings = IngestSettings.from_env()
ingest = Ingest(LeadRepository(settings.leads_table, settings.region, settings.accounts_table))
sources = SourceRepository(settings.sources_table, settings.region)
directory = SourceDirectory(sources)
app = APIGatewayHttpResolver()
install_error_handlers(app)

OK = {"success": True}
STATIC = Path(leadstream.__file__).parent / "static"
# The call type of each path, long (Segment HTTP API) and short (analytics.js). Routes are in template.yaml.
KINDS = {
    "identify": "identify",
    "i": "identify",
    "track": "track",
    "t": "track",
    "page": "page",
    "p": "page",
    "screen": "screen",
    "s": "screen",
    "group": "group",
    "g": "group",
    "alias": "alias",
    "a": "alias",
}
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_CACHE = {
    "Cache-Control": "no-cache, no-store, must-revalidate, private",
    "Pragma": "no-cache",
    "Expires": "0",
}
# E-mail links are not sent from a website: they get the default privacy settings of this virtual source.
EMAIL_SOURCE = Source(id="email", name="E-mail links")


def _request(body: dict[str, Any]) -> Request:
    now = received_at(app)
    source = directory.authenticate(write_key(app, body), app.current_event.headers.get("origin"), now)
    return Request(source, now, app.current_event.request_context.http.source_ip)


def _opted_out(source: Source) -> bool:
    """Do-Not-Track or Global Privacy Control, when the source honours them server-side too."""
    headers = app.current_event.headers
    return source.privacy.honour_dnt and (headers.get("dnt") == "1" or headers.get("sec-gpc") == "1")


def _user_agent(message: dict[str, Any]) -> str | None:
    """The visitor's user agent: `context.userAgent`, or the request's own when a browser sent it directly
    (it has an Origin). A server-side SDK's HTTP user agent is the library's, not the visitor's."""
    context = message.get("context")
    given = context.get("userAgent") if isinstance(context, dict) else None
    if isinstance(given, str):
        return given
    headers = app.current_event.headers
    return headers.get("user-agent") if headers.get("origin") else None


def _count_bots(source: Source, now: datetime, hits: int) -> None:
    if hits:
        sources.count_bots(source.id, now.date(), hits)
        metrics.add_metric(name="BotHits", unit=MetricUnit.Count, value=hits)


def _single() -> dict[str, Any]:
    kind = KINDS[app.current_event.path.rstrip("/").rsplit("/", 1)[-1]]
    body = json_object(body_text(app, MAX_MESSAGE_BYTES))
    req = _request(body)
    sent = body.get("type")
    if sent is not None and sent != kind:
        raise BadRequest(f"type {sent!r} does not match this endpoint, which takes {kind!r} calls")
    message = Message.model_validate({**body, "type": kind})
    if _opted_out(req.source):
        return OK
    if is_bot(_user_agent(body)):
        _count_bots(req.source, req.received_at, 1)
        return OK
    recorded = ingest.message(message, req)
    name = "MessagesStored" if recorded.stored else "MessagesDeduplicated"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    return OK


for _path in ("identify", "track", "page", "screen", "group", "alias", "i", "t", "p", "s", "g", "a"):
    app.post(f"/v1/{_path}")(_single)


def _batch() -> dict[str, Any]:
    raw = json_object(body_text(app, MAX_BATCH_BYTES))
    batch = Batch.model_validate(raw)
    req = _request(raw)
    if _opted_out(req.source):
        return {**OK, "accepted": 0, "rejected": []}
    rejected: list[dict[str, Any]] = []
    messages: list[Message] = []
    bots = 0
    for index, item in enumerate(batch.batch):
        try:
            if not isinstance(item, dict):
                raise BadRequest("a message must be a JSON object")
            if len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()) > MAX_MESSAGE_BYTES:
                raise BadRequest(f"message is larger than {MAX_MESSAGE_BYTES} bytes")
            own_context = item.get("context") or {}
            if not isinstance(own_context, dict):
                raise BadRequest("'context' must be an object")
            merged = {**item, "context": {**batch.context, **own_context}}
            if batch.sent_at and "sentAt" not in merged:
                merged["sentAt"] = batch.sent_at
            message = Message.model_validate(merged)
        except ValidationError as exc:
            rejected.append({"index": index, "details": validation_details(exc)})
            continue
        except BadRequest as exc:
            rejected.append({"index": index, "details": [{"field": "body", "problem": str(exc)}]})
            continue
        if is_bot(_user_agent(merged)):
            bots += 1
        else:
            messages.append(message)
    if not messages and not bots:
        raise BadRequest("no message in the batch is valid", details=rejected)
    _count_bots(req.source, req.received_at, bots)
    stored = ingest.batch(messages, req)
    metrics.add_metric(name="MessagesStored", unit=MetricUnit.Count, value=stored)
    if rejected:
        metrics.add_metric(name="MessagesRejected", unit=MetricUnit.Count, value=len(rejected))
    return {**OK, "accepted": len(messages) + bots, "rejected": rejected}


for _path in ("batch", "b", "import"):
    app.post(f"/v1/{_path}")(_batch)


@cache
def _snippet() -> str:
    return (STATIC / "lb.min.js").read_text()


@app.get("/v1/lb.js")
def snippet() -> Response[str]:
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    metrics.add_metric(name="SnippetServed", unit=MetricUnit.Count, value=1)
    # gzipped when the browser accepts it (HTTP APIs do not compress): ~3.7 KB instead of ~8.4 KB
    return Response(200, "application/javascript; charset=utf-8", _snippet(), headers, compress=True)


def _link_secret() -> str:
    if not settings.link_secret:
        raise RuntimeError("LINK_SECRET is not set: e-mail links cannot be checked")
    secret: str = parameters.get_secret(settings.link_secret, max_age=300)
    return secret


def _signed_params() -> dict[str, str] | None:
    params = dict(app.current_event.query_string_parameters or {})
    return params if links.verify(params, _link_secret()) else None


def _email_request() -> Request:
    return Request(EMAIL_SOURCE, received_at(app), app.current_event.request_context.http.source_ip)


@app.get("/v1/o.gif")
def open_pixel() -> Response[bytes]:
    """Always a 1x1 GIF (an e-mail must never show a broken image); an open is recorded if signed.

    No bot filter here: Gmail's and Yahoo's image proxies and Outlook fetch images with user agents that
    bot lists name, and an open is exactly such a fetch."""
    try:
        params = _signed_params()
        if params and params.get("e"):
            ingest.email(EventType.EMAIL_OPEN, params["e"], params.get("c"), None, _email_request())
            metrics.add_metric(name="EmailOpens", unit=MetricUnit.Count, value=1)
    except Exception:  # the open is lost, the image is not
        logger.exception("could not record an e-mail open")
        metrics.add_metric(name="EmailOpensLost", unit=MetricUnit.Count, value=1)
    return Response(200, "image/gif", PIXEL, NO_CACHE)


@app.get("/v1/c")
def click() -> Response[str]:
    """Redirect to the link's URL only when its signature is ours: never an open redirect."""
    params = _signed_params()
    target = (params or {}).get("u", "")
    if params is None or urlsplit(target).scheme not in ("http", "https"):
        raise BadRequest(
            "this link is not signed by this Leadstream (tampered or incomplete); nothing to open"
        )
    if params.get("e") and not is_bot(app.current_event.headers.get("user-agent")):
        ingest.email(EventType.EMAIL_CLICK, params["e"], params.get("c"), target, _email_request())
        metrics.add_metric(name="EmailClicks", unit=MetricUnit.Count, value=1)
    return Response(302, content_types.TEXT_PLAIN, "", {"Location": target, **NO_CACHE})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
