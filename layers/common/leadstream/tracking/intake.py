"""The Segment API's use cases: who may send, what is dropped before anything is stored, what a batch
accepts. TrackFunction parses HTTP, calls one of these, and answers with what they return.

Rules, in order: the write key and origin name the source (401/403); a browser's Do-Not-Track or Global
Privacy Control drops the call when the source honours them; a bot's or crawler's call is counted, not
stored; in a batch each message is checked on its own, so one bad message never costs the good ones.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from leadstream.platform.errors import BadRequest, validation_details
from leadstream.platform.http import RequestFacts
from leadstream.sources.directory import SourceDirectory
from leadstream.sources.model import Source
from leadstream.sources.repository import SourceRepository
from leadstream.tracking.bots import is_bot
from leadstream.tracking.ingest import Ingest, Request
from leadstream.tracking.segment import MAX_MESSAGE_BYTES, Batch, Message, MessageType


def visitor_user_agent(message: dict[str, Any], facts: RequestFacts) -> str | None:
    """The visitor's user agent: `context.userAgent`, or the request's own when a browser sent it directly
    (it has an Origin). A server-side SDK's HTTP user agent is the library's, not the visitor's."""
    context = message.get("context")
    given = context.get("userAgent") if isinstance(context, dict) else None
    if isinstance(given, str):
        return given
    return facts.user_agent if facts.origin else None


@dataclass
class Accepted:
    """What a call or batch came to: the response and the counts the handler reports as metrics."""

    valid: int = 0  # messages taken (a group or alias call stores no event, but is taken)
    stored: int = 0  # behaviour events written
    deduplicated: int = 0  # retries of a message stored before
    bots: int = 0  # counted, not stored
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
    if len(json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode()) > MAX_MESSAGE_BYTES:
        raise BadRequest(f"message is larger than {MAX_MESSAGE_BYTES} bytes")
    own_context = item.get("context") or {}
    if not isinstance(own_context, dict):
        raise BadRequest("'context' must be an object")
    merged = {**item, "context": {**batch.context, **own_context}}
    if batch.sent_at and "sentAt" not in merged:
        merged["sentAt"] = batch.sent_at
    return Message.model_validate(merged), merged


class Intake:
    def __init__(self, directory: SourceDirectory, sources: SourceRepository, ingest: Ingest) -> None:
        self.directory = directory
        self.sources = sources
        self.ingest = ingest

    def _request(self, facts: RequestFacts) -> Request:
        source = self.directory.authenticate(facts.write_key, facts.origin, facts.received_at)
        return Request(source, facts.received_at, facts.source_ip)

    def _count_bots(self, source: Source, facts: RequestFacts, hits: int) -> None:
        if hits:
            self.sources.count_bots(source.id, facts.received_at.date(), hits)

    def single(self, call: MessageType, body: dict[str, Any], facts: RequestFacts) -> Accepted:
        """One call (identify, track, page, screen, group, alias) at its own endpoint."""
        req = self._request(facts)
        sent = body.get("type")
        if sent is not None and sent != call:
            raise BadRequest(f"type {sent!r} does not match this endpoint, which takes {call!r} calls")
        message = Message.model_validate({**body, "type": call})
        if req.source.opted_out(facts.do_not_track):
            return Accepted(opted_out=True)
        if is_bot(visitor_user_agent(body, facts)):
            self._count_bots(req.source, facts, 1)
            return Accepted(bots=1)
        recorded = self.ingest.message(message, req)
        return Accepted(valid=1, stored=1) if recorded.stored else Accepted(valid=1, deduplicated=1)

    def batch(self, raw: dict[str, Any], facts: RequestFacts) -> Accepted:
        """Many calls: the good ones are stored, the bad ones listed by index (400 only if none is good)."""
        batch = Batch.model_validate(raw)
        req = self._request(facts)
        if req.source.opted_out(facts.do_not_track):
            return Accepted(opted_out=True)
        outcome = Accepted()
        messages: list[Message] = []
        for index, item in enumerate(batch.batch):
            try:
                message, merged = _message(item, batch)
            except ValidationError as exc:
                outcome.rejected.append({"index": index, "details": validation_details(exc)})
                continue
            except BadRequest as exc:
                outcome.rejected.append({"index": index, "details": [{"field": "body", "problem": str(exc)}]})
                continue
            if is_bot(visitor_user_agent(merged, facts)):
                outcome.bots += 1
            else:
                messages.append(message)
        if not messages and not outcome.bots:
            raise BadRequest("no message in the batch is valid", details=outcome.rejected)
        self._count_bots(req.source, facts, outcome.bots)
        outcome.valid = len(messages)
        outcome.stored = self.ingest.batch(messages, req)
        return outcome
