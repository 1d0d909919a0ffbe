"""FormFunction: form submissions, from a plain HTML <form> (urlencoded) or from JavaScript (JSON)."""

from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.contracts.api import MAX_MESSAGE_BYTES, FormSubmission
from leadstream.http import BadRequest, body_text, install_error_handlers, json_object, received_at
from leadstream.observability import logger, metrics, tracer
from leadstream.services.ingest import Ingest
from leadstream.settings import IngestSettings
from leadstream.store import LeadRepository

settings = IngestSettings.from_env()
ingest = Ingest(
    LeadRepository(settings.leads_table, settings.region, settings.accounts_table), settings.event_ttl_days
)
app = APIGatewayHttpResolver()
install_error_handlers(app)

FORM_ENCODED = "application/x-www-form-urlencoded"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _thank_you_url(requested: str | None, referer: str | None) -> str | None:
    """Where to send the browser after a plain form post: only ever to an allowed origin."""
    allowed = settings.allowed_origins
    target = urljoin(referer, requested) if requested and referer else requested or referer
    if not target:
        return None
    if urlsplit(target).scheme not in ("http", "https"):
        raise BadRequest("the thank-you URL (_next) must be an http(s) URL")
    if "*" not in allowed and _origin(target) not in allowed:
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
    submission = FormSubmission.model_validate(fields)
    referer = app.current_event.headers.get("referer") if html_form else None
    redirect = _thank_you_url(submission.next, referer) if html_form else None
    recorded = ingest.form(form_id, submission, received_at(app))
    metrics.add_metric(
        name="FormsStored" if recorded.stored else "FormsDeduplicated", unit=MetricUnit.Count, value=1
    )
    if html_form and redirect:
        return Response(status_code=303, headers={"Location": redirect}, body="")
    return {"success": True}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
