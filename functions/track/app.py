"""TrackFunction: the Segment-compatible tracking API and the lb.js snippet."""

from functools import cache
from pathlib import Path
from typing import Any

import leadstream
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.firmographics.resolver import company_resolver
from leadstream.platform import secrets
from leadstream.platform.errors import NotFound
from leadstream.platform.http import (
    BrowserResolver,
    body_text,
    install_error_handlers,
    json_object,
    preflight,
    request_facts,
)
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import IngestSettings
from leadstream.sources.directory import KnownOrigins, SourceDirectory
from leadstream.sources.repository import SourceRepository
from leadstream.tracking import bots
from leadstream.tracking.ingest import Ingest
from leadstream.tracking.intake import Accepted, Intake
from leadstream.tracking.segment import (
    BATCH_CALLS,
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_DEPTH,
    SINGLE_CALLS,
)

settings = IngestSettings.from_env()
sources = SourceRepository(settings.sources_table)
intake = Intake(
    SourceDirectory(sources),
    sources,
    Ingest(
        settings.leads_table,
        settings.accounts_table,
        secrets.reader(settings.link_secret),
        settings.lead_retention_days,
        # the company behind a visitor's network; None (off) unless COMPANY_LOOKUP_SECRET names a token
        company_resolver(settings.company_lookup_secret, settings.sources_table, settings.company_lookup_url),
    ),
)
origins = KnownOrigins(sources)
bots.prepare()  # nearly every call is checked for a bot: load the patterns at init, not in a request
app = BrowserResolver()
install_error_handlers(app)

SNIPPET = Path(leadstream.__file__).parent / "static" / "lb.min.js"


def _report(outcome: Accepted) -> None:
    for name, value in (
        ("MessagesStored", outcome.stored),
        ("MessagesDeduplicated", outcome.deduplicated),
        ("BotHits", outcome.bots),
        ("BotHitsUncounted", outcome.bots_uncounted),
        ("MessagesRejected", len(outcome.rejected)),
    ):
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@app.post("/v1/<call>")
def segment_call(call: str) -> dict[str, Any]:
    """Every Segment call; template.yaml routes the paths here, the Segment vocabulary names them."""
    if call in BATCH_CALLS:
        raw = json_object(body_text(app, MAX_BATCH_BYTES))  # each message is checked on its own
        outcome = intake.batch(raw, request_facts(app, raw), history=call == "import")
        _report(outcome)
        return {"success": True, "accepted": outcome.accepted, "rejected": outcome.rejected}
    if call not in SINGLE_CALLS:
        raise NotFound(f"no Segment call {call!r}")
    body = json_object(body_text(app, MAX_MESSAGE_BYTES), max_depth=MAX_MESSAGE_DEPTH)
    _report(intake.single(SINGLE_CALLS[call], body, request_facts(app, body)))
    return {"success": True}


@app.route("/v1/.+", method="OPTIONS")
def cors_preflight() -> Response[str]:
    """The CORS preflight of any path (template.yaml routes OPTIONS /v1/{proxy+} here, FormFunction's too):
    yes for the origin of an active source, a 403 naming the fix for any other."""
    return preflight(origins.admit(app.current_event.headers.get("origin")))


@cache
def _snippet() -> str:
    return SNIPPET.read_text()


@app.get("/v1/lb.js")
def snippet() -> Response[str]:
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    metrics.add_metric(name="SnippetServed", unit=MetricUnit.Count, value=1)
    # gzipped when the browser accepts it (HTTP APIs do not compress): ~3.7 KB instead of ~8.4 KB
    return Response(200, "application/javascript; charset=utf-8", _snippet(), headers, compress=True)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
