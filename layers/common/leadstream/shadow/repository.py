"""Data access for shadow mode: a person's candidate score (LeadsTable, `shadow.keys` for the layout).

SHADOW#<NN> / LEAD#<lead>#v<version>   the candidate's score of the person (stage, score parts, what a
                                       recomputation starts from), its would-be stage changes
                                       (`transitions`, never a TRANS# item: nothing publishes them), write
                                       `version`, `updated` (epoch ms) and `expires_at` (the lead's own
                                       expiry: the item goes with the lead)

Every write is one TransactWriteItems: the item, conditional on the version read (two batches recomputing
one person never undo each other); a ConditionCheck that the lead's STATE is no erase tombstone (a person
erased meanwhile is not written back); and the deletion of the items of leads merged into this one since.
"""

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)

from leadstream.platform import aws
from leadstream.platform.dynamo import Item, bind, mapped_errors, moment, timestamp, transact
from leadstream.platform.errors import ConcurrentUpdate, StoreUnavailable
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.score import LeadScore, Reason, Transition
from leadstream.shadow.keys import PARTITIONS, shadow_pk, shadow_sk
from leadstream.shadow.score import ShadowScore
from leadstream.tracking.attribution import Touch

STATE_SK = "STATE"


class ShadowItem(Item):
    class Meta:
        abstract = True

    lead_id = UnicodeAttribute()
    model = NumberAttribute()  # the candidate model's version
    version = NumberAttribute()  # write version
    updated = NumberAttribute()  # epoch ms
    stage = UnicodeAttribute()
    score = NumberAttribute()  # fit + behaviour as of `as_of`
    behaviour = NumberAttribute(null=True)
    as_of = NumberAttribute(null=True)
    known = BooleanAttribute(null=True)
    contrib = MapAttribute[str, list[int]](null=True)  # rule id -> [points, times]
    fit = MapAttribute[str, int](null=True)
    first_touch = MapAttribute[str, str](null=True)
    last_touch = MapAttribute[str, str](null=True)
    first_seen = NumberAttribute(null=True)
    last_seen = NumberAttribute(null=True)
    last_visit = NumberAttribute(null=True)
    events = NumberAttribute(null=True)
    page_views = NumberAttribute(null=True)
    sessions = NumberAttribute(null=True)
    transition_count = NumberAttribute(null=True)
    company = UnicodeAttribute(null=True)
    signals = MapAttribute[str, float](null=True)
    transitions = ListAttribute[dict[str, Any]](null=True)  # the would-be stage changes
    expires_at = TTLAttribute(null=True)


@dataclass(frozen=True)
class Recorded:
    """A shadow item as read: the candidate's score of the person, and what its next write is checked
    against."""

    shadow: ShadowScore
    version: int
    content: dict[str, Any]  # the stored attributes that a recomputation may change


# Attributes every write sets whatever changed (not part of what makes two records the same)
_BOOKKEEPING = frozenset({"pk", "sk", "version", "updated", "expires_at"})


def _transition(t: Transition) -> dict[str, Any]:
    stored = {
        "id": t.id,
        "from": t.from_stage.value,
        "to": t.to_stage.value,
        "at": timestamp(t.at),
        "score": t.score,
        "reasons": [[r.label, r.points] for r in t.reasons],
        "hand": t.hand_raiser or None,
    }
    return {k: v for k, v in stored.items() if v is not None}


def _transition_of(raw: dict[str, Any], model: int) -> Transition:
    at = moment(raw["at"])
    assert at is not None
    return Transition(
        str(raw["id"]),
        Stage(raw["from"]),
        Stage(raw["to"]),
        at,
        float(raw["score"]),
        tuple(Reason("", str(label), int(points)) for label, points in raw.get("reasons") or ()),
        model_version=model,
        hand_raiser=bool(raw.get("hand")),
    )


def _attributes(shadow: ShadowScore) -> dict[str, Any]:
    s = shadow.score
    return {
        "lead_id": s.lead_id,
        "model": shadow.model_version,
        "stage": s.stage.value,
        "score": round(s.behaviour + s.fit, 1),
        "behaviour": round(s.behaviour, 4),
        "as_of": timestamp(s.as_of),
        "known": s.known,
        "contrib": {k: list(v) for k, v in s.contributions.items()} or None,
        "fit": s.fit_points or None,
        "first_touch": s.first_touch.to_dict() if s.first_touch else None,
        "last_touch": s.last_touch.to_dict() if s.last_touch else None,
        "first_seen": timestamp(s.first_seen),
        "last_seen": timestamp(s.last_seen),
        "last_visit": timestamp(s.last_visit),
        "events": s.events,
        "page_views": s.page_views,
        "sessions": s.sessions,
        "transition_count": s.transition_count,
        "company": s.company,
        "signals": {k: timestamp(at) for k, at in s.signals.items()} or None,
        "transitions": [_transition(t) for t in s.transitions] or None,
    }


