"""What every context stands on: settings, observability, errors, HTTP, AWS clients, the DynamoDB
base, idempotency and the stream consumers' handler."""
