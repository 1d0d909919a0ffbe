"""A click on Accept or Reject in Slack, from a verified request to the sales action it stands for.

Slack's payload names the Slack user, never their e-mail: Slack's `users.info` gives it, the stack's user
pool gives the sales user with that e-mail and their role, and only sales and admin may act. Then the
action is exactly the sales API's (`LeadActions`: the same service the API's routes call), by that user.
Reject from Slack records the reason "rejected in Slack" (a button has no text box); the message says so.

The answer goes back through the interaction's `response_url` (Slack ignores the body of the HTTP answer
to a button): the message loses its buttons and says who decided; anyone else is told, and only them.
"""

import json
from collections.abc import Callable
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, ValidationError

from leadstream.notifications.blocks import ACCEPT, ACTIONS_BLOCK, REJECT
from leadstream.platform.errors import (
    ConcurrentUpdate,
    DuplicateRequest,
    LeadstreamError,
    NotifyFailed,
    SecretUnavailable,
    StoreUnavailable,
)
from leadstream.sales.access import ACTORS, Caller

SLACK_REJECT_REASON = "rejected in Slack"
NOT_A_SALES_USER = (
    "You are not a Leadstream sales user, so nothing was changed. An admin can add the e-mail address of "
    "your Slack profile to Leadstream's sales group."
)
TRY_AGAIN = "Leadstream is busy right now and nothing was changed: click again in a moment."
SLACK_ID = r"^[A-Z0-9]{2,32}$"
LEAD_ID = r"^[A-Za-z0-9_-]{1,64}$"


class SlackUser(BaseModel):
    id: str = Field(pattern=SLACK_ID)
    team_id: str | None = Field(default=None, pattern=SLACK_ID)


class SlackAction(BaseModel):
    action_id: str = Field(max_length=255)
    block_id: str | None = Field(default=None, max_length=255)
    value: str | None = Field(default=None, max_length=2000)
    action_ts: str | None = Field(default=None, max_length=32)


class ButtonValue(BaseModel):
    """What our buttons carry (notifications.blocks.Decision): ids only."""

    lead_id: str = Field(pattern=LEAD_ID)
    transition_id: str = Field(min_length=1, max_length=200)


class BlockActions(BaseModel):
    """The part of Slack's `block_actions` payload this uses."""

    type: Literal["block_actions"]
    user: SlackUser
    actions: list[SlackAction] = Field(min_length=1)
    trigger_id: str | None = Field(default=None, max_length=255)
    response_url: str | None = Field(default=None, max_length=2000)
    message: dict[str, Any] | None = None  # the message clicked in, as Slack holds it (our blocks)

    def idempotency_key(self) -> str:
        """One click of one user: a double click (or Slack sending it again) carries the same action_ts."""
        click = self.actions[0].action_ts or self.trigger_id or ""
        return f"slack:{self.user.team_id or '-'}:{self.user.id}:{click}"


class LeadActions(Protocol):
    """The sales actions, as the API performs them (by `who`; `key` makes a retried one act once)."""

    def accept(self, lead_id: str, transition_id: str, who: Caller, key: str) -> None: ...

    def reject(self, lead_id: str, transition_id: str, who: Caller, reason: str, key: str) -> None: ...


class SlackPeople(Protocol):
    def email(self, user_id: str, team_id: str | None = None) -> str | None: ...

    def respond(self, response_url: str, message: dict[str, Any]) -> None: ...


class Directory(Protocol):
    def user(self, email: str) -> Caller | None: ...


def parse(payload: str) -> BlockActions | None:
    """The `payload` form field as a block_actions interaction; None for another kind of interaction (this
    app has nothing else; Slack is answered 200 and nothing happens). ValueError when it is not JSON."""
    data = json.loads(payload)
    if not isinstance(data, dict):
        raise ValueError("the payload is not a JSON object")
    if data.get("type") != "block_actions":
        return None
    return BlockActions.model_validate(data)


def _ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def _decided(message: dict[str, Any] | None, line: str) -> dict[str, Any]:
    """The message clicked in, without its buttons, and a line saying who decided what (in mrkdwn: only our
    words and a user mention built from a checked Slack id)."""
    blocks = [b for b in (message or {}).get("blocks", []) if b.get("block_id") != ACTIONS_BLOCK]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": line}]})
    text = str((message or {}).get("text") or line)
    return {"replace_original": True, "text": text, "blocks": blocks}


class Interactions:
    def __init__(
        self,
        people: SlackPeople,
        directory: Directory,
        actions: LeadActions,
        warn: Callable[[str, dict[str, Any]], None] = lambda message, facts: None,
    ) -> None:
        self.people, self.directory, self.actions, self.warn = people, directory, actions, warn

    def handle(self, click: BlockActions) -> str:
        """Act on the click and answer it (response_url); what happened, in a word, for the log and the
        metrics: accepted, rejected, ignored, refused, failed, duplicate."""
        action = click.actions[0]
        if action.action_id not in (ACCEPT, REJECT):
            return "ignored"  # a button of another app's message, or of a later version of ours
        try:
            decision = ButtonValue.model_validate_json(action.value or "")
        except ValidationError:
            self._answer(click, _ephemeral("This button does not name a lead: nothing was changed."))
            return "refused"
        try:
            outcome, answer = self._act(click, action.action_id, decision)
        except DuplicateRequest:  # a double click still in flight: the first click answers
            return "duplicate"
        self._answer(click, answer)
        return outcome

    def _act(self, click: BlockActions, action_id: str, decision: ButtonValue) -> tuple[str, dict[str, Any]]:
        try:
            email = self.people.email(click.user.id, click.user.team_id)
            who = self.directory.user(email) if email else None
            if who is None or not who.roles & ACTORS:
                return "refused", _ephemeral(NOT_A_SALES_USER)
            key = click.idempotency_key()
            mention = f"<@{click.user.id}>"
            if action_id == ACCEPT:
                self.actions.accept(decision.lead_id, decision.transition_id, who, key)
                return "accepted", _decided(click.message, f"Accepted by {mention}")
            self.actions.reject(decision.lead_id, decision.transition_id, who, SLACK_REJECT_REASON, key)
            line = f"Rejected by {mention} (reason recorded: {SLACK_REJECT_REASON})"
            return "rejected", _decided(click.message, line)
        except DuplicateRequest:
            raise
        except (StoreUnavailable, ConcurrentUpdate, SecretUnavailable, NotifyFailed) as exc:
            self.warn("a Slack action could not be done", {"reason": str(exc), "lead_id": decision.lead_id})
            return "failed", _ephemeral(TRY_AGAIN)
        except LeadstreamError as exc:  # the API's 4xx: already decided, no such lead, not allowed...
            return "refused", _ephemeral(f"Nothing was changed: {exc}")

    def _answer(self, click: BlockActions, message: dict[str, Any]) -> None:
        if not click.response_url:
            return
        try:
            self.people.respond(click.response_url, message)
        except NotifyFailed as exc:  # the action stands; the user sees no confirmation
            self.warn("the answer to a Slack action could not be sent", {"reason": str(exc)})
