"""Erasing people from the archive (`people erase`): every archived record that names one of their lead
ids goes, and nothing else.

A lead's records are all under its lead hash (a merge and an unmerge are kept under the lead merged, a
hand-over under the lead that got the device), so only the objects of the person's lead hashes are read
(1/LEAD_HASHES of the archive per hash, whatever its days), and only those that held them are written
again without them (or deleted, when nothing else was in them). The bucket keeps no object versions, so
what is overwritten is gone.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from leadstream.archive.records import decode, encode, hash_prefix, lead_hash
from leadstream.archive.store import ArchiveStore


@dataclass(frozen=True)
class ArchiveErased:
    records: int  # archived records removed
    objects: int  # objects rewritten or deleted
    read: int  # objects read


class ArchiveErasure:
    def __init__(self, store: ArchiveStore) -> None:
        self.store = store

    def erase(self, lead_ids: Iterable[str], events: Iterable[tuple[str, str]] = ()) -> ArchiveErased:
        """Remove every record that names one of `lead_ids`, and the event records `events` ((lead id,
        item) pairs: a shared device's events stored while the person held it, on a lead that is not
        theirs alone)."""
        leads, items = set(lead_ids), set(events)
        removed = changed = read = 0
        for hashed in sorted({lead_hash(lead) for lead in leads | {lead for lead, _ in items}}):
            for key in list(self.store.keys(hash_prefix(hashed))):
                records = decode(self.store.get(key))
                read += 1
                kept = [r for r in records if not (r.leads() & leads or (r.lead_id, r.item) in items)]
                if len(kept) == len(records):
                    continue
                if kept:
                    self.store.put(key, encode(kept))
                else:
                    self.store.delete(key)
                removed += len(records) - len(kept)
                changed += 1
        return ArchiveErased(removed, changed, read)
