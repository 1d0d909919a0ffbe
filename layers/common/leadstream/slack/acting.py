"""The sales actions a Slack click performs: the sales workflow's own service (the one the API's accept
and reject routes call), each click acting at most once (a double click, a retried request): Powertools
idempotency on the IdempotencyTable, keyed on the Slack user and the click's action_ts."""

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadstream.platform.errors import DuplicateRequest, NotFound
from leadstream.platform.idempotency import Once
from leadstream.platform.settings import SlackSettings
from leadstream.sales.access import Caller, Role
from leadstream.slack.interactions import LeadActions


class _NotYetWired:
    """Until the sales workflow's accept/reject service is on main (issue 9): refuses, changing nothing."""

    def accept(self, lead_id: str, transition_id: str, who: Caller, key: str) -> None:
        raise NotFound("accepting from Slack is not available in this version")

    def reject(self, lead_id: str, transition_id: str, who: Caller, reason: str, key: str) -> None:
        raise NotFound("rejecting from Slack is not available in this version")


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
    return OnceActions(_NotYetWired(), Once(settings.idempotency_table, key="key"))
