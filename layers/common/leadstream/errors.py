"""Domain exceptions. Data access raises these; each entry point maps them in one place."""

from typing import Any

from pydantic import ValidationError


class LeadstreamError(Exception):
    """Base class."""


class StoreUnavailable(LeadstreamError):
    """DynamoDB throttled, timed out or failed: nothing was lost, the caller should retry."""


class ConcurrentUpdate(LeadstreamError):
    """Another writer changed the item first; retry from a fresh read."""


class PublishFailed(LeadstreamError):
    """EventBridge did not accept an event; the stream record will be retried."""


class NotifyFailed(LeadstreamError):
    """A notification channel failed; EventBridge retries and finally parks the event in a DLQ."""


class InvalidEvent(LeadstreamError):
    """An incoming event does not match its contract. The message names fields, never their values."""


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Field and problem for each error, never the rejected value (it may be an e-mail address)."""
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]


def invalid_event(exc: ValidationError, what: str) -> InvalidEvent:
    problems = "; ".join(f"{d['field']}: {d['problem']}" for d in validation_details(exc))
    return InvalidEvent(f"not a valid {what}: {problems}")
