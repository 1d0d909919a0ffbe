"""The sales API's actions on a lead (a Router that app.py includes): accept, reject, disqualify, progress
(opportunity, won, lost), qualify, note; and the active qualification framework.

Acting needs the role sales or admin (marketing reads only: 403) and the user's e-mail (the ID token's
`email` claim: who acted, in the stage history and the audit trail). An `Idempotency-Key` header makes a
retried action act once: the repeat answers what the first answered, and the same key with another body
is 422 (Powertools idempotency on the IdempotencyTable, keyed on user, lead, action and the key).
"""

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from http import HTTPStatus
from typing import Annotated, Any, Literal, cast

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from leadstream.identity.repository import IdentityRepository
from leadstream.platform.errors import ConcurrentUpdate, Forbidden
from leadstream.platform.http import error
from leadstream.platform.idempotency import Once
from leadstream.platform.observability import logger, metrics
from leadstream.platform.settings import ActionSettings
from leadstream.sales.access import ACTORS, READERS, caller, require
from leadstream.sales.actions import Actor, LeadActions
from leadstream.sales.card import Note, Qualification, StageChange, qualification, stage_change
from leadstream.sales.leads import root_of
from leadstream.sales.sla import stopper
from leadstream.sales.workflow import CRITERION_ID, Criterion, Move, MoveRequest
from leadstream.sales.workflow_file import load_workflow
from leadstream.scoring.model_file import load_model
from leadstream.tracking.segment import clean_text
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

settings = ActionSettings.from_env()
workflow = load_workflow(settings.sales_workflow)
framework = workflow.framework(settings.qualification_framework)  # an unknown one fails at cold start
actions = LeadActions(
    settings.leads_table,
    load_model(settings.scoring_model),
    workflow,
    framework,
    partial(root_of, IdentityRepository(settings.leads_table)),
    on_first_action=stopper(
        settings.sla_schedule_group, lambda message, facts: logger.warning(message, **facts)
    ),
)
once = Once(settings.idempotency_table, "[user, lead_id, action, key]", validate="body", days=1)

router = Router()
LEAD_ID = r"^[A-Za-z0-9_-]{1,64}$"
LeadId = Annotated[str, Path(pattern=LEAD_ID, description="the lead's id")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        pattern=r"^[\x21-\x7e]{1,128}$",
        description="A retried request with the same key acts once and answers what the first answered "
        "(kept a day). The same key with another body is 422.",
    ),
]


def _typed(value: str) -> str:
    """What a person typed, as stored: control and bidi characters gone (line breaks become spaces, as in
    every descriptive text Leadstream keeps), and something left."""
    cleaned = clean_text(value).strip()
    if not cleaned:
        raise ValueError("must not be empty")
    return cleaned


