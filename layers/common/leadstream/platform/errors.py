"""Every Leadstream exception, in one place. Data access raises these (never a PynamoDB or botocore error);
each entry point maps them once: HTTP statuses in `platform.http`, stream failures in the consumers."""

from typing import Any

from pydantic import ValidationError


class LeadstreamError(Exception):
    """Base class."""


# --- faults: nothing was lost, the caller (client, stream, bus) retries ---------------------------------


class StoreUnavailable(LeadstreamError):
    """DynamoDB throttled, timed out or failed: nothing was lost, the caller should retry."""


class ConcurrentUpdate(LeadstreamError):
    """Another writer changed the item first; retry from a fresh read."""


class SecretUnavailable(LeadstreamError):
    """Secrets Manager did not answer with a secret; the caller degrades or retries."""


class PublishFailed(LeadstreamError):
    """EventBridge did not accept an event; the stream record will be retried."""


class NotifyFailed(LeadstreamError):
    """A notification channel failed; EventBridge retries and finally parks the event in a DLQ."""


class ArchiveUnavailable(LeadstreamError):
    """S3 did not store or return an archive object: nothing was lost, the stream or the operator retries."""


class SchedulerUnavailable(LeadstreamError):
    """EventBridge Scheduler did not create or delete an SLA timer; the caller retries (nothing was lost)."""


class ModelNotUsable(LeadstreamError):
    """A model artifact a function is configured with cannot be used: missing, not valid, or made for
    another scoring model. Raised at cold start, so the function fails loudly; the message says which and
    what to do."""


# --- the caller's mistakes: answered with a 4xx, nothing stored -----------------------------------------


class BadRequest(LeadstreamError):
    """The caller sent something we cannot accept; the message says what (HTTP 400)."""

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


class Unauthorized(LeadstreamError):
    """No write key, an unknown one, a retired one, or one of a disabled source; no signed-in user (401)."""


class Forbidden(LeadstreamError):
    """The key is fine but the page calling is not on the source's allowed origins; the signed-in user's
    role may not do this (HTTP 403)."""


class NotFound(LeadstreamError):
    """No such thing at this address (HTTP 404)."""


class CannotUnmerge(LeadstreamError):
    """A merge an operator asked to undo that cannot be: not recorded, or recorded before merges kept what
    undoing them needs. The message says which."""


class MergedLead(LeadstreamError):
    """The lead asked for was merged into another: its card is that one's (HTTP 308 to it)."""

    def __init__(self, lead_id: str, root: str) -> None:
        super().__init__(f"lead {lead_id!r} was merged into lead {root!r}")
        self.lead_id, self.root = lead_id, root


class MoveNotAllowed(LeadstreamError):
    """A lifecycle move the lead's stage does not allow, or a move to opportunity before the active
    qualification framework's required criteria are answered (HTTP 409). Says the lead's stage, the moves
    allowed from it and, for opportunity, the criteria still missing."""

    def __init__(
        self, message: str, stage: str, allowed: list[str], missing: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.stage, self.allowed, self.missing = stage, allowed, missing or []


class DuplicateRequest(LeadstreamError):
    """The same request (a double click on a Slack button) is being acted on already: the first answers."""


class InvalidEvent(LeadstreamError):
    """An incoming event does not match its contract. The message names fields, never their values."""


class InvalidModelFile(LeadstreamError):
    """A scoring model file an operator named cannot be read or does not validate; the message names the
    file and the rule (the field) that fails."""


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Field and problem for each error, never the rejected value (it may be an e-mail address)."""
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
        for e in exc.errors(include_input=False, include_url=False)
    ]


def invalid_event(exc: ValidationError, what: str) -> InvalidEvent:
    problems = "; ".join(f"{d['field']}: {d['problem']}" for d in validation_details(exc))
    return InvalidEvent(f"not a valid {what}: {problems}")
