"""Small builders for domain objects, so that tests read as the story they tell."""

from datetime import UTC, datetime, timedelta
from itertools import count

from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import LeadScore, apply_events
from leadstream.tracking.attribution import Touch
from leadstream.tracking.events import BehaviourEvent, EventType

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

_ids = count(1)


def day(n: float) -> datetime:
    """``n`` days after T0 (negative for before)."""
    return T0 + timedelta(days=n)


def event(type_: EventType, at: datetime = T0, **fields: object) -> BehaviourEvent:
    """Any behaviour event, with a message id of its own."""
    return BehaviourEvent(message_id=f"m-{next(_ids)}", type=type_, at=at, **fields)


def page(path: str, at: datetime = T0, touch: Touch | None = None) -> BehaviourEvent:
    return event(EventType.PAGE, at, path=path, touch=touch)


def track(name: str, at: datetime = T0) -> BehaviourEvent:
    return event(EventType.TRACK, at, name=name)


def form(form_id: str = "newsletter", at: datetime = T0, **traits: str) -> BehaviourEvent:
    return event(EventType.FORM, at, form_id=form_id, fit_traits=traits)


def identify(at: datetime = T0, **traits: str) -> BehaviourEvent:
    return event(EventType.IDENTIFY, at, fit_traits=traits)


def new_lead(lead_id: str = "L1") -> LeadScore:
    return LeadScore(lead_id=lead_id)


def scored(model: ScoringModel, *events: BehaviourEvent, state: LeadScore | None = None) -> LeadScore:
    """The lead after one ``apply_events`` call with ``events`` (on a fresh lead unless ``state``)."""
    return apply_events(model, state or new_lead(), list(events))
