"""The sales API's reports: source quality (to revenue) and speed to lead, for every role. Each answer is one
Query of the report items PublishFunction keeps (sales.reports), never a scan of the leads table."""

from datetime import date
from typing import Annotated, Literal, cast

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from leadstream.platform.errors import BadRequest
from leadstream.platform.observability import logger, metrics
from leadstream.platform.settings import ApiSettings
from leadstream.sales.access import READERS, caller, require
from leadstream.sales.reports import ReportStore
from leadstream.sales.speed import SpeedToLead, speed_to_lead
from leadstream.scoring.report import Period, SourceQuality, from_counters

settings = ApiSettings.from_env()
store = ReportStore(settings.accounts_table, settings.leads_table)
router = Router()

Since = Annotated[date | None, Query(description="first day counted, YYYY-MM-DD (UTC); default: the start")]
Until = Annotated[
    date | None, Query(description="last day counted, included, YYYY-MM-DD (UTC); default: now")
]
ANSWERS: dict[int, OpenAPIResponse] = {
    400: {"description": "A query parameter is not valid (the body names it)"},
    401: {"description": "No valid token"},
    403: {"description": "The user has no role that may read reports"},
}


def _period(since: date | None, until: date | None, report: str) -> Period:
    event = cast(APIGatewayProxyEventV2, router.current_event)
    who = caller(event.request_context.authorizer.jwt_claim)
    require(who, READERS, f"reading the {report} report")
    if since and until and since > until:
        raise BadRequest("since is after until", details=[{"field": "since", "problem": "after until"}])
    logger.info("report read", report=report, user=who.subject)
    metrics.add_metric(name="ReportsRead", unit=MetricUnit.Count, value=1)
    return Period(since, until)


@router.get(
    "/api/reports/source-quality",
    summary="Source quality: leads, MQL, SQL, accepted, opportunity, won, lost and revenue per channel",
    description="By the lead's first touch, per channel or campaign. A lead counts once in every stage it "
    "reached (a won deal also as an opportunity, accepted, SQL and MQL), on the day it first reached it; "
    "revenue is won deals' amounts per currency. Visitors and leads are null here: the CLI's recount "
    "(`python -m cli report sources`) has them.",
    tags=["Reports"],
    security=[{"cognito": []}],
    responses={
        200: {"description": "The report", "content": {"application/json": {"model": SourceQuality}}},
        **ANSWERS,
    },
)
def source_quality(
    since: Since = None,
    until: Until = None,
    by: Annotated[Literal["channel", "campaign"], Query(description="one row per")] = "campaign",
) -> SourceQuality:
    period = _period(since, until, "source-quality")
    rows = from_counters(store.days(period), by_campaign=by == "campaign")
    return SourceQuality(since=since, until=until, by=by, rows=rows)


@router.get(
    "/api/reports/speed-to-lead",
    summary="Speed to lead: time to first action p50/p95, met, breached and waiting hand-overs",
    description="Hand-overs to sales (SQL or a hand-raise) made in the period, per owner, channel and "
    "campaign (first touch). Time to first action is the first accept or reject minus the timer's start; "
    "percentiles are nearest-rank.",
    tags=["Reports"],
    security=[{"cognito": []}],
    responses={
        200: {"description": "The report", "content": {"application/json": {"model": SpeedToLead}}},
        **ANSWERS,
    },
)
def speed(since: Since = None, until: Until = None) -> SpeedToLead:
    period = _period(since, until, "speed-to-lead")
    return speed_to_lead(store.handovers(period), period)
