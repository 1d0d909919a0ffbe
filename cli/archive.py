"""Reading the event archive from the command line: people's histories, with progress on stderr.

Shared by the commands that read the archive instead of scanning the leads table (`report sources`,
`model backtest`). Objects are read by the day they were stored: a record is stored when (or after) it
happened, so reading from a day on finds everything that happened from that day on.
"""

import sys
from datetime import UTC, date, datetime

from leadstream.archive.history import PersonHistory, histories
from leadstream.archive.reader import ArchiveReader
from leadstream.archive.store import ArchiveStore

from cli import output
from cli import target as targets

BEGINNING = date(2000, 1, 1)  # before any archive: "from the start"


def store(target: targets.Target) -> ArchiveStore:
    """The archive of the stack worked on (TargetError, saying how to get one, if it has none)."""
    if not target.archive_bucket:
        raise targets.TargetError(
            "this stack has no event archive (no ArchiveBucketName output): deploy this version of "
            "template.yaml (README: The event archive), or pass --stack with a stack that has one"
        )
    return ArchiveStore(target.archive_bucket)


def people(target: targets.Target, since: date | None = None) -> dict[str, PersonHistory]:
    """Every person's history in the archive's objects stored from `since` (None: from the start) to
    today, by the lead that holds them; records read are counted on stderr."""
    reader = ArchiveReader(store(target))
    today = datetime.now(UTC).date()
    records = reader.records(since or BEGINNING, today)
    return histories(output.progress(records, sys.stderr, noun="archived records", verb="read"))
