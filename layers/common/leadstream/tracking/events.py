"""A behaviour event as the domain sees it: what a lead did, when, and nothing personal."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from leadstream.tracking.attribution import Touch


class EventType(StrEnum):
    PAGE = "page"
    SCREEN = "screen"
    TRACK = "track"
    IDENTIFY = "identify"
    FORM = "form"
    EMAIL_OPEN = "email_open"
    EMAIL_CLICK = "email_click"


@dataclass(frozen=True)
class BehaviourEvent:
    message_id: str
    type: EventType
    at: datetime
    name: str | None = None  # track event name or page name
    path: str | None = None  # page path
    title: str | None = None  # a page's document title (what the LeadCard's timeline shows): data, not markup
    form_id: str | None = None
    # Non-personal traits that fit rules look at (e-mail kind, job title, company size, ...).
    fit_traits: dict[str, str] = field(default_factory=dict)
    touch: Touch | None = None
    source_id: str | None = None  # the website or app it came from
    ip: str | None = None  # already anonymised as the source's privacy settings say
    # the registrable domain of the business behind the visitor's network (firmographics), looked up
    # before the address was anonymised; never an ISP's, a host's, a VPN's or a campus's
    company: str | None = None
