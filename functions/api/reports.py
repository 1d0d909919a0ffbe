"""The sales API's reports: source quality (to revenue), speed to lead and the score distribution by stage,
for every role. The first two are one Query of the report items PublishFunction keeps (sales.reports); the
score distribution Queries the LeadsByStage index a stage at a time (bounded). Never a scan."""

from datetime import UTC, date, datetime
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
from leadstream.sales.distribution import MAX_PER_STAGE, ScoreDistribution
from leadstream.sales.lists import LeadLists
from leadstream.sales.reports import ReportStore
from leadstream.sales.speed import SpeedToLead, speed_to_lead
from leadstream.scoring.model_file import load_model
from leadstream.scoring.report import Period, SourceQuality, from_counters

settings = ApiSettings.from_env()
store = ReportStore(settings.accounts_table, settings.leads_table)
lists = LeadLists(
    settings.leads_table,
    settings.accounts_table,
    load_model(settings.scoring_model),
    likelihoods=settings.predictive_model is not None,
)
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


def _reader(report: str) -> str:
    """The caller's subject, once their role may read reports (logged: no personal data)."""
    event = cast(APIGatewayProxyEventV2, router.current_event)
    who = caller(event.request_context.authorizer.jwt_claim)
    require(who, READERS, f"reading the {report} report")
    logger.info("report read", report=report, user=who.subject)
    metrics.add_metric(name="ReportsRead", unit=MetricUnit.Count, value=1)
    return who.subject


def _period(since: date | None, until: date | None, report: str) -> Period:
    _reader(report)
    if since and until and since > until:
        raise BadRequest("since is after until", details=[{"field": "since", "problem": "after until"}])
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
    "percentiles are nearest-rank; `distribution` counts the acted-on hand-overs in spans of that time.",
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


@router.get(
    "/api/reports/score-distribution",
    summary="Score distribution by stage: leads per stage and score bucket, scored now",
    description="The leads worth listing (known, or past `lead`) at each stage, by their score now, in "
    "25-point buckets (and one for negative scores, one for 150 and more). Read from the LeadsByStage "
    f"index, a Query per stage: a stage with more than {MAX_PER_STAGE} leads is counted from its "
    f"{MAX_PER_STAGE} most recently changed ones and marked `truncated`.",
    tags=["Reports"],
    security=[{"cognito": []}],
    responses={
        200: {"description": "The report", "content": {"application/json": {"model": ScoreDistribution}}},
        401: ANSWERS[401],
        403: ANSWERS[403],
    },
)
def score_distribution() -> ScoreDistribution:
    _reader("score-distribution")
    return lists.score_distribution(MAX_PER_STAGE, datetime.now(UTC))
