"""A leads table stream record as an archived record: which items are history, and what of them is kept.

Kept (ArchiveFunction's subscription filter lets only these through):
  INSERT LEAD#<id>/EVT#<message id>   event: the behaviour event as scoring reads it (type, name, path,
                                      title, form, acquisition touch, fit traits, source, company); no IP
  INSERT LEAD#<id>/TRANS#<n>          transition: stage from/to, score, reasons, who (`by`) or which
                                      model, reason, amount and currency, hand-raiser, fit points,
                                      `rescored` (a rescore's: not a stage change anyone saw live)
  INSERT LEAD#<root>/MERGE#<lead>     merge: kept under the merged lead, `into` the root; cause, call, source
  MODIFY of a MERGE# that sets `undone_at`   unmerge: kept under the lead split off, `into` the old root
  INSERT LEAD#<holder>/HELD#<device>  handover: a shared device's lead handed over to the holder
"""

from decimal import Decimal
from typing import Any

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from leadstream.archive.records import ArchivedRecord
from leadstream.platform.errors import InvalidEvent

EVENT_FIELDS = ("type", "name", "path", "title", "form_id", "fit", "touch", "src", "company")
TRANSITION_FIELDS = {
    "id": "transition_id",
    "from": "from_stage",
    "to": "to_stage",
    "score": "score",
    "reasons": "reasons",
    "model": "model",
    "by": "by",
    "reason": "reason",
    "amount": "amount",
    "currency": "currency",
    "hand": "hand",
    "fits": "fits",
    "rescored": "rescored",
}
MERGE_FIELDS = ("cause", "call", "source_id", "members")


def _plain(value: Any) -> Any:
    """A deserialized DynamoDB value as JSON: numbers as int or float, sets as sorted lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return None
    return value


def _number(value: Any, fallback: float) -> float:
    return float(value) if isinstance(value, Decimal | int | float) else fallback


def archived(record: DynamoDBRecord) -> ArchivedRecord:
    """The archived record of a stream record; InvalidEvent if it is not one the archive keeps (the
    subscription filter should not have let it through)."""
    ddb = record.dynamodb
    if ddb is None or not ddb.sequence_number:
        raise InvalidEvent("not a stream record: no dynamodb change or sequence number")
    keys = ddb.keys
    pk, sk = str(keys.get("pk", "")), str(keys.get("sk", ""))
    if not pk.startswith("LEAD#"):
        raise InvalidEvent(f"not a lead's item: {pk.split('#', 1)[0]}")
    lead = pk.removeprefix("LEAD#")
    image = ddb.new_image or {}
    written = float(ddb.approximate_creation_date_time or 0)
    seq = str(ddb.sequence_number)
    insert = record.event_name == DynamoDBRecordEventName.INSERT
    if insert and sk.startswith("EVT#"):
        stored = _number(image.get("rcv"), written)
        data = {name: _plain(image[name]) for name in EVENT_FIELDS if image.get(name) is not None}
        return ArchivedRecord("event", lead, sk, _number(image.get("at"), stored), stored, seq, data)
    if insert and sk.startswith("TRANS#"):
        at = _number(image.get("at"), written)
        data = {out: _plain(image[name]) for name, out in TRANSITION_FIELDS.items() if name in image}
        return ArchivedRecord("transition", lead, sk, at, written or at, seq, data)
    if sk.startswith("MERGE#"):
        merged = sk.removeprefix("MERGE#")
        data = {name: _plain(image[name]) for name in MERGE_FIELDS if image.get(name) is not None}
        if insert:
            at = _number(image.get("merged_at"), written)
            return ArchivedRecord("merge", merged, sk, at, written or at, seq, {"into": lead, **data})
        if record.event_name == DynamoDBRecordEventName.MODIFY and "undone_at" in image:
            at = _number(image["undone_at"], written)
            return ArchivedRecord("unmerge", merged, sk, at, written or at, seq, {"into": lead, **data})
    if insert and sk.startswith("HELD#"):
        at = _number(image.get("at"), written)
        device = {"device_lead": sk.removeprefix("HELD#")}
        return ArchivedRecord("handover", lead, sk, at, written or at, seq, device)
    kind = sk.split("#", 1)[0]
    raise InvalidEvent(f"not an item the archive keeps: {record.event_name} of {kind}")
