"""Data access for privacy: a person's items as they are stored (every attribute, whatever context wrote
it), deleting them, suppression entries, tombstones, idempotency records and notifications parked in a
queue.

LeadsTable:
  SUPPRESS#<keyed hash> / SUPPRESS   an erased person's identifier (no e-mail, no id: a keyed hash)
  LEAD#<id> / STATE                  after an erase, for a day: a tombstone (`erased`, `expires_at`)
IdempotencyTable:
  <function>#<md5 of the key>        Powertools' record of an effect done once (publishing, notifying)
"""

import hashlib
import json
import time
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import NumberAttribute

from leadstream.identity.repository import STATE_SK, SUPPRESS_SK, lead_pk, suppress_pk
from leadstream.platform import aws
from leadstream.platform.dynamo import Item, bind, mapped_errors, timestamp
from leadstream.platform.errors import StoreUnavailable

BATCH_WRITE_LIMIT = 25

type Raw = dict[str, Any]  # an item in DynamoDB JSON


class SuppressionItem(Item):
    class Meta:
        abstract = True

    suppressed_at = NumberAttribute()


def plain(value: Raw) -> Any:
    """A DynamoDB JSON value as plain JSON-able Python (numbers as int or float)."""
    (kind, inner), *_ = value.items()
    if kind == "S" or kind == "B":
        return inner
    if kind == "N":
        number = Decimal(inner)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "BOOL":
        return bool(inner)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: plain(v) for k, v in inner.items()}
    if kind == "L":
        return [plain(v) for v in inner]
    if kind in ("SS", "BS"):
        return sorted(inner)
    if kind == "NS":
        return sorted(plain({"N": n}) for n in inner)
    return inner


def as_plain(item: Raw) -> dict[str, Any]:
    return {k: plain(v) for k, v in item.items()}


def _write_batch(client: Any, table: str, requests: list[Raw]) -> None:
    """One BatchWriteItem (at most 25 requests), retrying what DynamoDB leaves unprocessed."""
    for attempt in range(8):
        try:
            answer = client.batch_write_item(RequestItems={table: requests})
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"writing items failed ({type(exc).__name__})") from exc
        requests = answer.get("UnprocessedItems", {}).get(table, [])
        if not requests:
            return
        time.sleep(min(2.0, 0.05 * 2**attempt))
    raise StoreUnavailable("writing items failed (still unprocessed after retries)")


class PrivacyRepository:
    def __init__(self, leads_table: str, accounts_table: str) -> None:
        self.leads_table = leads_table
        self.accounts_table = accounts_table
        self.suppressions = bind(SuppressionItem, leads_table)
        self.client = aws.client("dynamodb")

    def _call(self, action: str, operation: str, **params: Any) -> Any:
        try:
            return getattr(self.client, operation)(**params)
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"{action} failed ({type(exc).__name__})") from exc

    def get(self, table: str, pk: str, sk: str) -> Raw | None:
        key = {"pk": {"S": pk}, "sk": {"S": sk}}
        found = self._call("reading an item", "get_item", TableName=table, Key=key, ConsistentRead=True)
        item: Raw | None = found.get("Item")
        return item

    def partition(self, table: str, pk: str, prefix: str | None = None) -> list[Raw]:
        """Every item of a partition (a lead's STATE, PROFILE, events, records); with `prefix`, only those
        whose sort key starts with it (a lead's shadow records in a SHADOW# partition)."""
        items: list[Raw] = []
        params: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        if prefix is not None:
            params["KeyConditionExpression"] += " AND begins_with(sk, :prefix)"
            params["ExpressionAttributeValues"][":prefix"] = {"S": prefix}
        while True:
            page = self._call("reading a partition", "query", **params)
            items += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return items
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def links(self) -> Iterator[Raw]:
        """Every identifier link (ID#…/LINK) of the table: a scan, for the command line only (data written
        before leads recorded their identifiers)."""
        params: dict[str, Any] = {
            "TableName": self.leads_table,
            "FilterExpression": "begins_with(pk, :id) AND sk = :link",
            "ExpressionAttributeValues": {":id": {"S": "ID#"}, ":link": {"S": "LINK"}},
        }
        while True:
            page = self._call("scanning identifier links", "scan", **params)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def delete(self, table: str, keys: list[tuple[str, str]]) -> None:
        """Delete items, 25 to a BatchWriteItem, retrying what DynamoDB leaves unprocessed."""
        for start in range(0, len(keys), BATCH_WRITE_LIMIT):
            _write_batch(
                self.client,
                table,
                [
                    {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}}
                    for pk, sk in keys[start : start + BATCH_WRITE_LIMIT]
                ],
            )

    def tombstone(
        self, lead_ids: list[str], until: datetime | None, states: dict[str, Raw] | None = None
    ) -> None:
        """Put a tombstone in place of each lead's STATE: nothing else, so it holds no data; scoring reads
        it with the STATE it reads anyway and drops the lead's records; the TTL deletes it at `until`.
        `states`: for a shared device's lead another person holds now, its STATE, whose hand-overs (lead
        ids and times, nothing personal) the tombstone keeps, without an end: the holder keeps the device."""
        kept = {lead: {"handed": s["handed"]} for lead, s in (states or {}).items() if "handed" in s}
        expires = {"expires_at": {"N": str(int(until.timestamp()))}} if until is not None else {}
        for start in range(0, len(lead_ids), BATCH_WRITE_LIMIT):
            _write_batch(
                self.client,
                self.leads_table,
                [
                    {
                        "PutRequest": {
                            "Item": {
                                "pk": {"S": lead_pk(lead)},
                                "sk": {"S": STATE_SK},
                                "erased": {"BOOL": True},
                                **expires,
                                **kept.get(lead, {}),
                            }
                        }
                    }
                    for lead in lead_ids[start : start + BATCH_WRITE_LIMIT]
                ],
            )

    def suppress(self, keyed_hashes: list[str], now: datetime) -> None:
        with mapped_errors("writing suppression entries"), self.suppressions.batch_write() as batch:
            for keyed in keyed_hashes:
                batch.save(self.suppressions(suppress_pk(keyed), SUPPRESS_SK, suppressed_at=timestamp(now)))


