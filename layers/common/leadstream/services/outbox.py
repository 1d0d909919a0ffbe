"""Outbox: a stage change recorded on a lead's STATE item becomes a 'Lead Stage Changed' event."""

from datetime import UTC

from leadstream.contracts.events import CardReason, CardTouch, LeadCard, LeadStageChanged
from leadstream.domain.scoring import LeadScore, ScoringModel, Transition
from leadstream.store import LeadRepository, Profile


def lead_card(model: ScoringModel, state: LeadScore, profile: Profile | None, score: float) -> LeadCard:
    return LeadCard(
        lead_id=state.lead_id,
        name=profile.name if profile else None,
        email=profile.email if profile else None,
        title=profile.title if profile else None,
        company=(profile.company or profile.account) if profile else None,
        account=profile.account if profile else None,
        score=score,
        stage=state.stage.value,
        reasons=[CardReason(label=r.label, points=r.points) for r in state.reasons(model)],
        first_touch=CardTouch(**state.first_touch.to_dict()) if state.first_touch else None,
        last_touch=CardTouch(**state.last_touch.to_dict()) if state.last_touch else None,
        sessions=state.sessions,
        page_views=state.page_views,
        first_seen=state.first_seen,
        last_seen=state.last_seen,
    )


def stage_changes(model: ScoringModel, state: LeadScore, repo: LeadRepository) -> list[LeadStageChanged]:
    """The events to publish for the transitions carried by one STATE record."""
    if not state.transitions:
        return []
    profile = repo.load_profile(state.lead_id)

    def event(t: Transition) -> LeadStageChanged:
        return LeadStageChanged(
            transition_id=t.id,
            lead_id=state.lead_id,
            from_stage=t.from_stage.value,
            to_stage=t.to_stage.value,
            changed_at=t.at.astimezone(UTC) if t.at.tzinfo else t.at.replace(tzinfo=UTC),
            card=lead_card(model, state, profile, t.score),
        )

    return [event(t) for t in state.transitions]
