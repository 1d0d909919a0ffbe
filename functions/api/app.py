"""ApiFunction: the sales API under /api — the LeadCard and the reports (reports.py, a Router), behind the
JWT authorizer, and the OpenAPI document generated from its response models, with a browsable Swagger UI
(both public: they hold no data)."""

import importlib
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, SecurityScheme
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.accounts.model_file import load_account_model
from leadstream.accounts.repository import AccountLedger
from leadstream.notifications.cards import AccountCards
from leadstream.platform.errors import MergedLead
from leadstream.platform.http import error, install_error_handlers
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import ActionSettings
from leadstream.sales.access import READERS, caller, require
from leadstream.sales.card import LeadCard
from leadstream.sales.leads import LeadCards
from leadstream.sales.workflow_file import load_workflow
from leadstream.scoring.model_file import load_model

settings = ActionSettings.from_env()
model = load_model(settings.scoring_model)
cards = LeadCards(
    settings.leads_table,
    model,
    AccountCards(
        AccountLedger(settings.accounts_table, settings.leads_table),
        load_account_model(settings.account_model),
        model,
    ),
    load_workflow(settings.sales_workflow).framework(settings.qualification_framework),
    likelihoods=settings.predictive_model is not None,
)

TITLE = "Leadstream sales API"
VERSION = "1"
SECURITY: dict[str, SecurityScheme] = {
    "cognito": HTTPBearer(bearerFormat="JWT", description="A Cognito token: python -m cli token")
}
LEAD_ID = r"^[A-Za-z0-9_-]{1,64}$"

app = APIGatewayHttpResolver(enable_validation=True)
install_error_handlers(app)
app.enable_swagger(path="/api/docs", title=TITLE, version=VERSION, security_schemes=SECURITY, compress=True)


def _field(problem: dict[str, Any]) -> str:
    """The field a validation problem is about, without where it was (path, query, header, body)."""
    if problem.get("type") == "json_invalid":  # its location is a position in the body
        return "body"
    where = [str(p) for p in problem.get("loc", ()) if p not in ("path", "query", "header", "body")]
    return ".".join(where) or "body"


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[str]:
    """A path, query, header or body value the route does not accept: 400 naming the field, never echoing
    the value."""
    details = [{"field": _field(e), "problem": e["msg"]} for e in exc.errors()]
    return error(HTTPStatus.BAD_REQUEST, "the request is not valid", details=details)


@app.exception_handler(MergedLead)
def _merged(exc: MergedLead) -> Response[str]:
    """A merged lead's card is its root's: a permanent redirect there (relative, so it keeps the stage); an
    action on a merged lead is repeated on its root (`../<root>/accept`)."""
    answer = error(HTTPStatus.PERMANENT_REDIRECT, str(exc), lead_id=exc.root)
    action = app.current_event.path.partition(f"/api/leads/{exc.lead_id}/")[2]
    answer.headers["Location"] = f"../{exc.root}/{action}" if action else exc.root
    return answer


@app.get("/api/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    document = app.get_openapi_json_schema(title=TITLE, version=VERSION, security_schemes=SECURITY)
    return Response(200, content_types.APPLICATION_JSON, document, {"Cache-Control": "max-age=300"})


@app.get(
    "/api/leads/<lead_id>",
    summary="The LeadCard: who, score and why, stage history, behaviour, account",
    description="For the roles sales, marketing and admin. A lead merged into another answers 308 with "
    "a Location naming the lead it was merged into; a lead Leadstream does not hold answers 404.",
    tags=["Leads"],
    security=[{"cognito": []}],
    responses={
        200: {"description": "The card", "content": {"application/json": {"model": LeadCard}}},
        308: {"description": "Merged into another lead: follow Location"},
        401: {"description": "No valid token"},
        403: {"description": "The user has no role that may read leads"},
        404: {"description": "No such lead"},
    },
)
def lead_card(lead_id: Annotated[str, Path(pattern=LEAD_ID, description="the lead's id")]) -> LeadCard:
    who = caller(app.current_event.request_context.authorizer.jwt_claim)
    require(who, READERS, "reading a lead")
    card = cards.card(lead_id, datetime.now(UTC))
    logger.info("lead card read", lead_id=lead_id, user=who.subject, events=card.activity_stored)
    metrics.add_metric(name="LeadCardsRead", unit=MetricUnit.Count, value=1)
    return card


def _routes(name: str) -> Router:
    """A Router module beside this one: `functions.api.<name>` where tests import the package, `<name>`
    where Lambda and the local runner import app.py from the function's folder."""
    module = importlib.import_module(f"{__package__}.{name}" if __package__ else name)
    return cast(Router, module.router)


app.include_router(_routes("actions"))  # accept, reject, qualify, progress, disqualify, notes
app.include_router(_routes("lists"))  # GET /api/leads, /api/accounts, /api/accounts/{domain}
app.include_router(_routes("assign"))  # POST /api/leads/{lead_id}/assign
app.include_router(_routes("reports"))  # GET /api/reports/source-quality, /api/reports/speed-to-lead


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
