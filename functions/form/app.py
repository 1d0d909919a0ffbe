"""FormFunction: form submissions, from a plain HTML <form> (urlencoded) or from JavaScript (JSON)."""

from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.contracts.api import MAX_MESSAGE_BYTES, FormSubmission
from leadstream.domain.sources import Source
from leadstream.http import BadRequest, body_text, install_error_handlers, json_object, received_at, write_key
from leadstream.observability import logger, metrics, tracer
from leadstream.services.ingest import Ingest, Request
from leadstream.services.sources import SourceDirectory
from leadstream.settings import IngestSettings
from leadstream.sources_store import SourceRepository
from leadstream.store import LeadRepository

settings = IngestSettings.from_env()
ingest = Ingest(LeadRepository(settings.leads_table, settings.region, settings.accounts_table))
directory = SourceDirectory(SourceRepository(settings.sources_table, settings.region))
app = APIGatewayHttpResolver()
install_error_handlers(app)

FORM_ENCODED = "application/x-www-form-urlencoded"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


THANK_YOU_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Thank you</title>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">
<h1>Thank you!</h1><p>We received your request and will be in touch shortly.</p>
<p><a href="javascript:history.back()">Back</a></p></body></html>"""


def _thank_you_url(requested: str | None, page: str | None, source: Source) -> str | None:
    """Where to send the browser after a plain form post: only ever to one of the source's origins.

    `page` is the form's page (Referer, else Origin): a relative `_next` is resolved against it.
    None means "no known page to go to": the caller answers with its own thank-you page.
    """
    try:
        if requested and not urlsplit(requested).scheme and not page:
            return None
        target = urljoin(page, requested) if requested and page else requested or page
        if not target:
            return None
        parts = urlsplit(target)
        parts.port  # noqa: B018 - raises ValueError for a malformed host or port
    except ValueError as exc:
        raise BadRequest("the thank-you URL (_next) is not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadRequest("the thank-you URL (_next) must be an http(s) URL")
    if not source.allows_origin(_origin(target)):
        raise BadRequest(f"the thank-you URL (_next) is not on an allowed origin: {_origin(target)}")
    return target


@app.post("/v1/forms/<form_id>")
def submit(form_id: str) -> Response[str] | dict[str, Any]:
    if not form_id.replace("-", "").replace("_", "").isalnum() or len(form_id) > 64:
        raise BadRequest("form id may only contain letters, digits, '-' and '_' (at most 64)")
    text = body_text(app, MAX_MESSAGE_BYTES)
    content_type = (app.current_event.headers.get("content-type") or "").split(";")[0].strip().lower()
    html_form = content_type == FORM_ENCODED
    fields = dict(parse_qsl(text, keep_blank_values=False)) if html_form else json_object(text)
    headers = app.current_event.headers
    now = received_at(app)
    source = directory.authenticate(write_key(app, fields), headers.get("origin"), now)
    submission = FormSubmission.model_validate(fields)
    page = headers.get("referer") or headers.get("origin")
    redirect = _thank_you_url(submission.next, page, source) if html_form else None
    req = Request(source, now, app.current_event.request_context.http.source_ip)
    recorded = ingest.form(form_id, submission, req)
    metrics.add_metric(
        name="FormsStored" if recorded.stored else "FormsDeduplicated", unit=MetricUnit.Count, value=1
    )
    if html_form and redirect:
        return Response(status_code=303, headers={"Location": redirect}, body="")
    if html_form:  # no page to return to (the browser sent no Referer or Origin): thank them here
        return Response(status_code=200, content_type="text/html; charset=utf-8", body=THANK_YOU_PAGE)
    return {"success": True}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
