"""Outbox: a stage change recorded as a lead's TRANS# item becomes a 'Lead Stage Changed' event.

Everything the event says comes from the TRANS item (score, reasons, touches as of the change) and the lead's
profile: publishing needs no scoring model. The item stays `unpublished` until the event went out, so a
change whose publish was parked is found again (`ScoreRepository.unpublished`) and published once.

Every outbox (this one, and accounts' ATRANS# items: `accounts.outbox`) hands PublishFunction the same
thing, an `Outgoing` event: what to put on the bus, its unique id, and how to mark its item published.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Protocol

from leadstream.contracts.events import STAGE_CHANGED, CardReason, CardTouch, LeadCard, LeadStageChanged
from leadstream.identity.profile import Profile
from leadstream.identity.repository import ProfileRepository
from leadstream.predictive.live import card_likelihood
from leadstream.scoring.repository import ScoreRepository
from leadstream.scoring.score import LeadScore, Transition


def lead_card(state: LeadScore, profile: Profile | None, transition: Transition) -> LeadCard:
    return LeadCard(
        lead_id=state.lead_id,
        name=profile.name if profile else None,
        email=profile.email if profile else None,
        title=profile.title if profile else None,
        company=(profile.company or profile.account) if profile else None,
        account=profile.account if profile else None,
        score=transition.score,
        stage=state.stage.value,
        reasons=[CardReason(label=r.label, points=r.points) for r in transition.reasons],
        first_touch=CardTouch(**state.first_touch.to_dict()) if state.first_touch else None,
        last_touch=CardTouch(**state.last_touch.to_dict()) if state.last_touch else None,
        sessions=state.sessions,
        page_views=state.page_views,
        first_seen=state.first_seen,
        last_seen=state.last_seen,
        likelihood=card_likelihood(transition.likelihood),
        **_split(transition),
    )


def _split(transition: Transition) -> dict[str, Any]:
    """The score as engagement + fit, when scoring recorded its fit (people's moves do not)."""
    if transition.fit is None:
        return {}
    fit = sum(r.points for r in transition.fit)
    return {
        "engagement": round(transition.score - fit, 1),
        "fit": fit,
        "fit_reasons": [CardReason(label=r.label, points=r.points) for r in transition.fit],
    }


def stage_changes(state: LeadScore, profile: Profile | None) -> list[LeadStageChanged]:
    """The events to publish for the transitions carried by one STATE record: none for a rescore's (where a
    new model would have moved the lead in the past: nobody is told)."""
    return [
        LeadStageChanged(
            transition_id=t.id,
            lead_id=state.lead_id,
            from_stage=t.from_stage.value,
            to_stage=t.to_stage.value,
            changed_at=t.at.astimezone(UTC),
            card=lead_card(state, profile, t),
            by=t.by,
            model_version=t.model_version,
            reason=t.reason,
            amount=t.amount,
            currency=t.currency,
            hand_raiser=t.hand_raiser,
        )
        for t in state.transitions
        if not t.rescored
    ]


@dataclass(frozen=True)
class Outgoing:
    """One event of an outbox item: its bus detail-type and detail (JSON-ready, carrying its unique id), the
    resources it names, and what marks the item published once the event went out."""

    detail_type: str
    detail: dict[str, Any]
    resources: tuple[str, ...]
    published: Callable[[], None]


class Outboxes(Protocol):
    def outgoing(self, image: dict[str, Any]) -> list[Outgoing]: ...


class Outbox:
    """From a TRANS item's image to the event it makes (the profile is read only then)."""

    def __init__(self, scores: ScoreRepository, profiles: ProfileRepository) -> None:
        self.scores = scores
        self.profiles = profiles

    def rescored(self, image: dict[str, Any]) -> bool:
        """Whether the TRANS item is a rescore's: nothing to publish, report or mark (its template filter
        keeps it from PublishFunction; this holds if one reaches it anyway)."""
        return self.scores.transition_from_image(image)[1].rescored

    def changes(self, image: dict[str, Any]) -> list[LeadStageChanged]:
        state, _ = self.scores.transition_from_image(image)
        return stage_changes(state, self.profiles.load(state.lead_id))

    def published(self, change: LeadStageChanged) -> None:
        """The change is on the bus: its TRANS item leaves the unpublished index."""
        self.scores.mark_published(change.lead_id, change.transition_id)

    def outgoing(self, image: dict[str, Any]) -> list[Outgoing]:
        return [
            Outgoing(
                STAGE_CHANGED,
                change.model_dump(mode="json"),
                (change.lead_id,),
                lambda change=change: self.published(change),  # type: ignore[misc]
            )
            for change in self.changes(image)
        ]
