"""TrackFunction: Segment-shaped tracking calls (page, track, identify, batch)."""

import json
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.contracts.api import MAX_BATCH_BYTES, MAX_MESSAGE_BYTES, Batch, Message
from leadstream.errors import validation_details
from leadstream.http import (
    BadRequest,
    body_text,
    install_error_handlers,
    json_object,
    received_at,
)
from leadstream.observability import logger, metrics, tracer
from leadstream.services.ingest import Ingest
from leadstream.settings import IngestSettings
from leadstream.store import LeadRepository
from pydantic import ValidationError

settings = IngestSettings.from_env()
ingest = Ingest(
    LeadRepository(settings.leads_table, settings.region, settings.accounts_table), settings.event_ttl_days
)
app = APIGatewayHttpResolver()
install_error_handlers(app)

OK = {"success": True}


def _single(kind: str) -> dict[str, Any]:
    body = json_object(body_text(app, MAX_MESSAGE_BYTES))
    sent = body.get("type")
    if sent is not None and sent != kind:
        raise BadRequest(f"type {sent!r} does not match this endpoint, which takes {kind!r} calls")
    message = Message.model_validate({**body, "type": kind})
    recorded = ingest.message(message, received_at(app))
    metrics.add_metric(
        name="MessagesStored" if recorded.stored else "MessagesDeduplicated", unit=MetricUnit.Count, value=1
    )
    return OK


@app.post("/v1/page")
def page() -> dict[str, Any]:
    return _single("page")


@app.post("/v1/track")
def track() -> dict[str, Any]:
    return _single("track")


@app.post("/v1/identify")
def identify() -> dict[str, Any]:
    return _single("identify")


@app.post("/v1/batch")
def batch() -> dict[str, Any]:
    batch = Batch.model_validate(json_object(body_text(app, MAX_BATCH_BYTES)))
    now = received_at(app)
    rejected: list[dict[str, Any]] = []
    messages: list[Message] = []
    for index, raw in enumerate(batch.batch):
        try:
            if len(json.dumps(raw).encode()) > MAX_MESSAGE_BYTES:
                raise BadRequest(f"message is larger than {MAX_MESSAGE_BYTES} bytes")
            own_context = raw.get("context") or {}
            if not isinstance(own_context, dict):
                raise BadRequest("'context' must be an object")
            merged = {**raw, "context": {**batch.context, **own_context}}
            messages.append(Message.model_validate(merged))
        except ValidationError as exc:
            rejected.append({"index": index, "details": validation_details(exc)})
        except BadRequest as exc:
            rejected.append({"index": index, "details": [{"field": "body", "problem": str(exc)}]})
    if not messages:
        raise BadRequest("no message in the batch is valid", details=rejected)
    stored = sum(ingest.message(m, now).stored for m in messages)
    metrics.add_metric(name="MessagesStored", unit=MetricUnit.Count, value=stored)
    if rejected:
        metrics.add_metric(name="MessagesRejected", unit=MetricUnit.Count, value=len(rejected))
    return {**OK, "accepted": len(messages), "rejected": rejected}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
