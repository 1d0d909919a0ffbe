"""The Slack message of a stage change, in Block Kit, with Accept / Reject buttons (pure: no I/O).

What a visitor typed (name, company, title, reasons' labels come from the model, UTM values from links)
travels only as `plain_text`, which Slack shows as typed: no mention, link or formatting can be made of
it. The one `mrkdwn` line is ours (the hand-raiser mark, the owner, the LeadCard link), with every value
in it escaped (`for_mrkdwn`). The `text` fallback (a phone's notification, clients without blocks) is the
plain text escaped for mrkdwn too.

The buttons' `value` names the lead and the stage change (ids only, never a name or an e-mail): Slack
sends it back when someone clicks (`slack.interactions`).
"""

import json
from dataclasses import dataclass
from typing import Any

from leadstream.notifications.message import for_mrkdwn, one_line, shortened

HEADER_LIMIT = 150  # Block Kit: a header's text
TEXT_LIMIT = 3000  # Block Kit: a section's text
ACTIONS_BLOCK = "leadstream_decision"
ACCEPT = "leadstream_accept"
REJECT = "leadstream_reject"
# the stages sales accepts or rejects from a notification (hand-raisers arrive as SQL; PQLs have their own)
STAGES_TO_DECIDE = frozenset({"SQL", "PQL"})


@dataclass(frozen=True)
class Decision:
    """What a button's `value` carries: which lead, and the stage change it was told of."""

    lead_id: str
    transition_id: str

    def value(self) -> str:
        return json.dumps(
            {"lead_id": self.lead_id, "transition_id": self.transition_id}, separators=(",", ":")
        )


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": False}


def _button(label: str, action_id: str, style: str, decision: Decision) -> dict[str, Any]:
    return {
        "type": "button",
        "text": _plain(label),
        "action_id": action_id,
        "style": style,
        "value": decision.value(),
    }


def card_link(base_url: str | None, lead_id: str) -> str | None:
    """The lead's page in the web app served under `base_url` (the stack's API URL, or SalesAppUrl): a
    person opens it on a phone or a desktop, signed in, rather than the API's JSON."""
    return f"{base_url.rstrip('/')}/app#/leads/{lead_id}" if base_url else None


def slack_message(
    subject: str,
    text: str,
    *,
    lead_id: str | None = None,
    transition_id: str | None = None,
    from_stage: str | None = None,
    to_stage: str | None = None,
    hand_raiser: bool = False,
    owner: str | None = None,
    link: str | None = None,
) -> dict[str, Any]:
    """The message body for Slack's incoming webhook: header (who, where, score), the plain lines (title,
    e-mail, why, touches, account), a line of ours (hand-raiser, owner, LeadCard link) and, for a stage
    sales decides on, Accept / Reject buttons."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(shortened(subject, HEADER_LIMIT))}]
    if text:
        blocks.append({"type": "section", "text": _plain(shortened(text, TEXT_LIMIT))})
    notes = []
    if hand_raiser:
        notes.append("*Hand-raiser*: asked for sales, sent whatever the score (its fit is as shown)")
    if "PQL" in (from_stage, to_stage):
        notes.append("*PQL*: qualified by product usage")
    if owner:
        notes.append(f"Owner: {for_mrkdwn(one_line(owner, 254))}")
    if link:
        notes.append(f"<{for_mrkdwn(link)}|Open the LeadCard>")
    if notes:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(notes)}]})
    if lead_id and transition_id and to_stage in STAGES_TO_DECIDE:
        decision = Decision(lead_id, transition_id)
        blocks.append(
            {
                "type": "actions",
                "block_id": ACTIONS_BLOCK,
                "elements": [
                    _button("Accept", ACCEPT, "primary", decision),
                    _button("Reject", REJECT, "danger", decision),
                ],
            }
        )
    fallback = f"{subject}\n{text}" if text else subject
    return {"text": for_mrkdwn(fallback), "mrkdwn": False, "blocks": blocks}
