"""Secrets (the link-signing key, the Slack webhook) from Secrets Manager, on the process's one client and
cached five minutes per container: a rotated secret takes effect within that time.

A small cache of our own rather than Powertools' parameters utility, which imports boto3 (and with it
s3transfer and more) for this one call: ~100 ms of every cold start of the functions that read one.
"""

import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from leadstream.platform import aws
from leadstream.platform.errors import SecretUnavailable

MAX_AGE_SECONDS = 300

_cache: dict[str, tuple[float, str]] = {}


def secret(name: str) -> str:
    """The secret's value (`name` is its name or ARN)."""
    hit = _cache.get(name)
    if hit and time.monotonic() - hit[0] < MAX_AGE_SECONDS:
        return hit[1]
    try:
        value = str(aws.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])
    except (BotoCoreError, ClientError) as exc:
        raise SecretUnavailable(f"reading a secret failed ({type(exc).__name__})") from exc
    _cache[name] = (time.monotonic(), value)
    return value


def reader(name: str | None) -> Callable[[], str] | None:
    """A function that reads the secret `name` when first called (then every five minutes), or None
    when there is no secret to read: for callers that need it only on some requests."""
    return (lambda: secret(name)) if name else None


def forget() -> None:
    """Drop cached values (a new container starts with none)."""
    _cache.clear()
