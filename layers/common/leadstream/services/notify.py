"""Telling sales: a short message that reads well on a phone, with the reasons behind the score."""

from leadstream.contracts.events import LeadStageChanged
from leadstream.integrations.notifiers import Channel


def message(change: LeadStageChanged) -> tuple[str, str]:
    card = change.card
    who = card.name or card.email or f"Lead {card.lead_id}"
    where = f" at {card.company}" if card.company else ""
    subject = f"New {change.to_stage}: {who}{where} (score {card.score:g})"
    lines = []
    if card.title:
        lines.append(card.title)
    if card.email:
        lines.append(card.email)
    if card.reasons:
        why = ", ".join(f"{r.label} ({r.points:+d})" for r in card.reasons)
        lines.append(f"Why: {why}")
    if card.first_touch:
        touch = card.first_touch
        source = f" via {touch.source}" if touch.source else ""
        campaign = f", campaign {touch.campaign}" if touch.campaign else ""
        lines.append(f"First came from {touch.channel}{source}{campaign}")
    return subject, "\n".join(lines)


def deliver(change: LeadStageChanged, channel: Channel) -> None:
    subject, text = message(change)
    channel.send(subject, text, change.model_dump(mode="json"))
