"""Signed e-mail links and pixels: an HMAC over the parameters, so nobody can forge a redirect or an open.

`python -m cli links sign` builds them; EmailLinksFunction serves them."""

import base64
import hashlib
import hmac
from collections.abc import Callable
from urllib.parse import urlencode

from leadstream.identity.identifiers import email_digest
from leadstream.platform.errors import BadRequest
from leadstream.platform.http import RequestFacts, location
from leadstream.sources.model import Source
from leadstream.tracking.bots import is_bot
from leadstream.tracking.events import EventType
from leadstream.tracking.ingest import Ingest, Request

SIGNATURE = "s"


def _canonical(params: dict[str, str]) -> bytes:
    return urlencode(sorted((k, v) for k, v in params.items() if k != SIGNATURE)).encode()


def signature(params: dict[str, str], secret: str) -> str:
    digest = hmac.new(secret.encode(), _canonical(params), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def verify(params: dict[str, str], secret: str) -> bool:
    given = params.get(SIGNATURE, "")
    try:
        return bool(given) and hmac.compare_digest(given.encode(), signature(params, secret).encode())
    except UnicodeEncodeError:  # an unpaired surrogate in a parameter: nothing we ever signed
        return False


def signed_query(params: dict[str, str], secret: str) -> str:
    clean = {k: v for k, v in params.items() if v}
    return urlencode({**clean, SIGNATURE: signature(clean, secret)})


# --- who a link was sent to -----------------------------------------------------------------------------
#
# A link names its recipient by the digest of their address (identity.email_digest), the key their lead is
# stored under. A bare digest could be tested against a list of guessed addresses, so the link carries it
# encrypted under the stack's secret instead: a synthetic IV (a keyed hash of the digest) and the digest
# XOR a pad keyed by that IV, both HMAC-SHA256 (deterministic authenticated encryption, SIV-style). Without
# the secret nobody can tell whose link it is; the same address gives the same token, so a campaign's links
# stay stable; a token changed by one bit decodes to nothing.

_TOKEN_KEY = b"leadstream/link-recipient/v1"
_IV_BYTES = 12
_DIGEST_BYTES = 16


def _keyed(secret: str, purpose: bytes, data: bytes) -> bytes:
    key = hmac.new(secret.encode(), _TOKEN_KEY, hashlib.sha256).digest()
    return hmac.new(key, purpose + data, hashlib.sha256).digest()


def recipient_token(email: str, secret: str) -> str:
    """What a link carries for the recipient `email`: their digest, encrypted under `secret`."""
    digest = bytes.fromhex(email_digest(email))
    iv = _keyed(secret, b"iv", digest)[:_IV_BYTES]
    pad = _keyed(secret, b"pad", iv)
    sealed = iv + bytes(a ^ b for a, b in zip(digest, pad, strict=False))
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def recipient_digest(token: str, secret: str) -> str | None:
    """The recipient's e-mail digest from a link's token, or None when `secret` did not make it.

    Links signed before tokens existed carry the bare digest (32 hex digits); their signature proves we
    issued them, so they keep working."""
    if len(token) == 2 * _DIGEST_BYTES and all(c in "0123456789abcdef" for c in token):
        return token
    try:
        sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:  # not base64 (binascii.Error is a ValueError), or not ASCII
        return None
    if len(sealed) != _IV_BYTES + _DIGEST_BYTES:
        return None
    iv, body = sealed[:_IV_BYTES], sealed[_IV_BYTES:]
    digest = bytes(a ^ b for a, b in zip(body, _keyed(secret, b"pad", iv), strict=False))
    if not hmac.compare_digest(iv, _keyed(secret, b"iv", digest)[:_IV_BYTES]):
        return None
    return digest.hex()


# --- the use cases behind /v1/o.gif and /v1/c ---------------------------------------------------------

RECIPIENT = "e"  # the recipient's token (recipient_token), never the address nor its bare digest
CAMPAIGN = "c"
TARGET = "u"
# E-mail links are not sent from a website: they get the default privacy settings of this virtual source.
EMAIL_SOURCE = Source(id="email", name="E-mail links")


class EmailLinks:
    """Opens and clicks of signed links. `secret` fetches the signing secret (cached by the caller)."""

    def __init__(self, ingest: Ingest, secret: Callable[[], str]) -> None:
        self.ingest = ingest
        self.secret = secret

    def _request(self, facts: RequestFacts) -> Request:
        return Request(EMAIL_SOURCE, facts.received_at, facts.source_ip)

    def open(self, params: dict[str, str], facts: RequestFacts) -> bool:
        """Record an open if the pixel's parameters are signed. True when one was recorded."""
        if not verify(params, self.secret()):
            return False
        digest = self._recipient(params)
        if digest is None:
            return False
        self.ingest.email(EventType.EMAIL_OPEN, digest, params.get(CAMPAIGN), None, self._request(facts))
        return True

    def _recipient(self, params: dict[str, str]) -> str | None:
        token = params.get(RECIPIENT)
        return recipient_digest(token, self.secret()) if token else None

    def click(self, params: dict[str, str], facts: RequestFacts) -> tuple[str, bool]:
        """The URL to redirect to, only when its signature is ours (never an open redirect), and whether a
        click was recorded (not for bots: link scanners of mail servers follow every link). The URL is
        the signed one parsed and written again (`platform.http.location`), never the text as it came."""
        target = params.get(TARGET, "")
        if not verify(params, self.secret()):
            raise BadRequest(
                "this link is not signed by this Leadstream (tampered or incomplete); nothing to open"
            )
        target = location(target)  # BadRequest for anything but an http(s) URL
        digest = self._recipient(params)
        if digest is None or is_bot(facts.user_agent):
            return target, False
        self.ingest.email(EventType.EMAIL_CLICK, digest, params.get(CAMPAIGN), target, self._request(facts))
        return target, True
