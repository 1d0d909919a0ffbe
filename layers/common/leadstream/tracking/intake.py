"""The Segment API's use cases: who may send, what is dropped before anything is stored, what a batch
accepts. TrackFunction parses HTTP, calls one of these, and answers with what they return.

Rules, in order: the write key and origin name the source (401/403; /v1/import only for a source that
allows import); a browser's Do-Not-Track or Global Privacy Control drops the call when the source honours
them; a bot's or crawler's call is counted, not stored; in a batch each message is checked on its own, so
one bad message never costs the good ones. A message that records behaviour must say when it happened in
a way that can be scored: within LIVE_HISTORY of its receipt on the live endpoints, since 1970 on import.
Counting bots is a side concern: when it fails, the call still succeeds.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from leadstream.platform.errors import BadRequest, Forbidden, StoreUnavailable, validation_details
from leadstream.platform.http import RequestFacts, check_json
from leadstream.platform.observability import logger
from leadstream.sources.directory import SourceDirectory
from leadstream.sources.model import Source
from leadstream.sources.repository import SourceRepository
from leadstream.tracking.bots import is_bot
from leadstream.tracking.ingest import Ingest, Request
from leadstream.tracking.segment import (
    EARLIEST,
    LIVE_HISTORY,
    MAX_MESSAGE_BYTES,
    MAX_MESSAGE_DEPTH,
    Batch,
    Message,
    MessageType,
)

_NO_EVENT: frozenset[MessageType] = frozenset({"group", "alias"})  # they store no behaviour event


def visitor_user_agent(message: dict[str, Any], facts: RequestFacts) -> str | None:
    """The visitor's user agent: `context.userAgent`, or the request's own when a browser sent it directly
    (it has an Origin). A server-side SDK's HTTP user agent is the library's, not the visitor's."""
    context = message.get("context")
    given = context.get("userAgent") if isinstance(context, dict) else None
    if isinstance(given, str):
        return given
    return facts.user_agent if facts.origin else None


def check_time(message: Message, received_at: datetime, *, history: bool) -> None:
    """BadRequest, naming the field, unless the message's time can be scored: its clock correction stays
    in the calendar and, for messages that record behaviour, it is no older than LIVE_HISTORY (on the live
    endpoints) or 1970 (history on /v1/import). A time after the receipt is taken as the receipt."""
    field = message.time_field
    try:
        at = message.occurred_at(received_at)
    except ValueError as exc:
        raise BadRequest(f"{field} {exc}", details=[{"field": field, "problem": str(exc)}]) from exc
    if message.type in _NO_EVENT:
        return
    oldest = EARLIEST if history else received_at - LIVE_HISTORY
    if at < oldest:
        problem = (
            "is before 1970"
            if history
            else f"is more than {LIVE_HISTORY.days} days old: history goes to /v1/import, with a source "
            "that allows import"
        )
        raise BadRequest(f"{field} {problem}", details=[{"field": field, "problem": problem}])


@dataclass
class Accepted:
    """What a call or batch came to: the response and the counts the handler reports as metrics."""

    valid: int = 0  # messages taken (a group or alias call stores no event, but is taken)
    stored: int = 0  # behaviour events written
    deduplicated: int = 0  # retries of a message stored before
    bots: int = 0  # counted, not stored
    bots_uncounted: int = 0  # bot hits the counter could not take (throttled): logged, not retried
    opted_out: bool = False
    rejected: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.valid + self.bots


def _message(item: object, batch: Batch) -> tuple[Message, dict[str, Any]]:
    """One message of a batch, with the batch's context and sentAt where it has none of its own (and the
    raw message so merged)."""
    if not isinstance(item, dict):
        raise BadRequest("a message must be a JSON object")
    own_context = item.get("context") or {}
    if not isinstance(own_context, dict):
        raise BadRequest("'context' must be an object")
    merged = {**item, "context": {**batch.context, **own_context}}
    if batch.sent_at and "sentAt" not in merged:
        merged["sentAt"] = batch.sent_at
    check_json(merged, MAX_MESSAGE_DEPTH)
    size = len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise BadRequest(f"message is larger than {MAX_MESSAGE_BYTES} bytes")
    return Message.model_validate(merged), merged


def _rejection(index: int, exc: ValidationError | BadRequest) -> dict[str, Any]:
    if isinstance(exc, ValidationError):
        return {"index": index, "details": validation_details(exc)}
    return {"index": index, "details": exc.details or [{"field": "body", "problem": str(exc)}]}


class Intake:
    def __init__(self, directory: SourceDirectory, sources: SourceRepository, ingest: Ingest) -> None:
        self.directory = directory
        self.sources = sources
        self.ingest = ingest

    def _request(self, facts: RequestFacts) -> Request:
        source = self.directory.authenticate(facts.write_key, facts.origin, facts.received_at)
        return Request(source, facts.received_at, facts.source_ip, browser=facts.origin is not None)

    def _count_bots(self, source: Source, facts: RequestFacts, hits: int) -> int:
        """Count bot hits; how many could not be counted (the counter is never worth failing a call)."""
        if not hits:
            return 0
        try:
            self.sources.count_bots(source.id, facts.received_at.date(), hits)
        except StoreUnavailable as exc:
            logger.warning("bot hits not counted", source_id=source.id, hits=hits, reason=str(exc))
            return hits
        return 0

    def single(self, call: MessageType, body: dict[str, Any], facts: RequestFacts) -> Accepted:
        """One call (identify, track, page, screen, group, alias) at its own endpoint. `body` was checked
        by `check_json` (depth, numbers) when it was read."""
        req = self._request(facts)
        sent = body.get("type")
        if sent is not None and sent != call:
            raise BadRequest(f"type {sent!r} does not match this endpoint, which takes {call!r} calls")
        message = Message.model_validate({**body, "type": call})
        check_time(message, facts.received_at, history=False)
        if req.source.opted_out(facts.do_not_track):
            return Accepted(opted_out=True)
        if is_bot(visitor_user_agent(body, facts)):
            return Accepted(bots=1, bots_uncounted=self._count_bots(req.source, facts, 1))
        recorded = self.ingest.message(message, req)
        return Accepted(valid=1, stored=1) if recorded.stored else Accepted(valid=1, deduplicated=1)

    def batch(self, raw: dict[str, Any], facts: RequestFacts, *, history: bool = False) -> Accepted:
        """Many calls: the good ones are stored, the bad ones listed by index (400 only if none is good).
        `history`: /v1/import, which takes events of any age since 1970 from a source that allows it."""
        req = self._request(facts)
        if history and not req.source.allow_import:
            raise Forbidden(
                "this source may not import history: /v1/batch takes recent events, /v1/import needs a "
                "source created with import allowed"
            )
        batch = Batch.model_validate(raw)
        if req.source.opted_out(facts.do_not_track):
            return Accepted(opted_out=True)
        outcome = Accepted()
        messages: list[Message] = []
        for index, item in enumerate(batch.batch):
            try:
                message, merged = _message(item, batch)
                check_time(message, facts.received_at, history=history)
            except (ValidationError, BadRequest) as exc:
                outcome.rejected.append(_rejection(index, exc))
                continue
            if is_bot(visitor_user_agent(merged, facts)):
                outcome.bots += 1
            else:
                messages.append(message)
        if not messages and not outcome.bots:
            raise BadRequest("no message in the batch is valid", details=outcome.rejected)
        outcome.bots_uncounted = self._count_bots(req.source, facts, outcome.bots)
        outcome.valid = len(messages)
        outcome.stored = self.ingest.batch(messages, req)
        return outcome
