"""EmailLinksFunction: the e-mail open pixel and signed click links. It reads the link-signing secret on
every signed link; the same secret keys the suppression hashes of erased people (privacy), which TrackFunction
and FormFunction read only for messages that carry a known identifier."""

import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.platform import secrets
from leadstream.platform.http import install_error_handlers, request_facts
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import EmailLinkSettings
from leadstream.tracking.email_links import EmailLinks
from leadstream.tracking.ingest import Ingest

settings = EmailLinkSettings.from_env()
link_secret = secrets.reader(settings.link_secret)
assert link_secret is not None  # the setting is required
ingest = Ingest(settings.leads_table, settings.accounts_table, link_secret, settings.lead_retention_days)
links = EmailLinks(ingest, link_secret)
app = APIGatewayHttpResolver()
install_error_handlers(app)

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_CACHE = {
    "Cache-Control": "no-cache, no-store, must-revalidate, private",
    "Pragma": "no-cache",
    "Expires": "0",
}


def _params() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


@app.get("/v1/o.gif")
def open_pixel() -> Response[bytes]:
    """Always a 1x1 GIF (an e-mail must never show a broken image); an open is recorded if signed.

    No bot filter here: Gmail's and Yahoo's image proxies and Outlook fetch images with user agents that
    bot lists name, and an open is exactly such a fetch."""
    try:
        if links.open(_params(), request_facts(app)):
            metrics.add_metric(name="EmailOpens", unit=MetricUnit.Count, value=1)
    except Exception:  # the open is lost, the image is not
        logger.exception("could not record an e-mail open")
        metrics.add_metric(name="EmailOpensLost", unit=MetricUnit.Count, value=1)
    return Response(200, "image/gif", PIXEL, NO_CACHE)


@app.get("/v1/c")
def click() -> Response[str]:
    target, recorded = links.click(_params(), request_facts(app))
    if recorded:
        metrics.add_metric(name="EmailClicks", unit=MetricUnit.Count, value=1)
    return Response(302, content_types.TEXT_PLAIN, "", {"Location": target, **NO_CACHE})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