Text = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_typed)]
LongText = Annotated[str, StringConstraints(max_length=5000), AfterValidator(_typed)]
CriterionId = Annotated[str, StringConstraints(pattern=CRITERION_ID)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reason(_Request):
    reason: Text = Field(description="why, in the rep's words (one of the offered reasons, or free text)")


class Progress(_Request):
    stage: Literal["opportunity", "won", "lost"]
    amount: float | None = Field(default=None, gt=0, le=1e12, description="the deal's value (won: required)")
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217 (with an amount)")
    reason: Text | None = Field(default=None, description="why (lost: required)")


class Answers(_Request):
    answers: dict[CriterionId, LongText] = Field(
        min_length=1, description="criterion id -> the answer; merged with the earlier answers"
    )


class NewNote(_Request):
    text: LongText


class Moved(BaseModel):
    """What a move did: the lead's stage now, and the stage change (also in the card's stage history)."""

    lead_id: str
    stage: str
    transition: StageChange


class QualificationAnswers(BaseModel):
    lead_id: str
    qualification: Qualification


class Noted(BaseModel):
    lead_id: str
    note: Note


class ActiveFramework(BaseModel):
    """The active qualification framework: what sales asks, and what opportunity needs answered."""

    framework: str
    label: str
    criteria: list[Criterion]
    rejection_reasons: list[str] = Field(description="the reasons offered when rejecting (free text too)")


ACTING: dict[int, OpenAPIResponse] = {
    401: {"description": "No valid token"},
    403: {"description": "Marketing (read-only), no role, or a token without the user's e-mail"},
    404: {"description": "No such lead"},
    308: {"description": "Merged into another lead: repeat the request at Location"},
    422: {"description": "The Idempotency-Key was used with another body"},
}


@router.exception_handler(IdempotencyValidationError)
def _key_reused(exc: IdempotencyValidationError) -> Response[str]:
    return error(
        HTTPStatus.UNPROCESSABLE_ENTITY, "this Idempotency-Key was used with another body; use a new key"
    )


@router.exception_handler(IdempotencyAlreadyInProgressError)
def _key_in_progress(exc: IdempotencyAlreadyInProgressError) -> Response[str]:
    return error(
        HTTPStatus.CONFLICT, "a request with this Idempotency-Key is still in progress; retry shortly"
    )


@router.exception_handler(ConcurrentUpdate)
def _kept_changing(exc: ConcurrentUpdate) -> Response[str]:
    return error(HTTPStatus.CONFLICT, "the lead kept changing while this was decided; retry the request")


def _event() -> APIGatewayProxyEventV2:
    return cast(APIGatewayProxyEventV2, router.current_event)  # the HTTP API's (app.py's resolver)


def _actor(doing: str) -> tuple[str, Actor]:
    who = caller(_event().request_context.authorizer.jwt_claim)
    require(who, ACTORS, doing)
    if not who.email:
        raise Forbidden(
            f"{doing} needs the user's e-mail, which an access token does not carry: send the ID token "
            "(python -m cli token --id)"
        )
    return who.subject, Actor(who.email, _event().request_context.request_id)


def _move(payload: dict[str, Any]) -> dict[str, Any]:
    body, actor = payload["body"], Actor(payload["email"], payload["request_id"])
    request = MoveRequest(
        Move(payload["action"]), body.get("reason"), body.get("amount"), body.get("currency")
    )
    transition = actions.move(payload["lead_id"], request, actor, datetime.now(UTC))
    moved = Moved(
        lead_id=payload["lead_id"], stage=transition.to_stage.value, transition=stage_change(transition)
    )
    return moved.model_dump(mode="json")


def _qualify(payload: dict[str, Any]) -> dict[str, Any]:
    actor = Actor(payload["email"], payload["request_id"])
    answers = actions.qualify(payload["lead_id"], payload["body"]["answers"], actor, datetime.now(UTC))
    found = QualificationAnswers(
        lead_id=payload["lead_id"], qualification=qualification(framework, answers.answers)
    )
    return found.model_dump(mode="json")


def _note(payload: dict[str, Any]) -> dict[str, Any]:
    actor = Actor(payload["email"], payload["request_id"])
    note = actions.note(payload["lead_id"], payload["body"]["text"], actor, datetime.now(UTC))
    noted = Noted(lead_id=payload["lead_id"], note=Note(id=note.id, text=note.text, by=note.by, at=note.at))
    return noted.model_dump(mode="json")


_DOING = {
    "accept": ("accepting a lead", _move),
    "reject": ("rejecting a lead", _move),
    "disqualify": ("disqualifying a lead", _move),
    "qualify": ("qualifying a lead", _qualify),
    "note": ("noting on a lead", _note),
    **{stage: ("progressing a lead", _move) for stage in ("opportunity", "won", "lost")},
}


@once
def _once(payload: dict[str, Any]) -> dict[str, Any]:
    return _DOING[payload["action"]][1](payload)


def _act(action: str, lead_id: str, body: BaseModel | None, key: str | None) -> dict[str, Any]:
    """The action, once per Idempotency-Key when the request has one. Logs ids only."""
    doing, perform = _DOING[action]
    user, actor = _actor(doing)
    payload = {
        "user": user,
        "lead_id": lead_id,
        "action": action,
        "key": key,
        "body": body.model_dump(mode="json", exclude_none=True) if body else {},
        "email": actor.email,
        "request_id": actor.request_id,
    }
    if key is None:
        answer = perform(payload)
    else:
        once.register(router.lambda_context)
        answer = _once(payload=payload)
    logger.info("lead action", action=action, lead_id=lead_id, user=user, idempotency_key=key is not None)
    metrics.add_metric(name="LeadActions", unit=MetricUnit.Count, value=1)
    return answer


def _route(path: str, summary: str, model: type[BaseModel]) -> Callable[[Callable[..., Any]], Any]:
    return router.post(
        f"/api/leads/<lead_id>/{path}",
        summary=summary,
        tags=["Lead actions"],
        security=[{"cognito": []}],
        responses={
            200: {"description": "Done", "content": {"application/json": {"model": model}}},
            409: {
                "description": "Not allowed from the lead's stage, or opportunity before the required answers"
            },
            **ACTING,
        },
    )


@_route("accept", "Accept the lead: sales takes it (stops its speed-to-lead timer)", Moved)
def accept(lead_id: LeadId, key: IdempotencyKey = None) -> Moved:
    return Moved.model_validate(_act("accept", lead_id, None, key))


@_route("reject", "Reject the lead with a reason: it is recycled to nurturing (stage rejected)", Moved)
def reject(lead_id: LeadId, body: Annotated[Reason, Body()], key: IdempotencyKey = None) -> Moved:
    return Moved.model_validate(_act("reject", lead_id, body, key))


@_route("disqualify", "Disqualify the lead with a reason (from any stage but won, lost, disqualified)", Moved)
def disqualify(lead_id: LeadId, body: Annotated[Reason, Body()], key: IdempotencyKey = None) -> Moved:
    return Moved.model_validate(_act("disqualify", lead_id, body, key))


@_route(
    "progress", "Move an accepted lead to opportunity, won (with the amount) or lost (with a reason)", Moved
)
def progress(lead_id: LeadId, body: Annotated[Progress, Body()], key: IdempotencyKey = None) -> Moved:
    return Moved.model_validate(_act(body.stage, lead_id, body, key))


@_route(
    "qualify",
    "Answer qualification criteria of the active framework (merged with earlier answers)",
    QualificationAnswers,
)
def qualify(
    lead_id: LeadId, body: Annotated[Answers, Body()], key: IdempotencyKey = None
) -> QualificationAnswers:
    return QualificationAnswers.model_validate(_act("qualify", lead_id, body, key))


@_route("notes", "Add a note to the lead", Noted)
def note(lead_id: LeadId, body: Annotated[NewNote, Body()], key: IdempotencyKey = None) -> Noted:
    return Noted.model_validate(_act("note", lead_id, body, key))


@router.get(
    "/api/qualification",
    summary="The active qualification framework: its criteria, questions, and which opportunity needs",
    tags=["Lead actions"],
    security=[{"cognito": []}],
    responses={401: {"description": "No valid token"}, 403: {"description": "The user has no role"}},
)
def active_framework() -> ActiveFramework:
    require(caller(_event().request_context.authorizer.jwt_claim), READERS, "reading the framework")
    return ActiveFramework(
        framework=framework.name,
        label=framework.label,
        criteria=list(framework.criteria),
        rejection_reasons=list(workflow.rejection_reasons),
    )
