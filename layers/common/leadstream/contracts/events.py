"""Events Leadstream publishes on its EventBridge bus. This is a public contract: add, never rename."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

SOURCE = "leadstream"
STAGE_CHANGED = "Lead Stage Changed"


class CardReason(BaseModel):
    label: str
    points: int


class CardTouch(BaseModel):
    channel: str
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    landing_path: str | None = None


class LeadCard(BaseModel):
    """What a sales rep needs to act on a lead within minutes, and why it was sent."""

    lead_id: str
    name: str | None = None
    email: str | None = None
    title: str | None = None
    company: str | None = None
    account: str | None = None
    score: float
    stage: str
    reasons: list[CardReason] = Field(default_factory=list)
    first_touch: CardTouch | None = None
    last_touch: CardTouch | None = None  # of the latest visit that did not come direct
    sessions: int = 0
    page_views: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None


class LeadStageChanged(BaseModel):
    """detail of a 'Lead Stage Changed' event; transition_id is unique per transition (idempotency key)."""

    version: Literal[1] = 1
    transition_id: str
    lead_id: str
    from_stage: str
    to_stage: str
    changed_at: datetime
    card: LeadCard
