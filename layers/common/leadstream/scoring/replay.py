"""Replay guards: a stream record is applied to a lead's score exactly once, whatever is redelivered.

`seq` is the last record applied from the lead's own partition (records of one partition arrive in order),
`absorbed[lead]` the last record forwarded from a merged lead's partition, and `version` makes each write
conditional on the read, so two writers never both apply. Sequence numbers are compared zero-padded,
as strings of one width.
"""

from dataclasses import dataclass
from datetime import datetime

from leadstream.scoring.score import LeadScore

SEQUENCE_WIDTH = 48


def padded(seq: str) -> str:
    return seq.zfill(SEQUENCE_WIDTH)


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

    @classmethod
    def new(cls, lead_id: str) -> "StoredScore":
        return cls(LeadScore(lead_id=lead_id), None, {}, None, None)

    def applied(self, seq: str, from_lead: str | None = None) -> bool:
        """Whether a record was applied already: of this lead's own partition, or forwarded `from_lead`."""
        done = self.seq if from_lead is None else self.absorbed.get(from_lead)
        return done is not None and padded(seq) <= done
