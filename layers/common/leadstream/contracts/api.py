"""Request models of the tracking API (Segment HTTP tracking API field names)."""

from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_MESSAGES = 2500

MessageType = Literal["page", "track", "identify", "screen", "group", "alias"]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class PageContext(_Camel):
    path: str | None = Field(default=None, max_length=2048)
    url: str | None = Field(default=None, max_length=4096)
    referrer: str | None = Field(default=None, max_length=4096)
    title: str | None = Field(default=None, max_length=512)
    search: str | None = Field(default=None, max_length=4096)


class Context(_Camel):
    page: PageContext = Field(default_factory=PageContext)
    campaign: dict[str, str] = Field(default_factory=dict)
    user_agent: str | None = Field(default=None, max_length=1024)
    ip: str | None = Field(default=None, max_length=64)


class Contact(_Camel):
    """Contact details, as identify traits and as form fields."""

    name: str | None = Field(default=None, max_length=200)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    title: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)

    @property
    def full_name(self) -> str | None:
        return self.name or " ".join(p for p in (self.first_name, self.last_name) if p) or None


class Traits(Contact):
    email: EmailStr | None = None
    # group calls: the organisation
    website: str | None = Field(default=None, max_length=512)
    domain: str | None = Field(default=None, max_length=255)
    industry: str | None = Field(default=None, max_length=200)
    employees: int | str | None = None


class Message(_Camel):
    """One call of the Segment HTTP tracking API: identify, track, page, screen, group or alias."""

    type: MessageType
    anonymous_id: str | None = Field(default=None, min_length=1, max_length=200)
    user_id: str | None = Field(default=None, min_length=1, max_length=200)
    message_id: str | None = Field(default=None, min_length=1, max_length=200)
    timestamp: datetime | None = None
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    previous_id: str | None = Field(default=None, min_length=1, max_length=200)  # alias
    group_id: str | None = Field(default=None, min_length=1, max_length=200)  # group
    integrations: dict[str, Any] = Field(default_factory=dict)
    event: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: Traits = Field(default_factory=Traits)
    context: Context = Field(default_factory=Context)

    @field_validator("timestamp", "original_timestamp", "sent_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """A timestamp without a zone is taken as UTC (ISO 8601 from most SDKs has one)."""
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @model_validator(mode="after")
    def _identified(self) -> Self:
        if self.type == "alias":
            if not self.previous_id or not self.user_id:
                raise ValueError("an alias call needs 'previousId' and 'userId'")
            return self
        if not self.anonymous_id and not self.user_id:
            raise ValueError("either anonymousId or userId is required")
        if self.type == "track" and not self.event:
            raise ValueError("a track call needs an 'event' name")
        if self.type == "group" and not self.group_id:
            raise ValueError("a group call needs a 'groupId'")
        return self

    def occurred_at(self, received_at: datetime) -> datetime:
        """When it happened: `timestamp` if the caller set one, else the device's time corrected for its
        clock skew (receivedAt - (sentAt - originalTimestamp)); never in the future."""
        if self.timestamp is not None:
            at = self.timestamp
        elif self.original_timestamp is not None and self.sent_at is not None:
            at = received_at - (self.sent_at - self.original_timestamp)
        else:
            at = self.original_timestamp or received_at
        return min(at, received_at)


class Batch(_Camel):
    batch: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH_MESSAGES)
    context: dict[str, Any] = Field(default_factory=dict)
    sent_at: str | None = None  # copied into each message that has none
    write_key: str | None = Field(default=None, exclude=True)


class FormSubmission(Contact):
    """A form post: from a plain HTML <form> (urlencoded) or from JavaScript (JSON).

    Fields other than these are accepted and ignored: nothing a form sends is stored unless listed here.
    """

    email: EmailStr
    anonymous_id: str | None = Field(default=None, max_length=200)
    message_id: str | None = Field(default=None, max_length=200)
    page_path: str | None = Field(default=None, max_length=2048)
    write_key: str | None = Field(default=None, exclude=True)
    # Where a plain HTML form is sent after submitting: must be on an allowed origin.
    next: str | None = Field(default=None, alias="_next", max_length=2048)
