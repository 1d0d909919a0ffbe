"""Reading the archive back: every archived record of a period, in the order the leads table stored them.

What backtests, rescoring and reports build on. One listing per lead hash (S3 lists keys in order, so it
starts at the first day asked for and stops past the last), then day by day: that day's objects are read,
records delivered twice kept once, sorted by when they were stored. Memory holds one day's records.
"""

from collections.abc import Iterator
from datetime import date

from leadstream.archive.records import LEAD_HASHES, ArchivedRecord, day_of_key, decode, hash_prefix, in_order
from leadstream.archive.store import ArchiveStore


class ArchiveReader:
    def __init__(self, store: ArchiveStore) -> None:
        self.store = store

    def keys_by_day(self, since: date, until: date) -> dict[date, list[str]]:
        days: dict[date, list[str]] = {}
        for hashed in range(LEAD_HASHES):
            prefix = hash_prefix(hashed)
            for key in self.store.keys(prefix, start_after=f"{prefix}dt={since.isoformat()}"):
                day = day_of_key(key)
                if day is None or day < since:
                    continue
                if day > until:
                    break
                days.setdefault(day, []).append(key)
        return days

    def records(self, since: date, until: date) -> Iterator[ArchivedRecord]:
        """The records stored from the day `since` to the day `until` (both included, UTC), in order."""
        for _, keys in sorted(self.keys_by_day(since, until).items()):
            yield from in_order(record for key in keys for record in decode(self.store.get(key)))
