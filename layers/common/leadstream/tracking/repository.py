"""Data access for behaviour events (LeadsTable).

LEAD#<id> / EVT#<messageId>   one behaviour event: small, TTL'd (`expires_at`, the source's retention); its
                              INSERT wakes ScoreFunction. `rcv` is when it was stored (about when its stream
                              record arrived; to the millisecond): a shared device's hand-over counts
                              from it, a rebuild of scores finds the events of a parked stream range
                              by it. `lead_expires`: until when this activity keeps its lead (scoring moves
                              the lead's STATE `expires_at` to the latest of these)
"""

import math
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import MapAttribute, NumberAttribute, TTLAttribute, UnicodeAttribute

from leadstream.platform import aws
from leadstream.platform.dynamo import Item, bind, mapped_errors, moment, save_unless, timestamp
from leadstream.platform.errors import StoreUnavailable
from leadstream.tracking.attribution import Touch
from leadstream.tracking.events import BehaviourEvent, EventType

EVENT_PREFIX = "EVT#"
BATCH_WRITE_LIMIT = 25  # items per BatchWriteItem request (DynamoDB's maximum)


class EventItem(Item):
    class Meta:
        abstract = True

    type = UnicodeAttribute()
    at = NumberAttribute()  # epoch seconds, compact
    rcv = NumberAttribute(null=True)  # when it was stored, epoch seconds (ms; absent on older items)
    name = UnicodeAttribute(null=True)
    path = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)  # a page's title (ingest keeps at most 200 characters)
    form_id = UnicodeAttribute(null=True)
    fit = MapAttribute[str, str](null=True)
    touch = MapAttribute[str, str](null=True)
    src = UnicodeAttribute(null=True)  # source id
    ip = UnicodeAttribute(null=True)  # anonymised per the source's privacy settings
    company = UnicodeAttribute(null=True)  # the visitor's business, by its network: a domain only
    expires_at = TTLAttribute(null=True)
    lead_expires = NumberAttribute(null=True)  # epoch seconds (whole): until when it keeps its lead


