"""Signed e-mail links and pixels: an HMAC over the parameters, so nobody can forge a redirect or an open."""

import base64
import hashlib
import hmac
from urllib.parse import urlencode

SIGNATURE = "s"


def _canonical(params: dict[str, str]) -> bytes:
    return urlencode(sorted((k, v) for k, v in params.items() if k != SIGNATURE)).encode()


def signature(params: dict[str, str], secret: str) -> str:
    digest = hmac.new(secret.encode(), _canonical(params), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:32]


def verify(params: dict[str, str], secret: str) -> bool:
    given = params.get(SIGNATURE, "")
    return bool(given) and hmac.compare_digest(given.encode(), signature(params, secret).encode())


def signed_query(params: dict[str, str], secret: str) -> str:
    clean = {k: v for k, v in params.items() if v}
    return urlencode({**clean, SIGNATURE: signature(clean, secret)})
