"""Data access for sources, their write keys and bot counters (SourcesTable, pk/sk strings).

SOURCE#<id> / PROFILE       name, allowed origins, status, privacy settings, salt
SOURCE#<id> / BOTS#<day>    bot and crawler hits that day (counted, never stored as behaviour)
KEY#<write key> / KEY       which source a key belongs to; a rotated key gets expires_at
"""

from datetime import UTC, date, datetime

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import PynamoDBException

from leadstream.domain.sources import IpMode, Privacy, Source, SourceStatus, WriteKey
from leadstream.errors import StoreUnavailable
from leadstream.store import Item, bind


class _SourceItem(Item):
    class Meta:
        abstract = True

    name = UnicodeAttribute(null=True)
    origins = ListAttribute[str](null=True)
    status = UnicodeAttribute(null=True)
    ip_mode = UnicodeAttribute(null=True)
    retention_days = NumberAttribute(null=True)
    honour_dnt = BooleanAttribute(null=True)
    salt = UnicodeAttribute(null=True)
    created_at = NumberAttribute(null=True)
    # KEY items
    source_id = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    # BOTS items
    hits = NumberAttribute(null=True)


def _source(item: _SourceItem) -> Source:
    return Source(
        id=item.pk.removeprefix("SOURCE#"),
        name=item.name or "",
        allowed_origins=tuple(item.origins or ()),
        status=SourceStatus(item.status or SourceStatus.ACTIVE.value),
        privacy=Privacy(
            ip_mode=IpMode(item.ip_mode or IpMode.TRUNCATE.value),
            retention_days=int(item.retention_days or 90),
            honour_dnt=True if item.honour_dnt is None else bool(item.honour_dnt),
        ),
        salt=item.salt or "",
    )


class SourceRepository:
    def __init__(self, table: str, region: str | None = None) -> None:
        self.items = bind(_SourceItem, table, region)

    def key(self, key: str) -> WriteKey | None:
        try:
            item = self.items.get(f"KEY#{key}", "KEY")
        except self.items.DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise StoreUnavailable(f"reading a write key failed ({exc.cause_response_code})") from exc
        expires = datetime.fromtimestamp(float(item.expires_at), UTC) if item.expires_at else None
        return WriteKey(key, item.source_id or "", expires)

    def source(self, source_id: str) -> Source | None:
        try:
            return _source(self.items.get(f"SOURCE#{source_id}", "PROFILE"))
        except self.items.DoesNotExist:
            return None
        except PynamoDBException as exc:
            raise StoreUnavailable(f"reading a source failed ({exc.cause_response_code})") from exc

    def sources(self) -> list[Source]:
        return sorted(
            (_source(i) for i in self.items.scan(self.items.sk == "PROFILE")), key=lambda s: s.name.lower()
        )

    def keys_of(self, source_id: str) -> list[WriteKey]:
        found = self.items.scan((self.items.sk == "KEY") & (self.items.source_id == source_id))
        return [
            WriteKey(
                i.pk.removeprefix("KEY#"),
                source_id,
                datetime.fromtimestamp(float(i.expires_at), UTC) if i.expires_at else None,
            )
            for i in found
        ]

    def save_source(self, source: Source, now: datetime) -> None:
        self.items(
            f"SOURCE#{source.id}",
            "PROFILE",
            name=source.name,
            origins=list(source.allowed_origins) or None,
            status=source.status.value,
            ip_mode=source.privacy.ip_mode.value,
            retention_days=source.privacy.retention_days,
            honour_dnt=source.privacy.honour_dnt,
            salt=source.salt,
            created_at=now.timestamp(),
        ).save()

    def add_key(self, key: str, source_id: str) -> None:
        self.items(f"KEY#{key}", "KEY", source_id=source_id).save(condition=self.items.pk.does_not_exist())

    def retire_key(self, key: str, at: datetime) -> None:
        self.items(f"KEY#{key}", "KEY").update(
            actions=[self.items.expires_at.set(at.timestamp())], condition=self.items.pk.exists()
        )

    def count_bots(self, source_id: str, day: date, hits: int) -> None:
        try:
            self.items(f"SOURCE#{source_id}", f"BOTS#{day.isoformat()}").update(
                actions=[self.items.hits.add(hits)]
            )
        except PynamoDBException as exc:
            raise StoreUnavailable(f"counting bots failed ({exc.cause_response_code})") from exc

    def bot_hits(self, source_id: str) -> dict[str, int]:
        rows = self.items.query(f"SOURCE#{source_id}", self.items.sk.startswith("BOTS#"))
        return {r.sk.removeprefix("BOTS#"): int(r.hits or 0) for r in rows}
