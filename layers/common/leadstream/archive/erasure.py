"""Erasing people from the archive (`people erase`): every archived record that names one of their lead
ids goes, and nothing else.

A lead's records are all under its lead hash (a merge and an unmerge are kept under the lead merged, a
hand-over under the lead that got the device), so only the objects of the person's lead hashes are read
(1/LEAD_HASHES of the archive per hash, whatever its days), and only those that held them are written
again without them (or deleted, when nothing else was in them). The bucket keeps no object versions, so
what is overwritten is gone.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from leadstream.archive.records import ArchivedRecord, decode, encode, hash_prefix, lead_hash
from leadstream.archive.store import ArchiveStore


@dataclass(frozen=True)
class ArchiveErased:
    records: int  # archived records removed
    objects: int  # objects rewritten or deleted
    read: int  # objects read


class ArchiveErasure:
    def __init__(self, store: ArchiveStore) -> None:
        self.store = store

    def _objects(
        self, leads: set[str], items: set[tuple[str, str]]
    ) -> Iterator[tuple[str, list[ArchivedRecord], list[ArchivedRecord]]]:
        """(key, its records, those of them about the person) for every object of their leads' hashes."""
        for hashed in sorted({lead_hash(lead) for lead in leads | {lead for lead, _ in items}}):
            for key in list(self.store.keys(hash_prefix(hashed))):
                records = decode(self.store.get(key))
                yield key, records, [r for r in records if r.leads() & leads or (r.lead_id, r.item) in items]

    def find(self, lead_ids: Iterable[str], events: Iterable[tuple[str, str]] = ()) -> list[ArchivedRecord]:
        """The records `erase` would remove (`people export`), each once, in the order stored."""
        found = [r for _, _, theirs in self._objects(set(lead_ids), set(events)) for r in theirs]
        return sorted({r.identity: r for r in found}.values(), key=ArchivedRecord.order)

    def erase(self, lead_ids: Iterable[str], events: Iterable[tuple[str, str]] = ()) -> ArchiveErased:
        """Remove every record that names one of `lead_ids`, and the event records `events` ((lead id,
        item) pairs: a shared device's events stored while the person held it, on a lead that is not
        theirs alone)."""
        removed = changed = read = 0
        for key, records, theirs in self._objects(set(lead_ids), set(events)):
            read += 1
            if not theirs:
                continue
            kept = [r for r in records if r not in theirs]
            if kept:
                self.store.put(key, encode(kept))
            else:
                self.store.delete(key)
            removed += len(records) - len(kept)
            changed += 1
        return ArchiveErased(removed, changed, read)
