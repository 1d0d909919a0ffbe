"""FormFunction: form submissions, from a plain HTML <form> (urlencoded) or from JavaScript (JSON)."""

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.firmographics.resolver import company_resolver
from leadstream.platform import secrets
from leadstream.platform.http import BrowserResolver, body_text, install_error_handlers, request_facts
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import IngestSettings
from leadstream.sources.directory import SourceDirectory
from leadstream.sources.repository import SourceRepository
from leadstream.tracking import bots
from leadstream.tracking.forms import Forms, Submitted
from leadstream.tracking.ingest import Ingest
from leadstream.tracking.segment import MAX_MESSAGE_BYTES

settings = IngestSettings.from_env()
sources = SourceRepository(settings.sources_table)
forms = Forms(
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
bots.prepare()  # every submission is checked for a bot: load the patterns at init, not in a request
app = BrowserResolver()  # its JSON answers, refusals included, are readable by the page that posted
install_error_handlers(app)

THANK_YOU_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Thank you</title>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">
<h1>Thank you!</h1><p>We received your request and will be in touch shortly.</p>
<p><a href="javascript:history.back()">Back</a></p></body></html>"""


def _report(done: Submitted) -> None:
    if done.bot:
        name = "FormBots"
    elif done.retry_after is not None:
        name = "FormsRateLimited"
    else:
        name = "FormsStored" if done.stored else "FormsDeduplicated"
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    if done.uncounted:
        metrics.add_metric(name="FormCountsLost", unit=MetricUnit.Count, value=1)


@app.post("/v1/forms/<form_id>")
def submit(form_id: str) -> Response[str] | dict[str, Any]:
    done = forms.submit(form_id, body_text(app, MAX_MESSAGE_BYTES), request_facts(app))
    _report(done)
    if done.retry_after is not None:
        return Response(
            status_code=429,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps(
                {"success": False, "error": "too many form submissions for this site; try again shortly"}
            ),
            headers={"Retry-After": str(done.retry_after)},
        )
    if done.html_form and done.redirect:
        return Response(status_code=303, headers={"Location": done.redirect}, body="")
    if done.html_form:  # no page to return to (the browser sent no Referer or Origin): thank them here
        return Response(status_code=200, content_type="text/html; charset=utf-8", body=THANK_YOU_PAGE)
    return {"success": True}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
