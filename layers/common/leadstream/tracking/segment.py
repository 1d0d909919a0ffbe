"""The Segment HTTP tracking API as we accept it: its calls, limits and request models (Segment's
field names)."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.networks import validate_email

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_MESSAGES = 2500

MessageType = Literal["page", "track", "identify", "screen", "group", "alias"]

# The calls by the last segment of their path: Segment's long names and analytics.js' short ones.
# (template.yaml says which paths reach TrackFunction; this says what each of them means.)
SINGLE_CALLS: dict[str, MessageType] = {
    "identify": "identify",
    "i": "identify",
    "track": "track",
    "t": "track",
    "page": "page",
    "p": "page",
    "screen": "screen",
    "s": "screen",
    "group": "group",
    "g": "group",
    "alias": "alias",
    "a": "alias",
}
BATCH_CALLS = frozenset({"batch", "b", "import"})


def _clipper(limit: int) -> Any:
    return BeforeValidator(lambda v: v[:limit] if isinstance(v, str) else v)


# Descriptive text is clipped to what we keep, never a reason to reject a message (identifiers still are).
Text50 = Annotated[str, _clipper(50)]
Text100 = Annotated[str, _clipper(100)]
Text200 = Annotated[str, _clipper(200)]
Text512 = Annotated[str, _clipper(512)]
Text1024 = Annotated[str, _clipper(1024)]
Text2048 = Annotated[str, _clipper(2048)]


def _email(value: str) -> str:
    """pydantic's EmailStr check (the email-validator package), loaded on the first e-mail to check rather
    than at every cold start: most calls (page views) carry none."""
    return validate_email(value)[1]


Email = Annotated[str, AfterValidator(_email)]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")


class PageContext(_Camel):
    path: Text2048 | None = None
    url: Text2048 | None = None
    referrer: Text2048 | None = None
    title: Text512 | None = None
    search: Text2048 | None = None


class Context(_Camel):
    page: PageContext = Field(default_factory=PageContext)
    campaign: dict[str, str] = Field(default_factory=dict)
    user_agent: Text1024 | None = None
    ip: str | None = Field(default=None, max_length=64)

    @field_validator("campaign", mode="before")
    @classmethod
    def _text_values(cls, value: object) -> object:
        """UTM values are text; SDKs sometimes send numbers or nulls, which say nothing here."""
        if isinstance(value, dict):
            return {str(k): str(v)[:200] for k, v in value.items() if isinstance(v, str | int | float)}
        return value


class Contact(_Camel):
    """Contact details, as identify traits and as form fields."""

    name: Text200 | None = None
    first_name: Text100 | None = None
    last_name: Text100 | None = None
    title: Text200 | None = None
    company: Text200 | None = None
    phone: Text50 | None = None

    @property
    def full_name(self) -> str | None:
        return self.name or " ".join(p for p in (self.first_name, self.last_name) if p) or None


class Traits(Contact):
    email: Email | None = None
    # group calls: the organisation
    website: Text512 | None = None
    domain: Text200 | None = None
    industry: Text200 | None = None
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
    event: Text200 | None = Field(default=None, min_length=1)
    name: Text200 | None = None
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
        """When it happened, by the device's clock (`originalTimestamp`, or `timestamp` as analytics.js,
        analytics-python and analytics-node send it) corrected for the device's clock skew when `sentAt`
        is given: receivedAt - (sentAt - device time). Never in the future."""
        device_time = self.original_timestamp or self.timestamp
        if device_time is None:
            return received_at
        at = received_at - (self.sent_at - device_time) if self.sent_at is not None else device_time
        return min(at, received_at)


class Batch(_Camel):
    batch: list[Any] = Field(min_length=1, max_length=MAX_BATCH_MESSAGES)  # each checked on its own
    context: dict[str, Any] = Field(default_factory=dict)
    sent_at: str | None = None  # copied into each message that has none
    write_key: str | None = Field(default=None, exclude=True)


class FormSubmission(Contact):
    """A form post: from a plain HTML <form> (urlencoded) or from JavaScript (JSON).

    Fields other than these are accepted and ignored: nothing a form sends is stored unless listed here.
    """

    email: Email
    anonymous_id: str | None = Field(default=None, max_length=200)
    message_id: str | None = Field(default=None, max_length=200)
    page_path: str | None = Field(default=None, max_length=2048)
    write_key: str | None = Field(default=None, exclude=True)
    # Where a plain HTML form is sent after submitting: must be on an allowed origin.
    next: str | None = Field(default=None, alias="_next", max_length=2048)
