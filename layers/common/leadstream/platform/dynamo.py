"""The one DynamoDB base every repository stands on: PynamoDB items on the process's one client, and the one
place where PynamoDB/botocore errors become Leadstream's.

Repositories map items to domain objects and errors to `StoreUnavailable`; they decide nothing.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import UnicodeAttribute
from pynamodb.connection import TableConnection
from pynamodb.exceptions import PynamoDBException
from pynamodb.models import Model

from leadstream.platform import aws
from leadstream.platform.errors import StoreUnavailable


class Item(Model):
    """A pk/sk item. Concrete models are bound to a table with `bind`; all of them share one client."""

    class Meta:
        abstract = True

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)

    _tables: ClassVar[dict[str, TableConnection]] = {}

    @classmethod
    def _get_connection(cls) -> TableConnection:
        # PynamoDB gives every model class a connection with a botocore session and client of its own (tens
        # of milliseconds each on a cold start); ours all use the process's one DynamoDB client.
        connection = super()._get_connection()
        connection.connection._client = aws.client("dynamodb")
        return connection


def bind[M: Item](base: type[M], table: str) -> type[M]:
    """A concrete model of `base` on `table` (PynamoDB reads Meta when a class is defined). Repositories
    bind at init, and so the DynamoDB client is made at init too, not in the first request."""
    aws.client("dynamodb")
    meta = type("Meta", (), {"table_name": table})
    return type(base.__name__.removesuffix("Item") + "On" + table, (base,), {"Meta": meta})


def is_condition_failure(exc: PynamoDBException) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


@contextmanager
def mapped_errors(action: str) -> Iterator[None]:
    """Any PynamoDB/botocore failure inside becomes `StoreUnavailable` (the caller retries)."""
    try:
        yield
    except PynamoDBException as exc:
        raise StoreUnavailable(f"{action} failed ({exc.cause_response_code or type(exc).__name__})") from exc


def save_unless(item: Item, condition: Any, action: str) -> bool:
    """PutItem under a condition; False when the condition failed (the item was there, or changed)."""
    try:
        item.save(condition=condition)
    except PynamoDBException as exc:
        if is_condition_failure(exc):
            return False
        raise StoreUnavailable(f"{action} failed ({exc.cause_response_code})") from exc
    return True


def update_unless(item: Item, actions: list[Any], condition: Any, action: str) -> bool:
    """UpdateItem under a condition; False when the condition failed."""
    try:
        item.update(actions=actions, condition=condition)
    except PynamoDBException as exc:
        if is_condition_failure(exc):
            return False
        raise StoreUnavailable(f"{action} failed ({exc.cause_response_code})") from exc
    return True


def transact(
    actions: list[dict[str, Any]], action: str, lost: frozenset[str] = frozenset({"ConditionalCheckFailed"})
) -> bool:
    """One TransactWriteItems. False when DynamoDB cancelled it for one of the `lost` reasons (a condition
    another writer made false: the caller re-reads); StoreUnavailable for anything else."""
    try:
        aws.client("dynamodb").transact_write_items(TransactItems=actions)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        reasons = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
        if code == "TransactionCanceledException" and reasons & lost:
            return False
        raise StoreUnavailable(f"{action} failed ({code})") from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"{action} failed ({type(exc).__name__})") from exc
    return True


def timestamp(value: datetime | None) -> float | None:
    """Epoch seconds, to the millisecond: compact numbers in items."""
    return None if value is None else round(value.timestamp(), 3)


def moment(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)
