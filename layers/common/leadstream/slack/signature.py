"""Slack's request signature (v0), checked before anything else is read (pure: no I/O).

Slack signs `v0:<X-Slack-Request-Timestamp>:<raw body>` with the app's signing secret (HMAC-SHA256) and
sends `v0=<hex digest>` as X-Slack-Signature. A request more than five minutes from now either way is
refused, so a recorded one cannot be replayed later; the digests are compared in constant time.
"""

import hashlib
import hmac

from leadstream.platform.errors import Unauthorized

MAX_AGE_SECONDS = 300
VERSION = "v0"


def signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    """What Slack sends as X-Slack-Signature for `body` at `timestamp`."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def verify(signing_secret: str, timestamp: str | None, given: str | None, body: bytes, now: float) -> None:
    """Unauthorized unless `given` is Slack's signature of `body` at `timestamp`, within five minutes of
    `now` (epoch seconds). The message says what was wrong, never what was sent."""
    if not timestamp or not given:
        raise Unauthorized(
            "not a Slack request: X-Slack-Request-Timestamp and X-Slack-Signature are required"
        )
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Unauthorized("X-Slack-Request-Timestamp is not a time")
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        raise Unauthorized("the Slack request is more than five minutes old (or from the future): refused")
    if not hmac.compare_digest(signature(signing_secret, timestamp, body).encode(), given.encode()):
        raise Unauthorized("the Slack signature does not match: refused")
