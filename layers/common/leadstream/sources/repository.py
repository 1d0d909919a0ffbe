"""Data access for sources, their write keys and counters (SourcesTable, pk/sk strings).

SOURCE#<id> / PROFILE         name, allowed origins, status, privacy settings, salt, allow_import, trust
COUNTERS#<id> / BOTS#<day>      bot and crawler hits that day (counted, never stored as behaviour)
COUNTERS#<id> / FORMS#<minute>  form submissions that minute (the rate limit); expires_at an hour later
(The counters have a partition of their own, so that IAM can let the tracking functions update them and
nothing else: dynamodb:LeadingKeys "COUNTERS#*".)
KEY#<write key> / KEY         which source a key belongs to; a rotated key gets expires_at
ORIGIN#<origin> / SOURCE#<id>   the origin index: one item per origin of each active source, written with
                                the source (`save_source`), so that a CORS preflight asks "is this origin an
                                active source's?" in one Query. (A partition of its own: IAM lets the
                                tracking functions query ORIGIN#* and nothing else.)
"""

from datetime import UTC, date, datetime, timedelta

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute

from leadstream.platform.dynamo import Item, bind, mapped_errors, save_unless
from leadstream.platform.errors import LeadstreamError
from leadstream.sources.model import (
    DEFAULT_RETENTION_DAYS,
    IpMode,
    Privacy,
    Source,
    SourceStatus,
    Trust,
    WriteKey,
)


class _SourceItem(Item):
    class Meta:
        abstract = True

    name = UnicodeAttribute(null=True)
    origins = ListAttribute[str](null=True)
    status = UnicodeAttribute(null=True)
    ip_mode = UnicodeAttribute(null=True)
    retention_days = NumberAttribute(null=True)
    lead_retention_days = NumberAttribute(null=True)
    honour_dnt = BooleanAttribute(null=True)
    salt = UnicodeAttribute(null=True)
    allow_import = BooleanAttribute(null=True)
    trust = UnicodeAttribute(null=True)  # absent: a browser source (every source before trust levels)
    created_at = NumberAttribute(null=True)
    # KEY items (when a rotation retires it), FORMS items (a counter of a past minute is no use)
    source_id = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    # BOTS and FORMS items
    hits = NumberAttribute(null=True)


def _source(item: _SourceItem) -> Source:
    return Source(
        id=item.pk.removeprefix("SOURCE#"),
        name=item.name or "",
        allowed_origins=tuple(item.origins or ()),
        status=SourceStatus(item.status or SourceStatus.ACTIVE.value),
        privacy=Privacy(
            ip_mode=IpMode(item.ip_mode or IpMode.TRUNCATE.value),
            retention_days=int(item.retention_days or DEFAULT_RETENTION_DAYS),
            honour_dnt=True if item.honour_dnt is None else bool(item.honour_dnt),
            lead_retention_days=int(item.lead_retention_days) if item.lead_retention_days else None,
        ),
        salt=item.salt or "",
        allow_import=bool(item.allow_import),
        trust=Trust(item.trust or Trust.BROWSER.value),
    )


def _counters(source_id: str) -> str:
    return f"COUNTERS#{source_id}"


def _origin(origin: str) -> str:
    return f"ORIGIN#{origin}"


def _indexed(source: Source | None) -> set[str]:
    return set(source.preflight_origins) if source is not None else set()


