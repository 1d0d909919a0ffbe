"""Exactly-once side effects (publishing, notifying) with Powertools idempotency, configured once.

Records live in the IdempotencyTable, keyed on what makes an effect unique (a transition id, a channel),
and use the process's one DynamoDB client.
"""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from leadstream.platform import aws

RECORD_DAYS = 30  # longer than any redelivery: streams keep records 24 h, queues 14 days


class Once:
    """`@once(fn)` runs `fn(payload=...)` at most once per key (a JMESPath over the payload)."""

    def __init__(self, table: str, key: str, validate: str | None = None, days: float = RECORD_DAYS) -> None:
        """`validate`: a JMESPath over the payload that must be the same on a repeat (else
        IdempotencyValidationError: the same key sent with something else)."""
        self.config = IdempotencyConfig(
            event_key_jmespath=key,
            payload_validation_jmespath=validate or "",
            expires_after_seconds=round(days * 24 * 3600),
        )
        self.store = DynamoDBPersistenceLayer(table_name=table, boto3_client=aws.client("dynamodb"))

    def __call__(self, fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        wrapped: Callable[..., dict[str, Any]] = idempotent_function(
            data_keyword_argument="payload", persistence_store=self.store, config=self.config
        )(fn)
        return wrapped

    def register(self, context: LambdaContext) -> None:
        """Each invocation: lets an in-progress record expire with the function's own timeout."""
        self.config.register_lambda_context(context)
