"""Signed e-mail links and pixels: an HMAC over the parameters, so nobody can forge a redirect or an open.

`python -m cli links sign` builds them; EmailLinksFunction serves them."""

import base64
import hashlib
import hmac
from collections.abc import Callable
from urllib.parse import urlencode

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


# --- the use cases behind /v1/o.gif and /v1/c ---------------------------------------------------------

RECIPIENT = "e"  # the recipient's e-mail digest (identity.email_digest), never the address
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
        if not verify(params, self.secret()) or not params.get(RECIPIENT):
            return False
        self.ingest.email(
            EventType.EMAIL_OPEN, params[RECIPIENT], params.get(CAMPAIGN), None, self._request(facts)
        )
        return True

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
        if not params.get(RECIPIENT) or is_bot(facts.user_agent):
            return target, False
        self.ingest.email(
            EventType.EMAIL_CLICK, params[RECIPIENT], params.get(CAMPAIGN), target, self._request(facts)
        )
        return target, True
