"""Replay guards: a stream record is applied to a lead's score exactly once, whatever is redelivered.

`seq` is the last record applied from the lead's own partition (records of one partition arrive in order),
`absorbed[lead]` the last record forwarded from a merged lead's partition, `lent[device]` the last record
forwarded from the partition of a device handed over to this lead, and `version` makes each write
conditional on the read, so two writers never both apply. Sequence numbers are compared zero-padded,
as strings of one width.

A rebuild (`scoring.rebuild`) scores a lead from its stored events instead of the stream. The events it
included that the stream may still deliver (stored within the stream's retention) are kept in `rebuilt`,
by a short hash of their message id, with when each was stored; a record whose event is there is skipped.
Entries older than the stream's retention are dropped on the next write: no record of theirs can come.
"""

import base64
import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from leadstream.predictive.model import Likelihood
from leadstream.scoring.score import LeadScore

SEQUENCE_WIDTH = 48
STREAM_RETENTION = timedelta(hours=24)  # a DynamoDB stream keeps a record this long


def padded(seq: str) -> str:
    return seq.zfill(SEQUENCE_WIDTH)


def message_key(message_id: str) -> str:
    """A message id in 11 characters (64 bits of a hash: no two of a lead's recent events collide)."""
    digest = hashlib.blake2b(message_id.encode(), digest_size=8).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@dataclass(frozen=True)
class StoredScore:
    """A lead's score as read, with its guards; `version` None means it has no STATE item yet."""

    score: LeadScore
    seq: str | None  # last own-partition sequence applied
    absorbed: dict[str, str]  # merged-in lead -> last sequence forwarded from it
    version: int | None
    merged_into: str | None  # set once the lead was handed over to another
    expires_at: datetime | None = None  # when the lead expires unless new activity moves it (retention)
    erased: bool = False  # a tombstone: the person was erased, nothing may score this lead again
    rebuilt: dict[str, int] = field(default_factory=dict)  # message key -> when stored (epoch seconds)
    handed: tuple[tuple[float, str], ...] = ()  # a device lead's hand-overs (identity's): (since, to lead)
    lent: dict[str, str] = field(default_factory=dict)  # device lead handed over -> last sequence from it
    # the sales workflow's fields of STATE, carried over by every write: owner, owner_at, sla
    sales: dict[str, Any] = field(default_factory=dict)
    # the predictive likelihood ScoreFunction stored with the score (None: none configured); other writers
    # (the sales workflow, a rebuild) carry it over
    likelihood: Likelihood | None = None

    @classmethod
    def new(cls, lead_id: str) -> "StoredScore":
        return cls(LeadScore(lead_id=lead_id), None, {}, None, None)

    def applied(self, seq: str, from_lead: str | None = None, lent: bool = False) -> bool:
        """Whether a record was applied already: of this lead's own partition, or forwarded `from_lead`
        (merged into this lead, or with `lent` a device handed over to it)."""
        done = self.seq if from_lead is None else (self.lent if lent else self.absorbed).get(from_lead)
        return done is not None and padded(seq) <= done

    def included(self, message_id: str) -> bool:
        """Whether a rebuild already counted this event (its stream record comes late, or again)."""
        return bool(self.rebuilt) and message_key(message_id) in self.rebuilt

    def pruned(self, now: datetime) -> "StoredScore":
        """Without the rebuilt entries the stream can no longer deliver."""
        oldest = (now - STREAM_RETENTION).timestamp()
        kept = {key: at for key, at in self.rebuilt.items() if at >= oldest}
        return self if len(kept) == len(self.rebuilt) else replace(self, rebuilt=kept)