class EventRepository:
    def __init__(self, leads_table: str) -> None:
        self.table = leads_table
        self.items = bind(EventItem, leads_table)

    def _item(
        self,
        lead_id: str,
        event: BehaviourEvent,
        expires_at: datetime,
        stored_at: datetime,
        lead_expires: datetime | None,
    ) -> EventItem:
        return self.items(
            f"LEAD#{lead_id}",
            EVENT_PREFIX + event.message_id,
            type=event.type.value,
            at=timestamp(event.at),
            rcv=timestamp(stored_at),
            name=event.name,
            path=event.path,
            title=event.title,
            form_id=event.form_id,
            fit=event.fit_traits or None,
            touch=event.touch.to_dict() if event.touch else None,
            src=event.source_id,
            ip=event.ip,
            company=event.company,
            expires_at=expires_at,
            lead_expires=int(lead_expires.timestamp()) if lead_expires else None,
        )

    def record(
        self,
        lead_id: str,
        event: BehaviourEvent,
        expires_at: datetime,
        stored_at: datetime,
        lead_expires: datetime | None = None,
    ) -> bool:
        """Store an event once per message id. False if it was already stored (a retry)."""
        item = self._item(lead_id, event, expires_at, stored_at, lead_expires)
        return save_unless(item, self.items.pk.does_not_exist(), "writing an event")

    def record_many(
        self, events: list[tuple[str, BehaviourEvent, datetime, datetime | None]], stored_at: datetime
    ) -> None:
        """Store many events in BatchWriteItem requests of 25. BatchWriteItem has no conditions: a retried
        message is written again over itself, which the stream shows as a MODIFY, not an INSERT, so
        scoring (INSERT only) never counts it twice."""
        # One request may not name an item twice (DynamoDB rejects the whole request): a message repeated
        # in a batch is the same message, so it is written once.
        unique = {(e[0], e[1].message_id): e for e in events}
        with mapped_errors("writing events"), self.items.batch_write() as batch:
            for lead, event, expires, lead_expires in unique.values():
                batch.save(self._item(lead, event, expires, stored_at, lead_expires))

    def from_image(self, image: dict[str, Any]) -> tuple[str, BehaviourEvent]:
        """(lead id, event) from a stream record's NewImage (DynamoDB JSON)."""
        return _event(self.items.from_raw_data(image))

    def lead_expires(self, image: dict[str, Any]) -> datetime | None:
        """Until when the event in a stream record's NewImage keeps its lead (None: stored before events
        carried it)."""
        value = image.get("lead_expires", {}).get("N")
        return datetime.fromtimestamp(int(value), UTC) if value else None

    def stored_at(self, image: dict[str, Any]) -> float | None:
        """When the event in a stream record's NewImage was stored (epoch seconds; None before events
        carried it)."""
        value = image.get("rcv", {}).get("N")
        return float(value) if value else None

    def of_lead(self, lead_id: str) -> list[tuple[BehaviourEvent, datetime | None]]:
        """Every event still stored under a lead (strongly consistent), with when it was stored."""
        items = self.items
        with mapped_errors("reading a lead's events"):
            found = items.query(f"LEAD#{lead_id}", items.sk.startswith(EVENT_PREFIX), consistent_read=True)
            return [(_event(item)[1], moment(item.rcv)) for item in found]

    def kept_until(self, lead_ids: Iterable[str]) -> datetime | None:
        """The latest `lead_expires` of the events stored under these leads (None if none carries one)."""
        items = self.items
        latest: float | None = None
        with mapped_errors("reading a lead's events"):
            for lead in dict.fromkeys(lead_ids):
                query = items.query(
                    f"LEAD#{lead}",
                    items.sk.startswith(EVENT_PREFIX),
                    consistent_read=True,
                    attributes_to_get=["lead_expires"],
                )
                for item in query:
                    if item.lead_expires is not None and (latest is None or item.lead_expires > latest):
                        latest = item.lead_expires
        return datetime.fromtimestamp(latest, UTC) if latest is not None else None

    def stored_between(
        self, start: datetime, end: datetime, progress: Callable[[int, int], None] | None = None
    ) -> Iterator[tuple[str, datetime]]:
        """(lead id, when stored) of every event stored from `start` to `end` (whole seconds, both
        included). A Scan of the whole table with a filter, page by page: it costs what reading every item
        costs, whatever matches (for the command line only). `progress(items scanned, found)` after each
        page."""
        params: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": "begins_with(sk, :evt) AND rcv BETWEEN :start AND :end",
            "ExpressionAttributeValues": {
                ":evt": {"S": EVENT_PREFIX},
                ":start": {"N": str(int(start.timestamp()))},
                ":end": {"N": str(math.ceil(end.timestamp()))},
            },
            "ProjectionExpression": "pk, rcv",
        }
        scanned = found = 0
        client = aws.client("dynamodb")
        while True:
            try:
                page = client.scan(**params)
            except (BotoCoreError, ClientError) as exc:
                raise StoreUnavailable(f"scanning for events stored in a window failed ({exc})") from exc
            scanned += int(page.get("ScannedCount", 0))
            for raw in page.get("Items", []):
                found += 1
                stored = datetime.fromtimestamp(float(raw["rcv"]["N"]), UTC)
                yield raw["pk"]["S"].removeprefix("LEAD#"), stored
            if progress is not None:
                progress(scanned, found)
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _event(item: EventItem) -> tuple[str, BehaviourEvent]:
    fit = item.fit.as_dict() if item.fit else {}
    touch = item.touch.as_dict() if item.touch else None
    at = moment(item.at)
    assert at is not None  # `at` is required on every event item
    return item.pk.removeprefix("LEAD#"), BehaviourEvent(
        message_id=item.sk.removeprefix(EVENT_PREFIX),
        type=EventType(item.type),
        at=at,
        name=item.name,
        path=item.path,
        title=item.title,
        form_id=item.form_id,
        fit_traits=fit,
        touch=Touch.from_dict(touch) if touch else None,
        source_id=item.src,
        ip=item.ip,
        company=item.company,
    )
