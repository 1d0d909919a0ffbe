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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from leadstream.platform import aws
from leadstream.platform.dynamo import bind, mapped_errors, transact
from leadstream.platform.errors import ConcurrentUpdate, StoreUnavailable
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.repository import (
    ScoreItem,
    score_attributes,
    score_of,
    transition_attributes,
    transition_of,
)
from leadstream.shadow.keys import PARTITIONS, shadow_pk, shadow_sk
from leadstream.shadow.score import ShadowScore

STATE_SK = "STATE"


class ShadowItem(ScoreItem):
    """A person's candidate score, stored as STATE stores a score (`ScoreItem`); `transitions` are the
    would-be stage changes."""

    class Meta:
        abstract = True

    lead_id = UnicodeAttribute()
    model = NumberAttribute()  # the candidate model's version
    version = NumberAttribute()  # write version
    updated = NumberAttribute()  # epoch ms
    stage = UnicodeAttribute()
    score = NumberAttribute()  # fit + behaviour as of `as_of`


@dataclass(frozen=True)
class Recorded:
    """A shadow item as read: the candidate's score of the person, and what its next write is checked
    against."""

    shadow: ShadowScore
    version: int
    content: dict[str, Any]  # the stored attributes that a recomputation may change


# Attributes every write sets whatever changed (not part of what makes two records the same)
_BOOKKEEPING = frozenset({"pk", "sk", "version", "updated", "expires_at"})


def _attributes(shadow: ShadowScore) -> dict[str, Any]:
    s = shadow.score
    return {
        "lead_id": s.lead_id,
        "model": shadow.model_version,
        **score_attributes(s),
        # the stage change and whether a hand-raise made it: the rest is the candidate's (`model`)
        "transitions": [
            {**transition_attributes(t), **({"hand": True} if t.hand_raiser else {})} for t in s.transitions
        ]
        or None,
    }


def _shadow(item: ShadowItem) -> ShadowScore:
    model = int(item.model)
    transitions = tuple(replace(transition_of(t), model_version=model) for t in item.transitions or ())
    return ShadowScore(model, score_of(item, item.lead_id, Stage(item.stage), transitions))


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
