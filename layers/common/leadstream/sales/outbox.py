"""Outbox of a lead's other events (not stage changes, which are TRANS# items): an `OUT#<event id>` item in
the lead's partition, written in the same transaction as the change it tells of, becomes one bus event
('Lead Assigned', 'Lead SLA Breached', ...). The item holds the detail as it was made; it stays
`unpublished` (the sparse index `Unpublished`, as TRANS# items) until PublishFunction put it on the bus.

Every detail carries its unique id as `event_id` (PublishFunction's idempotency key).
"""

import json
import time
from typing import Any

from pydantic import BaseModel
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from leadstream.platform.dynamo import Item, bind, update_unless
from leadstream.scoring.outbox import Outgoing

EVENT_PREFIX = "OUT#"


class LeadEventItem(Item):
    class Meta:
        abstract = True

    id = UnicodeAttribute()
    detail_type = UnicodeAttribute()
    detail = UnicodeAttribute()  # the event's detail (JSON), as it goes on the bus
    unpublished = UnicodeAttribute(null=True)  # "1" until published
    published_at = NumberAttribute(null=True)


class LeadEvents:
    def __init__(self, leads_table: str) -> None:
        self.table = leads_table
        self.items = bind(LeadEventItem, leads_table)

    def put(self, lead_id: str, detail_type: str, detail: BaseModel) -> dict[str, Any]:
        """The TransactWriteItems action that records the event (with the write it tells of). `detail`
        must have an `event_id`: the item's key, so the same event is never recorded twice."""
        event_id = str(getattr(detail, "event_id"))  # noqa: B009 (every lead event model has one)
        item = self.items(
            f"LEAD#{lead_id}",
            EVENT_PREFIX + event_id,
            id=event_id,
            detail_type=detail_type,
            detail=detail.model_dump_json(),
            unpublished="1",
        )
        return {
            "Put": {
                "TableName": self.table,
                "Item": item.serialize(),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def mark_published(self, lead_id: str, event_id: str) -> None:
        """The event went out: it loses `unpublished` (a MODIFY, which wakes nobody)."""
        model = self.items
        item = model(f"LEAD#{lead_id}", EVENT_PREFIX + event_id)
        actions = [model.unpublished.remove(), model.published_at.set(round(time.time(), 3))]
        update_unless(item, actions, model.pk.exists(), "marking a lead event published")

    def outgoing(self, image: dict[str, Any]) -> list[Outgoing]:
        item = self.items.from_raw_data(image)
        lead_id = item.pk.removeprefix("LEAD#")
        detail = json.loads(item.detail)
        return [Outgoing(item.detail_type, detail, (lead_id,), lambda: self.mark_published(lead_id, item.id))]
