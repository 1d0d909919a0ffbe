"""The sales actions a Slack click performs: the sales workflow's own service (`sales.actions.LeadActions`,
the one the API's accept and reject routes call, with the same SLA cancel hook), acting as the sales user
whose e-mail Slack gave, only while the clicked message's stage change is still the lead's latest. Each
click acts at most once (a double click, a retried request): Powertools idempotency on the
IdempotencyTable, keyed on the Slack user and the click's action_ts."""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadstream.identity.repository import IdentityRepository
from leadstream.platform.errors import DuplicateRequest, Forbidden
from leadstream.platform.idempotency import Once
from leadstream.platform.observability import logger
from leadstream.platform.settings import SlackSettings
from leadstream.sales import actions as sales
from leadstream.sales.access import Caller, Role
from leadstream.sales.leads import root_of
from leadstream.sales.sla import stopper
from leadstream.sales.workflow import Move, MoveRequest
from leadstream.sales.workflow_file import load_workflow
from leadstream.scoring.model_file import load_model
from leadstream.slack.interactions import LeadActions


@dataclass
class WorkflowActions:
    """Accept and reject as the sales API performs them, by the sales user; `key` (the click) is the audit
    record's request id."""

    service: sales.LeadActions

    def accept(self, lead_id: str, transition_id: str, who: Caller, key: str) -> None:
        self._move(lead_id, transition_id, MoveRequest(Move.ACCEPT), who, key)

    def reject(self, lead_id: str, transition_id: str, who: Caller, reason: str, key: str) -> None:
        self._move(lead_id, transition_id, MoveRequest(Move.REJECT, reason), who, key)

    def _move(self, lead_id: str, transition_id: str, request: MoveRequest, who: Caller, key: str) -> None:
        if not who.email:  # the directory finds users by e-mail: never the case
            raise Forbidden("acting needs the user's e-mail")
        actor = sales.Actor(who.email, key)
        self.service.move(lead_id, request, actor, datetime.now(UTC), handover=transition_id)


@dataclass
class OnceActions:
    service: LeadActions
    once: Once

    def __post_init__(self) -> None:
        self._act = self.once(self._perform)

    def register(self, context: LambdaContext) -> None:
        self.once.register(context)

    def _perform(self, payload: dict[str, Any]) -> dict[str, Any]:
        who = Caller(payload["sub"], frozenset(Role(r) for r in payload["roles"]), payload["email"])
        if payload["action"] == "accept":
            self.service.accept(payload["lead_id"], payload["transition_id"], who, payload["key"])
        else:
            self.service.reject(
                payload["lead_id"], payload["transition_id"], who, payload["reason"], payload["key"]
            )
        return {"done": payload["action"]}

    def _once(
        self, action: str, lead_id: str, transition_id: str, who: Caller, key: str, reason: str = ""
    ) -> None:
        try:
            self._act(payload=self._payload(action, lead_id, transition_id, who, key, reason))
        except IdempotencyAlreadyInProgressError as exc:
            raise DuplicateRequest("this click is being acted on already") from exc

    @staticmethod
    def _payload(
        action: str, lead_id: str, transition_id: str, who: Caller, key: str, reason: str
    ) -> dict[str, Any]:
        return {
            "key": key,
            "action": action,
            "lead_id": lead_id,
            "transition_id": transition_id,
            "sub": who.subject,
            "roles": sorted(who.roles),
            "email": who.email,
            "reason": reason,
        }

    def accept(self, lead_id: str, transition_id: str, who: Caller, key: str) -> None:
        self._once("accept", lead_id, transition_id, who, key)

    def reject(self, lead_id: str, transition_id: str, who: Caller, reason: str, key: str) -> None:
        self._once("reject", lead_id, transition_id, who, key, reason)


def lead_actions(settings: SlackSettings) -> OnceActions:
    workflow = load_workflow(settings.sales_workflow)
    service = sales.LeadActions(
        settings.leads_table,
        load_model(settings.scoring_model),
        workflow,
        workflow.framework(settings.qualification_framework),  # an unknown one fails at cold start
        partial(root_of, IdentityRepository(settings.leads_table)),
        on_first_action=stopper(
            settings.sla_schedule_group, lambda message, facts: logger.warning(message, **facts)
        ),
    )
    return OnceActions(WorkflowActions(service), Once(settings.idempotency_table, key="key"))
