"""The Segment HTTP tracking API as we accept it: its calls, limits and request models (Segment's
field names).

Text is checked where it comes in. Identifiers (anonymousId, userId, messageId, previousId, groupId, a
form's anonymousId, messageId and _next) are refused, naming the field, when they hold a control
character, a bidirectional-formatting character or an unpaired surrogate; descriptive text (names,
titles, paths, URLs, campaign values, event names) has those characters removed (tabs and line breaks
become spaces) and is clipped to what we keep.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError

from leadstream.identity.identifiers import account_domain, ascii_domain

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_MESSAGES = 2500
MAX_MESSAGE_DEPTH = 32  # objects and arrays nested in a message (the message itself is level 1)
# How old an event sent to the live endpoints may be (after the device's clock is corrected); anything
# older is history, which only /v1/import takes, from a source that allows it. Events are never dated
# after they were received (a device clock ahead is clamped to the receipt).
LIVE_HISTORY = timedelta(days=7)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # the oldest history /v1/import takes

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


# Never stored: C0 and C1 controls, Arabic letter mark, LRM/RLM, line and paragraph separators, bidi
# embeddings, overrides and isolates, unpaired surrogates (JSON's "\ud800") and U+FFFE/U+FFFF.
UNSAFE_TEXT = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_BREAKS = re.compile("[\t\n\r\u2028\u2029]")


def clean_text(value: str) -> str:
    """Descriptive text as we store it: tabs and line breaks become spaces, the rest of UNSAFE_TEXT goes."""
    if UNSAFE_TEXT.search(value) is None:
        return value
    return UNSAFE_TEXT.sub("", _BREAKS.sub(" ", value))


def _clipper(limit: int) -> Any:
    return BeforeValidator(lambda v: clean_text(v)[:limit] if isinstance(v, str) else v)


def _identifier(value: str) -> str:
    if UNSAFE_TEXT.search(value):
        raise PydanticCustomError(
            "unsafe_text",
            "must not contain control or bidirectional-formatting characters or unpaired surrogates",
        )
    return value


# An identifier: refused (400 naming the field), never altered, when it holds what UNSAFE_TEXT names.
IdText = Annotated[str, AfterValidator(_identifier)]


# Descriptive text is clipped to what we keep, never a reason to reject a message (identifiers still are).
Text50 = Annotated[str, _clipper(50)]
Text100 = Annotated[str, _clipper(100)]
Text200 = Annotated[str, _clipper(200)]
Text512 = Annotated[str, _clipper(512)]
Text1024 = Annotated[str, _clipper(1024)]
Text2048 = Annotated[str, _clipper(2048)]


def _email(value: str) -> str:
    """pydantic's EmailStr check (the email-validator package), loaded on the first e-mail to check rather
    than at every cold start: most calls (page views) carry none. The domain comes back in its ASCII
    (IDNA) form, jane@bücher.de -> jane@xn--bcher-kva.de, as keys and accounts spell it."""
    local, _, domain = validate_email(value)[1].rpartition("@")
    try:
        return f"{local}@{ascii_domain(domain)}"
    except ValueError as exc:
        raise PydanticCustomError(
            "value_error", "value is not a valid email address: {reason}", {"reason": str(exc)}
        ) from exc


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
            return {
                clean_text(str(k)): clean_text(str(v))[:200]
                for k, v in value.items()
                if isinstance(v, str | int | float) and not isinstance(v, bool)
            }
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
    employees: Annotated[int, Field(ge=0, le=10**9)] | Text50 | None = None
    country: Text50 | None = None  # where the organisation is (a group call): the sales team it goes to


def group_account(traits: Traits, group_id: str | None) -> str:
    """The account a group call names: the registrable domain of `traits.domain` or of the website's host
    (lower-case ASCII, as e-mail accounts are), else the group id. ValueError when none names one."""
    website = traits.website
    host = None
    if website:
        try:
            host = urlsplit(website if "//" in website else f"https://{website}").hostname
        except ValueError:
            host = None
    if traits.domain or host:
        return account_domain(traits.domain or host or "")
    group = (group_id or "").strip().lower()
    if not group:
        raise ValueError("a group call needs traits.domain, traits.website or a groupId naming the account")
    return group


class Message(_Camel):
    """One call of the Segment HTTP tracking API: identify, track, page, screen, group or alias."""

    type: MessageType
    anonymous_id: IdText | None = Field(default=None, min_length=1, max_length=200)
    user_id: IdText | None = Field(default=None, min_length=1, max_length=200)
    message_id: IdText | None = Field(default=None, min_length=1, max_length=200)
    timestamp: datetime | None = None
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    previous_id: IdText | None = Field(default=None, min_length=1, max_length=200)  # alias
    group_id: IdText | None = Field(default=None, min_length=1, max_length=200)  # group
    integrations: dict[str, Any] = Field(default_factory=dict)
    event: Text200 | None = Field(default=None, min_length=1)
    name: Text200 | None = None
    properties: dict[str, Any] = Field(default_factory=dict)
    traits: Traits = Field(default_factory=Traits)
    context: Context = Field(default_factory=Context)

    @field_validator("timestamp", "original_timestamp", "sent_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """In UTC; a timestamp without a zone is taken as UTC (ISO 8601 from most SDKs has one). One that
        UTC cannot hold (0001-01-01T00:00:00+05:00 is in the year 0) is refused."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:
            raise ValueError("is outside the years 1 to 9999 in UTC") from exc

    @field_validator("traits")
    @classmethod
    def _group_account(cls, value: Traits, info: ValidationInfo) -> Traits:
        """A group call must name its account in a form a key can hold (see `group_account`)."""
        if info.data.get("type") == "group" and ("group_id" in info.data or value.domain or value.website):
            group_account(value, info.data.get("group_id"))  # (a refused groupId is named on its own)
        return value

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

    @property
    def time_field(self) -> str:
        """The field the device's time came in (what a refusal of that time names)."""
        return "originalTimestamp" if self.original_timestamp else "timestamp"

    def occurred_at(self, received_at: datetime) -> datetime:
        """When it happened, by the device's clock (`originalTimestamp`, or `timestamp` as analytics.js,
        analytics-python and analytics-node send it) corrected for the device's clock skew when `sentAt`
        is given: receivedAt - (sentAt - device time). Never in the future. ValueError when the correction
        leaves the calendar (a timestamp of the year 1 sent at the year 9999)."""
        device_time = self.original_timestamp or self.timestamp
        if device_time is None:
            return received_at
        try:
            at = received_at - (self.sent_at - device_time) if self.sent_at is not None else device_time
        except OverflowError as exc:
            raise ValueError("is too far from sentAt to be corrected for the device's clock") from exc
        return min(at, received_at)

    def account(self) -> str:
        """The account of a group call (validated with the message)."""
        return group_account(self.traits, self.group_id)


class Batch(_Camel):
    batch: list[Any] = Field(min_length=1, max_length=MAX_BATCH_MESSAGES)  # each checked on its own
    context: dict[str, Any] = Field(default_factory=dict)
    sent_at: Any = None  # copied into each message that has none (and checked there)
    write_key: Any = Field(default=None, exclude=True)  # the directory judges it


class FormSubmission(Contact):
    """A form post: from a plain HTML <form> (urlencoded) or from JavaScript (JSON).

    Fields other than these are accepted and ignored: nothing a form sends is stored unless listed here.
    """

    email: Email
    anonymous_id: IdText | None = Field(default=None, max_length=200)
    message_id: IdText | None = Field(default=None, max_length=200)
    page_path: Text2048 | None = None
    write_key: Any = Field(default=None, exclude=True)  # the directory judges it
    # Where a plain HTML form is sent after submitting: must be on an allowed origin.
    next: IdText | None = Field(default=None, alias="_next", max_length=2048)
