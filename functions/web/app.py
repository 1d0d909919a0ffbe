"""WebFunction: the web app's files, GET /app (the page) and /app/{proxy+}, on the stack's own HTTP API.

The app is static: an HTML page, ES modules and a stylesheet under static/, shipped with this function, no
build step. It signs in with the user-pool API (the Cognito endpoint and app client in /app/config.json)
and then talks to the sales API (/api) like any other client. Served here rather than from S3 and
CloudFront so that one `sam deploy` gives a working app on the API's own origin (no CORS for /api), and
`make run` serves the same files through the same handler.

Each file is read once per container and kept with its gzip form and ETag: a request costs a dict look-up.
The page and the modules are revalidated on every load (ETag, 304), the versioned vendor files are cached
for a year. The Content-Security-Policy allows only this origin and the Cognito endpoint.
"""

import base64
import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from leadstream.platform.settings import WebSettings

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}
settings = WebSettings.from_env()
COMPRESSIBLE = {".html", ".js", ".css", ".svg", ".json", ".webmanifest"}
REVALIDATE = "no-cache"  # may be stored, but asked again (a 304 when unchanged): a deploy shows at once
IMMUTABLE = "public, max-age=31536000, immutable"  # vendor/ files carry their version in their name


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str
    cache_control: str


def _cognito_endpoint() -> str:
    """The user-pool API the browser signs in with: the local AWS under `make run`, else the region's."""
    given = settings.cognito_endpoint
    return given.rstrip("/") + "/" if given else ""


def _config() -> bytes:
    document = {
        "cognitoEndpoint": _cognito_endpoint(),
        "region": settings.region,
        "clientId": settings.sales_app_client_id,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _security_headers_of_this_stack() -> dict[str, str]:
    endpoint = urlsplit(_cognito_endpoint())
    cognito = f"{endpoint.scheme}://{endpoint.netloc}" if endpoint.netloc else ""
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        f"connect-src 'self' {cognito}".rstrip()
        + "; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


SECURITY_HEADERS = _security_headers_of_this_stack()  # the same for every answer: made once per container


@cache
def asset(relative: str) -> Asset | None:
    """The file at `relative` under static/ (None: no such file, or outside static/)."""
    if relative == "config.json":
        body = _config()
    else:
        parts = PurePosixPath(relative).parts
        if not parts or any(part in ("..", ".") or part.startswith(".") for part in parts):
            return None
        path = STATIC.joinpath(*parts)
        if path.suffix not in TYPES or not path.is_file():
            return None
        body = path.read_bytes()
    suffix = PurePosixPath(relative).suffix
    gzipped = gzip.compress(body, compresslevel=9, mtime=0) if suffix in COMPRESSIBLE else None
    return Asset(
        body=body,
        gzipped=gzipped if gzipped is not None and len(gzipped) < len(body) else None,
        content_type=TYPES[suffix],
        etag='"' + hashlib.sha256(body).hexdigest()[:20] + '"',
        cache_control=IMMUTABLE if relative.startswith("vendor/") else REVALIDATE,
    )


def _headers(event: dict[str, Any]) -> dict[str, str]:
    return {name.lower(): value for name, value in (event.get("headers") or {}).items()}


def _accepts_gzip(accept_encoding: str) -> bool:
    for coding in accept_encoding.split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "*") and params.replace(" ", "") not in ("q=0", "q=0.0"):
            return True
    return False


def _answer(status: int, headers: dict[str, str], body: bytes = b"", binary: bool = False) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": headers,
        "body": base64.b64encode(body).decode() if binary else body.decode(),
        "isBase64Encoded": binary,
    }


def _not_found(relative: str) -> dict[str, Any]:
    message = {"message": f"no such file in the web app: /app/{relative}; the app starts at /app"}
    headers = {"Content-Type": "application/json", **SECURITY_HEADERS}
    return _answer(404, headers, json.dumps(message).encode())


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    proxy = (event.get("pathParameters") or {}).get("proxy")
    if proxy in ("", "index.html"):  # the page lives at /app alone: its relative URLs are app/...
        return _answer(301, {"Location": "../app", "Cache-Control": REVALIDATE})
    relative = "index.html" if proxy is None else proxy
    found = asset(relative)
    if found is None:
        return _not_found(relative)
    request = _headers(event)
    headers = {
        "Content-Type": found.content_type,
        "Cache-Control": found.cache_control,
        "ETag": found.etag,
        "Vary": "Accept-Encoding",
        **SECURITY_HEADERS,
    }
    if found.etag in [tag.strip() for tag in request.get("if-none-match", "").split(",")]:
        return _answer(304, headers)
    if found.gzipped is not None and _accepts_gzip(request.get("accept-encoding", "")):
        return _answer(200, {**headers, "Content-Encoding": "gzip"}, found.gzipped, binary=True)
    textual = found.content_type.startswith(("text/", "application/json", "application/manifest"))
    return _answer(200, headers, found.body, binary=not textual)
