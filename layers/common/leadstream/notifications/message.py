"""Telling sales: a short message that reads well on a phone, with the reasons behind the score."""

from typing import Any, Protocol

from leadstream.contracts.events import CardTouch, LeadStageChanged


class Notifier(Protocol):
    """A way of reaching sales (notifiers.py has them); `name` keys its idempotency record (one per
    transition and notifier)."""

    name: str

    def send(self, subject: str, text: str, payload: dict[str, Any]) -> None: ...


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
        lines.append(f"First came from {_touch(card.first_touch)}")
    if card.sessions:
        visits = f"{card.sessions} visit{'s' if card.sessions != 1 else ''}, {card.page_views} page views"
        latest = card.last_touch
        changed = latest and card.first_touch and latest != card.first_touch
        lines.append(f"{visits}; latest from {_touch(latest)}" if changed and latest else visits)
    return subject, "\n".join(lines)


def _touch(touch: CardTouch) -> str:
    source = f" via {touch.source}" if touch.source else ""
    campaign = f", campaign {touch.campaign}" if touch.campaign else ""
    return f"{touch.channel}{source}{campaign}"


def deliver(change: LeadStageChanged, notifier: Notifier) -> None:
    subject, text = message(change)
    notifier.send(subject, text, change.model_dump(mode="json"))
