"""POST /api/leads/{lead_id}/assign {owner}: a user gives a lead another owner (roles sales and admin).

Audited on the lead (AUDIT#), told on the bus ('Lead Assigned', reason 'reassigned'), and idempotent under
retries: with an `Idempotency-Key` header, the same user sending the same action on the same lead with
that key gets the first answer again and nothing happens twice.
"""

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyValidationError
from leadstream.platform.errors import Unauthorized
from leadstream.platform.http import error
from leadstream.platform.idempotency import Once
from leadstream.platform.observability import logger, metrics
from leadstream.platform.settings import AssignSettings
from leadstream.sales.access import ACTORS, caller, require
from leadstream.sales.assignment import email_address
from leadstream.sales.handover import Reassign
from pydantic import BaseModel, ConfigDict, Field, field_validator

LEAD_ID = r"^[A-Za-z0-9_-]{1,64}$"
IDEMPOTENCY_KEY = r"^[\x21-\x7e]{1,128}$"  # printable ASCII, no spaces

settings = AssignSettings.from_env()
reassign = Reassign(settings.leads_table)
# One record per user, lead, action and key; the same key with another owner is refused, not replayed.
once = Once(settings.idempotency_table, key="[user, lead_id, action, idempotency_key]", validate="owner")
router = Router()


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner: str = Field(description="the new owner's e-mail (a sales user)", max_length=254)

    @field_validator("owner")
    @classmethod
    def _email(cls, value: str) -> str:
        return email_address(value)


class Assignment(BaseModel):
    lead_id: str
    owner: str
    previous_owner: str | None = None
    assigned_at: datetime
    changed: bool = Field(description="false: the lead had this owner already (nothing was written)")


@router.exception_handler(IdempotencyValidationError)
def _key_reused(exc: IdempotencyValidationError) -> Response[str]:
    return error(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "this Idempotency-Key was used for another request: send a new key for a new request",
    )


def _act(payload: dict[str, Any]) -> dict[str, Any]:
    done = reassign.run(payload["lead_id"], payload["owner"], payload["by"], datetime.now(UTC))
    return Assignment(**done.__dict__).model_dump(mode="json")


_act_once = once(_act)


@router.post(
    "/api/leads/<lead_id>/assign",
    summary="Give the lead another owner",
    description="For the roles sales and admin (marketing: 403). Audited and published as 'Lead Assigned'. "
    "Send an Idempotency-Key header to make retries safe: the same key answers the first result again.",
    tags=["Actions"],
    security=[{"cognito": []}],
    responses={
        200: {"description": "The lead's owner now", "content": {"application/json": {"model": Assignment}}},
        308: {"description": "Merged into another lead: act on the one Location names"},
        400: {"description": "The body or a header is not valid (the field is named)"},
        401: {"description": "No valid token, or a token without the user's e-mail (send the ID token)"},
        403: {"description": "The user's role may not act on leads"},
        404: {"description": "No such lead"},
        422: {"description": "The Idempotency-Key was used for another request"},
    },
)
def assign(
    lead_id: Annotated[str, Path(pattern=LEAD_ID, description="the lead's id")],
    request: AssignRequest,
    idempotency_key: Annotated[
        str | None, Header(alias="idempotency-key", pattern=IDEMPOTENCY_KEY, description="makes retries safe")
    ] = None,
) -> Assignment:
    event = cast(APIGatewayProxyEventV2, router.current_event)
    who = caller(event.request_context.authorizer.jwt_claim)
    require(who, ACTORS, "assigning a lead")
    if who.email is None:
        raise Unauthorized(
            "acting on a lead needs the user's e-mail: send the ID token, not the access token"
        )
    payload = {
        "user": who.subject,
        "lead_id": lead_id,
        "action": "assign",
        "owner": request.owner,
        "by": who.email,
    }
    if idempotency_key is None:
        done = Assignment(**_act(payload=payload))
    else:
        once.register(router.lambda_context)
        done = Assignment(**_act_once(payload={**payload, "idempotency_key": idempotency_key}))
    logger.info("lead assigned", lead_id=lead_id, user=who.subject, changed=done.changed)
    metrics.add_metric(name="LeadsReassigned", unit=MetricUnit.Count, value=1 if done.changed else 0)
    return done
