"""What the archive keeps of the leads table's history, and where it keeps it (pure).

One archived record is one line of JSON: `kind` (event, transition, merge, unmerge, handover), `lead_id`,
`item` (the table item's sort key: with kind and lead, the record's identity), `at` (when it happened),
`stored` (when the table stored it: the record's day and its order), `seq` (the stream sequence number),
and the kind's own fields, flat (the Glue table's columns). Nothing personal: no e-mail, name, phone or IP.

Layout: `events/leadhash=<NN>/dt=<YYYY-MM-DD>/<first seq>-<last seq>.json.gz`. `leadhash` is a hash of the
lead id in LEAD_HASHES buckets, so erasing a person rewrites objects of their leads' buckets only; `dt` is
the UTC day the record was stored. A key names the stream sequence numbers of its first and last record:
a batch delivered again writes the same keys with the same bytes.
"""

import gzip
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

PREFIX = "events/"
LEAD_HASHES = 16  # fixed: erasure finds a lead's records by it (changing it means moving the archive)
KINDS = ("event", "transition", "merge", "unmerge", "handover")
_COMMON = ("kind", "lead_id", "item", "at", "stored", "seq")


@dataclass(frozen=True)
class ArchivedRecord:
    kind: str
    lead_id: str
    item: str  # the item's sort key (EVT#<message id>, TRANS#<n>, MERGE#<lead>, HELD#<lead>)
    at: float  # epoch seconds: when it happened
    stored: float  # epoch seconds: when the leads table stored it
    seq: str  # the stream record's sequence number
    fields: dict[str, Any] = field(default_factory=dict)  # the kind's own (JSON values)

    @property
    def identity(self) -> tuple[str, str, str]:
        """The same table change delivered twice is one record (readers drop the second)."""
        return self.kind, self.lead_id, self.item

    @property
    def day(self) -> date:
        return datetime.fromtimestamp(self.stored, UTC).date()

    @property
    def lead_hash(self) -> int:
        return lead_hash(self.lead_id)

    def leads(self) -> set[str]:
        """Every lead id the record names: its own, and the other lead of a merge or hand-over."""
        other = self.fields.get("into") or self.fields.get("device_lead")
        return {self.lead_id, other} if isinstance(other, str) else {self.lead_id}

    def to_json(self) -> str:
        common = {name: getattr(self, name) for name in _COMMON}
        return json.dumps({**common, **self.fields}, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, line: str) -> "ArchivedRecord":
        data = json.loads(line)
        common = {name: data.pop(name) for name in _COMMON}
        return cls(**common, fields=data)

    def order(self) -> tuple[float, int, str]:
        return self.stored, int(self.seq) if self.seq.isdigit() else 0, self.item


def lead_hash(lead_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(lead_id.encode(), digest_size=4).digest()) % LEAD_HASHES


def hash_prefix(hashed: int) -> str:
    return f"{PREFIX}leadhash={hashed:02d}/"


def partition(hashed: int, day: date) -> str:
    return f"{hash_prefix(hashed)}dt={day.isoformat()}/"


def day_of_key(key: str) -> date | None:
    """The day of an object key of the layout (None for anything else)."""
    for part in key.split("/"):
        if part.startswith("dt="):
            try:
                return date.fromisoformat(part.removeprefix("dt="))
            except ValueError:
                return None
    return None


def object_key(records: list[ArchivedRecord]) -> str:
    """The key of one object: the partition of its records (all in one) and their first and last sequence
    numbers, so the same records always make the same key."""
    first = records[0]
    return f"{partition(first.lead_hash, first.day)}{first.seq}-{records[-1].seq}.json.gz"


def group(records: Iterable[ArchivedRecord]) -> dict[str, list[ArchivedRecord]]:
    """Records (in stream order) as objects: key -> its records, one object per partition."""
    parts: dict[tuple[int, date], list[ArchivedRecord]] = {}
    for record in records:
        parts.setdefault((record.lead_hash, record.day), []).append(record)
    return {object_key(rs): rs for rs in parts.values()}


def encode(records: Iterable[ArchivedRecord]) -> bytes:
    """gzip-compressed JSON lines, byte for byte the same for the same records (no time in the header)."""
    text = "".join(record.to_json() + "\n" for record in records)
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def decode(body: bytes) -> list[ArchivedRecord]:
    text = gzip.decompress(body).decode()
    return [ArchivedRecord.from_json(line) for line in text.splitlines() if line]


def in_order(records: Iterable[ArchivedRecord]) -> list[ArchivedRecord]:
    """One day's records, each once (a batch written twice in other shapes holds some twice), in the order
    the table stored them."""
    unique: dict[tuple[str, str, str], ArchivedRecord] = {}
    for record in records:
        unique.setdefault(record.identity, record)
    return sorted(unique.values(), key=ArchivedRecord.order)
