"""The sales API's lists and the account card: GET /api/leads, /api/accounts, /api/accounts/{domain}.
A Powertools Router that app.py includes; every read goes through an index or a key, never a scan."""

from datetime import UTC, datetime
from typing import Annotated, Literal, cast

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from leadstream.accounts.model import AccountStage
from leadstream.accounts.model_file import load_account_model
from leadstream.platform.errors import BadRequest
from leadstream.platform.observability import logger, metrics
from leadstream.platform.settings import ApiSettings
from leadstream.sales.access import READERS, Caller, caller, require
from leadstream.sales.accounts import AccountDetail, AccountList
from leadstream.sales.listing import DEFAULT_LIMIT, MAX_LIMIT, LeadFilters, LeadList, Sort
from leadstream.sales.lists import AccountLists, LeadLists
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model_file import load_model

settings = ApiSettings.from_env()
_model = load_model(settings.scoring_model)
leads = LeadLists(
    settings.leads_table, settings.accounts_table, _model, likelihoods=settings.predictive_model is not None
)
accounts = AccountLists(
    settings.accounts_table, settings.leads_table, load_account_model(settings.account_model), _model
)

router = Router()

DOMAIN = r"^[a-z0-9][a-z0-9._-]{0,252}$"
TEXT = 200
SECURITY: list[dict[str, list[str]]] = [{"cognito": []}]
COMMON: dict[int, OpenAPIResponse] = {
    400: {"description": "A filter, the limit or the cursor is not valid (the details name it)"},
    401: {"description": "No valid token"},
    403: {"description": "The user has no role that may read leads"},
}

Stages = Annotated[
    str | None,
    Query(
        max_length=300,
        description="only these stages: one, repeated, or a comma list (lead, MQL, PQL, SQL, accepted, "
        "rejected, opportunity, won, lost, disqualified). Default: every stage but lead",
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"rows per page (at most {MAX_LIMIT})")]
CursorParam = Annotated[
    str | None, Query(max_length=4096, description="the previous page's cursor (opaque); absent: first page")
]


def _reader(action: str) -> Caller:
    """The signed-in user, if one of the roles that may read (403 otherwise)."""
    event = cast(APIGatewayProxyEventV2, router.current_event)
    who = caller(event.request_context.authorizer.jwt_claim)
    require(who, READERS, action)
    return who


def _split[E: (Stage, AccountStage)](text: str | None, kind: type[E], field: str) -> tuple[E, ...]:
    """A comma list of stages (repeated parameters arrive as one, comma-joined) as enum values."""
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    known = {s.value.lower(): s for s in kind}
    unknown = [n for n in names if n.lower() not in known]
    if unknown:
        problem = f"not a stage: use {', '.join(s.value for s in kind)}"
        raise BadRequest(f"{field}: {problem}", details=[{"field": field, "problem": problem}])
    return tuple(dict.fromkeys(known[n.lower()] for n in names))


@router.get(
    "/api/leads",
    summary="List leads: filtered, sorted, paginated with a cursor",
    description="For the roles sales, marketing and admin. Served by indexes (never a table scan). "
    "Filters combine (all must hold). Without `stage`, every stage a sales user works is listed.",
    tags=["Leads"],
    security=SECURITY,
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": LeadList}}},
        **COMMON,
    },
)
def list_leads(
    stage: Stages = None,
    min_score: Annotated[
        float | None, Query(ge=-10000, le=10000, description="only leads scoring at least this now")
    ] = None,
    account: Annotated[
        str | None, Query(pattern=DOMAIN, description="only the people of this account (its domain)")
    ] = None,
    channel: Annotated[
        str | None,
        Query(max_length=TEXT, description="first touch's channel (paid search, email, organic search, ...)"),
    ] = None,
    campaign: Annotated[str | None, Query(max_length=TEXT, description="first touch's campaign")] = None,
    owner: Annotated[
        str | None, Query(max_length=320, description="the owner's e-mail, or `me` for the signed-in user")
    ] = None,
    sla: Annotated[
        Literal["running", "met", "breached"] | None, Query(description="the speed-to-lead timer's state")
    ] = None,
    updated_since: Annotated[
        datetime | None, Query(description="only leads changed at or after this moment (ISO 8601)")
    ] = None,
    sort: Annotated[
        Sort,
        Query(
            description="updated (newest change first), score (highest now first) or due (the soonest "
            "speed-to-lead deadline first, running or breached; leads without one after)"
        ),
    ] = Sort.UPDATED,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> LeadList:
    who = _reader("listing leads")
    if owner is not None and owner.strip().lower() == "me":
        if who.email is None:
            problem = "`me` needs a token with an e-mail (an ID token); name the owner's e-mail instead"
            raise BadRequest(f"owner: {problem}", details=[{"field": "owner", "problem": problem}])
        owner = who.email
    since = updated_since.replace(tzinfo=updated_since.tzinfo or UTC) if updated_since else None
    filters = LeadFilters(
        stages=_split(stage, Stage, "stage"),
        min_score=min_score,
        account=account,
        channel=channel,
        campaign=campaign,
        owner=owner.strip().lower() if owner else None,
        sla=sla,
        updated_since=since,
    )
    page = leads.leads(filters, sort, limit, cursor, datetime.now(UTC))
    logger.info("leads listed", user=who.subject, rows=len(page.leads), more=page.cursor is not None)
    metrics.add_metric(name="LeadListsRead", unit=MetricUnit.Count, value=1)
    return page


@router.get(
    "/api/accounts",
    summary="List accounts by stage, newest change first, paginated with a cursor",
    description="For the roles sales, marketing and admin. Served by an index (never a table scan); "
    "accounts nobody counts in yet are left out.",
    tags=["Accounts"],
    security=SECURITY,
    responses={
        200: {"description": "A page", "content": {"application/json": {"model": AccountList}}},
        **COMMON,
    },
)
def list_accounts(
    stage: Annotated[
        str | None,
        Query(max_length=100, description="only these stages (account, engaged, MQA), a comma list"),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> AccountList:
    who = _reader("listing accounts")
    page = accounts.accounts_list(_split(stage, AccountStage, "stage"), limit, cursor, datetime.now(UTC))
    logger.info("accounts listed", user=who.subject, rows=len(page.accounts))
    return page


@router.get(
    "/api/accounts/<domain>",
    summary="The account card: score and why, committee coverage, the people known, surge",
    description="For the roles sales, marketing and admin. An account Leadstream has not scored answers 404.",
    tags=["Accounts"],
    security=SECURITY,
    responses={
        200: {"description": "The card", "content": {"application/json": {"model": AccountDetail}}},
        404: {"description": "No such account"},
        **COMMON,
    },
)
def account_card(
    domain: Annotated[str, Path(pattern=DOMAIN, description="the account's domain (or group id)")],
) -> AccountDetail:
    who = _reader("reading an account")
    card = accounts.card(domain, datetime.now(UTC))
    logger.info("account card read", domain=domain, user=who.subject, people=card.people_known_count)
    return card