class ParkedMessages:
    """Messages parked in a queue (NotifyFailuresQueue): read without taking them (each comes back after a
    short visibility timeout), and deleted by receipt handle."""

    VISIBILITY_SECONDS = 30

    def __init__(self, queue: str) -> None:
        self.queue = queue  # URL, or name (resolved on first use)
        self.client = aws.client("sqs")
        self._url: str | None = queue if queue.startswith(("http://", "https://")) else None

    def url(self) -> str:
        if self._url is None:
            self._url = str(self.client.get_queue_url(QueueName=self.queue)["QueueUrl"])
        return self._url

    def read(self) -> list[tuple[str, str, Any]]:
        """(message id, receipt handle, body as JSON or text) of each message visible now."""
        seen: dict[str, tuple[str, str, Any]] = {}
        try:
            while True:
                answer = self.client.receive_message(
                    QueueUrl=self.url(),
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=self.VISIBILITY_SECONDS,
                    WaitTimeSeconds=0,
                )
                batch = answer.get("Messages", [])
                fresh = [m for m in batch if m["MessageId"] not in seen]
                if not fresh:
                    return list(seen.values())
                for message in fresh:
                    try:
                        body: Any = json.loads(message["Body"])
                    except ValueError:
                        body = message["Body"]
                    seen[message["MessageId"]] = (message["MessageId"], message["ReceiptHandle"], body)
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"reading parked messages failed ({type(exc).__name__})") from exc

    def release(self, receipt_handles: list[str]) -> None:
        """Make messages read visible again at once (they were only looked at)."""
        try:
            for handle in receipt_handles:
                self.client.change_message_visibility(
                    QueueUrl=self.url(), ReceiptHandle=handle, VisibilityTimeout=0
                )
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"releasing parked messages failed ({type(exc).__name__})") from exc

    def delete(self, receipt_handles: list[str]) -> None:
        try:
            for handle in receipt_handles:
                self.client.delete_message(QueueUrl=self.url(), ReceiptHandle=handle)
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"deleting parked messages failed ({type(exc).__name__})") from exc


def effect_hash(key: Any) -> str:
    """The hash Powertools idempotency keys a record with (`<function>#<hash>`): MD5 over the key's JSON
    with sorted keys (`BasePersistenceLayer._generate_hash`; tests/integration/test_privacy.py checks it
    against records PublishFunction and NotifySalesFunction really write)."""
    return hashlib.md5(json.dumps(key, sort_keys=True).encode(), usedforsecurity=False).hexdigest()


class IdempotencyRecords:
    """Powertools idempotency records (IdempotencyTable, key `id`). They hold no personal data (the result
    of an effect: an event id, a channel name), but they name a person's stage changes by hash: found by a
    scan of the table (the command line only; records expire after 30 days), deleted by id."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.client = aws.client("dynamodb")

    def find(self, keys: list[Any]) -> list[Raw]:
        """The records of effects keyed by any of `keys` (as the functions' key JMESPath gives them)."""
        wanted = {effect_hash(key) for key in keys}
        if not wanted:
            return []
        found: list[Raw] = []
        params: dict[str, Any] = {"TableName": self.table}
        try:
            while True:
                page = self.client.scan(**params)
                found += [i for i in page.get("Items", []) if i["id"]["S"].rpartition("#")[2] in wanted]
                if "LastEvaluatedKey" not in page:
                    return found
                params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"scanning idempotency records failed ({type(exc).__name__})") from exc

    def delete(self, records: list[Raw]) -> None:
        for start in range(0, len(records), BATCH_WRITE_LIMIT):
            batch = records[start : start + BATCH_WRITE_LIMIT]
            _write_batch(
                self.client, self.table, [{"DeleteRequest": {"Key": {"id": r["id"]}}} for r in batch]
            )