def _shadow(item: ShadowItem) -> ShadowScore:
    model = int(item.model)
    score = LeadScore(
        lead_id=item.lead_id,
        behaviour=float(item.behaviour or 0),
        as_of=moment(item.as_of),
        stage=Stage(item.stage),
        known=bool(item.known),
        contributions={
            k: (int(v[0]), int(v[1])) for k, v in (item.contrib.as_dict() if item.contrib else {}).items()
        },
        fit_points={k: int(v) for k, v in (item.fit.as_dict() if item.fit else {}).items()},
        first_touch=Touch.from_dict(item.first_touch.as_dict()) if item.first_touch else None,
        last_touch=Touch.from_dict(item.last_touch.as_dict()) if item.last_touch else None,
        first_seen=moment(item.first_seen),
        last_seen=moment(item.last_seen),
        last_visit=moment(item.last_visit),
        events=int(item.events or 0),
        page_views=int(item.page_views or 0),
        sessions=int(item.sessions or 0),
        transition_count=int(item.transition_count or 0),
        company=item.company,
        signals={
            rule: at
            for rule, at in (
                (r, moment(t)) for r, t in (item.signals.as_dict() if item.signals else {}).items()
            )
            if at is not None
        },
        transitions=tuple(_transition_of(t, model) for t in item.transitions or ()),
    )
    return ShadowScore(model, score)


def _content(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in _BOOKKEEPING}


class ShadowRepository:
    def __init__(self, leads_table: str) -> None:
        self.table = leads_table
        self.items = bind(ShadowItem, leads_table)

    def _recorded(self, item: ShadowItem) -> Recorded:
        return Recorded(_shadow(item), int(item.version), _content(item.serialize()))

    def load_many(self, lead_ids: Iterable[str], model_version: int) -> dict[str, Recorded]:
        """The candidate's records of these leads, where it has one (BatchGetItem, strongly consistent)."""
        wanted = [(shadow_pk(lead), shadow_sk(lead, model_version)) for lead in dict.fromkeys(lead_ids)]
        if not wanted:
            return {}
        with mapped_errors("reading shadow scores"):
            return {
                item.lead_id: self._recorded(item)
                for item in self.items.batch_get(wanted, consistent_read=True)
            }

    def save(
        self,
        shadow: ShadowScore,
        previous: Recorded | None,
        expires_at: datetime | None = None,
        gone: Iterable[str] = (),
    ) -> bool:
        """Write the person's record unless it would hold what it holds (False: nothing written), in one
        transaction with a check that the lead is not erased and the deletion of the records of `gone`
        (leads merged into this one). ConcurrentUpdate when another write came first or the person was
        erased meanwhile: read again."""
        gone = [lead for lead in dict.fromkeys(gone) if lead != shadow.lead_id]
        item = self.items(
            shadow_pk(shadow.lead_id),
            shadow_sk(shadow.lead_id, shadow.model_version),
            **_attributes(shadow),
            version=(previous.version if previous else 0) + 1,
            updated=round(time.time() * 1000),
            expires_at=expires_at,
        )
        raw = item.serialize()
        if previous is not None and previous.content == _content(raw) and not gone:
            return False
        if previous is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "#version = :version",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":version": {"N": str(previous.version)}},
            }
        actions: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table, "Item": raw, **condition}},
            {
                "ConditionCheck": {
                    "TableName": self.table,
                    "Key": {"pk": {"S": f"LEAD#{shadow.lead_id}"}, "sk": {"S": STATE_SK}},
                    "ConditionExpression": "attribute_not_exists(erased)",
                }
            },
        ]
        actions += [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": {
                        "pk": {"S": shadow_pk(lead)},
                        "sk": {"S": shadow_sk(lead, shadow.model_version)},
                    },
                }
            }
            for lead in gone
        ]
        if not transact(actions, "writing a shadow score"):
            raise ConcurrentUpdate(f"lead {shadow.lead_id} changed (or was erased) while shadow-scored")
        return True

    def recorded(self, model_version: int | None = None) -> Iterator[ShadowScore]:
        """Every person's record (of `model_version` only, if given): one Query per partition of
        `shadow.keys.PARTITIONS`, never a Scan."""
        client = aws.client("dynamodb")
        for partition in PARTITIONS:
            query: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": partition}},
            }
            if model_version is not None:
                query["FilterExpression"] = "#model = :model"
                query["ExpressionAttributeNames"] = {"#model": "model"}
                query["ExpressionAttributeValues"][":model"] = {"N": str(model_version)}
            try:
                while True:
                    page = client.query(**query)
                    for raw in page.get("Items", []):
                        yield _shadow(self.items.from_raw_data(raw))
                    if "LastEvaluatedKey" not in page:
                        break
                    query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            except (ClientError, BotoCoreError) as exc:
                raise StoreUnavailable(f"reading shadow scores failed ({type(exc).__name__})") from exc