class SourceRepository:
    def __init__(self, table: str) -> None:
        self.items = bind(_SourceItem, table)

    def key(self, key: str) -> WriteKey | None:
        with mapped_errors("reading a write key"):
            try:
                item = self.items.get(f"KEY#{key}", "KEY")
            except self.items.DoesNotExist:
                return None
        expires = datetime.fromtimestamp(float(item.expires_at), UTC) if item.expires_at else None
        return WriteKey(key, item.source_id or "", expires)

    def source(self, source_id: str) -> Source | None:
        with mapped_errors("reading a source"):
            try:
                return _source(self.items.get(f"SOURCE#{source_id}", "PROFILE"))
            except self.items.DoesNotExist:
                return None

    def sources(self) -> list[Source]:
        with mapped_errors("listing sources"):
            found = [_source(i) for i in self.items.scan(self.items.sk == "PROFILE")]
        return sorted(found, key=lambda s: s.name.lower())

    def keys_of(self, source_id: str) -> list[WriteKey]:
        with mapped_errors("listing write keys"):
            found = list(self.items.scan((self.items.sk == "KEY") & (self.items.source_id == source_id)))
        return [
            WriteKey(
                i.pk.removeprefix("KEY#"),
                source_id,
                datetime.fromtimestamp(float(i.expires_at), UTC) if i.expires_at else None,
            )
            for i in found
        ]

    def save_source(self, source: Source, now: datetime) -> None:
        """The source's profile, then its origins in the index (added and removed as they changed, and as
        its status did). A failure in between is repaired by saving again; the index only ever answers
        preflights, the profile decides who may send (`SourceDirectory.authenticate`)."""
        with mapped_errors("reading a source"):
            try:
                before = self.items.get(f"SOURCE#{source.id}", "PROFILE", consistent_read=True)
            except self.items.DoesNotExist:
                before = None
        item = self.items(
            f"SOURCE#{source.id}",
            "PROFILE",
            name=source.name,
            origins=list(source.allowed_origins) or None,
            status=source.status.value,
            ip_mode=source.privacy.ip_mode.value,
            retention_days=source.privacy.retention_days,
            lead_retention_days=source.privacy.lead_retention_days,
            honour_dnt=source.privacy.honour_dnt,
            salt=source.salt,
            allow_import=source.allow_import or None,
            trust=source.trust.value,
            created_at=before.created_at if before and before.created_at else now.timestamp(),
        )
        with mapped_errors("saving a source"):
            item.save()
        self._index(source.id, _indexed(_source(before) if before else None), _indexed(source))

    def _index(self, source_id: str, indexed: set[str], wanted: set[str]) -> None:
        if indexed == wanted:
            return
        with mapped_errors("indexing a source's origins"), self.items.batch_write() as batch:
            for origin in sorted(wanted - indexed):
                batch.save(self.items(_origin(origin), f"SOURCE#{source_id}", source_id=source_id))
            for origin in sorted(indexed - wanted):
                batch.delete(self.items(_origin(origin), f"SOURCE#{source_id}"))

    def reindex_origins(self) -> int:
        """Rebuild the origin index from the profiles (a stack from before the index, or an index a failed
        save left behind); how many items were written or removed."""
        with mapped_errors("reading the origin index"):
            found: dict[str, set[str]] = {}
            for row in self.items.scan(self.items.pk.startswith("ORIGIN#")):
                found.setdefault(row.sk.removeprefix("SOURCE#"), set()).add(row.pk.removeprefix("ORIGIN#"))
        changed = 0
        wanted = {source.id: _indexed(source) for source in self.sources()}
        for source_id in sorted(set(found) | set(wanted)):
            indexed, listed = found.get(source_id, set()), wanted.get(source_id, set())
            self._index(source_id, indexed, listed)
            changed += len(indexed ^ listed)
        return changed

    def origin_in_use(self, origin: str) -> bool:
        """Whether an active source lists `origin` (one Query of the origin index, one item at most)."""
        with mapped_errors("reading the origin index"):
            return any(True for _ in self.items.query(_origin(origin), limit=1))

    def add_key(self, key: str, source_id: str) -> None:
        item = self.items(f"KEY#{key}", "KEY", source_id=source_id)
        if not save_unless(item, self.items.pk.does_not_exist(), "adding a write key"):
            raise LeadstreamError("that write key exists already: choose another")

    def retire_key(self, key: str, at: datetime) -> None:
        with mapped_errors("retiring a write key"):
            self.items(f"KEY#{key}", "KEY").update(
                actions=[self.items.expires_at.set(at.timestamp())], condition=self.items.pk.exists()
            )

    def count_bots(self, source_id: str, day: date, hits: int) -> None:
        with mapped_errors("counting bots"):
            self.items(_counters(source_id), f"BOTS#{day.isoformat()}").update(
                actions=[self.items.hits.add(hits)]
            )

    def count_form(self, source_id: str, minute: datetime) -> int:
        """Add one to the source's form submissions of `minute` (one UpdateItem); the count so far."""
        items = self.items
        item = items(_counters(source_id), f"FORMS#{minute:%Y-%m-%dT%H:%M}")
        with mapped_errors("counting form submissions"):
            item.update(
                actions=[items.hits.add(1), items.expires_at.set((minute + timedelta(hours=1)).timestamp())]
            )
        return int(item.hits or 0)

    def bot_hits(self, source_id: str) -> dict[str, int]:
        """Bot hits per day; counts kept before the counters had a partition of their own included."""
        found: dict[str, int] = {}
        with mapped_errors("reading bot counts"):
            for partition in (f"SOURCE#{source_id}", _counters(source_id)):
                for row in self.items.query(partition, self.items.sk.startswith("BOTS#")):
                    day = row.sk.removeprefix("BOTS#")
                    found[day] = found.get(day, 0) + int(row.hits or 0)
        return found
