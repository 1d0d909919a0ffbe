"""What every HTTP entry point shares: body limits, JSON errors, faults mapped to statuses, and CORS."""

import base64
import gzip
import io
import json
import math
import re
import sys
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, override
from urllib.parse import quote, urlsplit, urlunsplit

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from leadstream.platform.errors import (
    BadRequest,
    Forbidden,
    MoveNotAllowed,
    NotFound,
    SecretUnavailable,
    StoreUnavailable,
    Unauthorized,
    validation_details,
)
from leadstream.platform.observability import logger


def error(status: HTTPStatus, message: str, **extra: Any) -> Response[str]:
    return Response(
        status_code=status.value,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"success": False, "error": message, **extra}),
    )


def _inflate(data: bytes, limit: int) -> bytes:
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):
        try:
            return zlib.decompressobj(wbits).decompress(data, limit + 1)
        except zlib.error:
            if wbits < 0:
                raise
    raise AssertionError("unreachable")


def body_text(app: APIGatewayHttpResolver, limit: int) -> str:
    """The request body as text, decompressed when the client compressed it (gzip: analytics-python,
    RudderStack; deflate).

    Unpaired surrogates encoded as if they were characters (what CESU-8 writers send for JSON strings
    with them) are let through to be refused or removed field by field, as their JSON escapes are: one
    such string must not cost the other messages of a batch. Any other byte that is not UTF-8 is a 400."""
    event = app.current_event
    raw = event.body or ""
    try:
        data = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8", "surrogatepass")
    except ValueError as exc:  # binascii.Error
        raise BadRequest("the request body is not valid base64") from exc
    encoding = (event.headers.get("content-encoding") or "").strip().lower()
    if encoding in ("gzip", "x-gzip"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
                data = unzipped.read(limit + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise BadRequest("the body says Content-Encoding: gzip but is not gzip") from exc
    elif encoding == "deflate":  # zlib-wrapped, as HTTP means it, or raw deflate, as some clients send it
        try:
            data = _inflate(data, limit)
        except zlib.error as exc:
            raise BadRequest("the body says Content-Encoding: deflate but is not deflate") from exc
    elif encoding not in ("", "identity"):
        raise BadRequest(f"Content-Encoding {encoding!r} is not supported; send gzip, deflate or none")
    if len(data) > limit:
        raise BadRequest(f"request body is {len(data)} bytes; the limit is {limit} bytes")
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise BadRequest("request body is not UTF-8 text") from exc


def raw_body(app: APIGatewayHttpResolver, limit: int) -> bytes:
    """The request body's bytes exactly as the client sent them (base64 undone: the HTTP API encodes form
    posts so), for a signature over them. BadRequest when it is longer than `limit`."""
    event = app.current_event
    raw = event.body or ""
    try:
        data = base64.b64decode(raw, validate=True) if event.is_base64_encoded else raw.encode("utf-8")
    except ValueError as exc:  # binascii.Error; a lone surrogate
        raise BadRequest("the request body is not valid base64") from exc
    if len(data) > limit:
        raise BadRequest(f"request body is {len(data)} bytes; the limit is {limit} bytes")
    return data


# JSON that parses but that no message needs, refused where it is found (`check_json`): containers nested
# deeper than a caller's limit, and numbers that are not finite (NaN, Infinity, 1e999) or too long to read.
_CUT_DEPTH = 128  # below the parser's own recursion limit (~5,000 levels), far above any caller's limit
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


def _cut_deep(text: str) -> str:
    """`text` with every array or object that opens deeper than _CUT_DEPTH replaced by null. One message
    nested thousands of levels deep must not make a whole batch unreadable: cut like this it parses, and
    `check_json` refuses that message alone (it still nests deeper than any limit)."""
    kept: list[str] = []
    depth, start, cutting = 0, 0, False
    for token in _JSON_TOKENS.finditer(text):
        bracket = token.group()
        if bracket[0] == '"':
            continue
        if bracket in "[{":
            depth += 1
            if depth == _CUT_DEPTH + 1:
                kept.append(text[start : token.start()])
                cutting = True
        else:
            if depth == _CUT_DEPTH + 1 and cutting:
                kept.append("null")
                start, cutting = token.end(), False
            depth -= 1
    kept.append("null" if cutting else text[start:])  # unbalanced: JSON will say what is missing
    return "".join(kept)


def _bounded_int(digits: str) -> float | int:
    """An integer, or infinity (refused by `check_json`) for one longer than Python converts from text."""
    return int(digits) if len(digits) <= sys.get_int_max_str_digits() else math.inf


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError):  # nested too deep for the parser; an integer of 5,000 digits
        return json.loads(_cut_deep(text), parse_int=_bounded_int)


def json_object(text: str, *, max_depth: int | None = None) -> dict[str, Any]:
    """The body as a JSON object; with `max_depth`, checked as a whole by `check_json` (a batch checks
    each message of its own instead, so that one bad message never costs the others)."""
    if not text.strip():
        raise BadRequest("request body is empty; send a JSON object")
    try:
        value = _loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(value, dict):
        raise BadRequest("request body must be a JSON object")
    if max_depth is not None:
        check_json(value, max_depth)
    return value


def check_json(value: Any, max_depth: int) -> None:
    """BadRequest, naming the top-level field, for containers nested deeper than `max_depth` (the object
    itself is level 1) and for numbers that are not finite: NaN and Infinity (which Python's parser
    accepts although JSON has no such numbers), 1e999, or integers too long to read."""
    todo: list[tuple[Any, int, str]] = [(value, 1, "body")]
    while todo:
        item, depth, field = todo.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                problem = "NaN, Infinity and numbers beyond a double's range are not JSON numbers"
                raise BadRequest(f"{field}: {problem}", details=[{"field": field, "problem": problem}])
            continue
        children: Iterable[tuple[Any, Any]]
        if isinstance(item, dict):
            children = item.items()
        elif isinstance(item, list):
            children = ((field, child) for child in item)
        else:
            continue
        if depth > max_depth:
            problem = f"nests deeper than {max_depth} levels"
            raise BadRequest(f"{field}: {problem}", details=[{"field": field, "problem": problem}])
        for key, child in children:
            if isinstance(child, dict | list | float):
                todo.append((child, depth + 1, str(key) if depth == 1 else field))


def write_key(app: APIGatewayHttpResolver, body: dict[str, Any] | None = None) -> str | None:
    """The write key: HTTP Basic user name (Segment SDKs), else `writeKey` in the body or query string.
    Whether it could be a key at all is the source directory's to say (a 401, never a look-up)."""
    auth = app.current_event.headers.get("authorization") or ""
    if auth.lower().startswith("basic "):
        try:
            user = base64.b64decode(auth[6:].strip()).decode().partition(":")[0]
        except ValueError:  # not base64, or not UTF-8 (UnicodeDecodeError is a ValueError)
            raise Unauthorized("the Authorization header is not valid HTTP Basic") from None
        if user:
            return user
    given = (body or {}).get("writeKey") or (app.current_event.query_string_parameters or {}).get("writeKey")
    return given if isinstance(given, str) and given else None


# Characters that never reach a Location header as they are (controls, spaces, quotes, non-ASCII): the
# URL is parsed and written again with these percent-encoded, so no CR/LF can ever start a header.
_URL_SAFE = "/%:@!$&'()*+,;=~"


def location(url: str) -> str:
    """A redirect target as it may go into a Location header: parsed, without user information, and
    re-serialised with everything outside URL syntax percent-encoded. BadRequest if it is no http(s) URL."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # ValueError for a malformed host or port
        if host and not host.isascii():
            host = host.encode("idna").decode("ascii")
    except (ValueError, UnicodeError) as exc:
        raise BadRequest("the redirect URL is not a valid URL") from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise BadRequest("the redirect URL must be an http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise BadRequest("the redirect URL must not carry a user name or password")
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port is not None else "")
    return urlunsplit(
        (
            parts.scheme.lower(),
            quote(netloc, safe="[]:"),
            quote(parts.path, safe=_URL_SAFE),
            quote(parts.query, safe=_URL_SAFE + "?"),
            quote(parts.fragment, safe=_URL_SAFE + "?"),
        )
    )


def received_at(app: APIGatewayHttpResolver) -> datetime:
    epoch_ms = app.current_event.request_context.time_epoch
    return datetime.fromtimestamp(epoch_ms / 1000, UTC) if epoch_ms else datetime.now(UTC)


# What a 503 may truthfully say: a request can fail after some of its writes (a link, a profile, the first
# 25 events of a batch). Every write is idempotent, so the same request again converges to exactly once.
UNAVAILABLE = (
    "temporarily unavailable: part of this request may have been stored; retry it, a retried message "
    "(same messageId) is stored once"
)


def install_error_handlers(app: APIGatewayHttpResolver) -> None:
    @app.exception_handler(BadRequest)
    def _bad_request(exc: BadRequest) -> Response[str]:
        extra = {"details": exc.details} if exc.details else {}
        return error(HTTPStatus.BAD_REQUEST, str(exc), **extra)

    @app.exception_handler(ValidationError)
    def _invalid(exc: ValidationError) -> Response[str]:
        return error(HTTPStatus.BAD_REQUEST, "the request is not valid", details=validation_details(exc))

    @app.exception_handler(Unauthorized)
    def _unauthorized(exc: Unauthorized) -> Response[str]:
        return error(HTTPStatus.UNAUTHORIZED, str(exc))

    @app.exception_handler(Forbidden)
    def _forbidden(exc: Forbidden) -> Response[str]:
        return error(HTTPStatus.FORBIDDEN, str(exc))

    @app.exception_handler(NotFound)
    def _not_found(exc: NotFound) -> Response[str]:
        return error(HTTPStatus.NOT_FOUND, str(exc))

    @app.exception_handler(MoveNotAllowed)
    def _move_not_allowed(exc: MoveNotAllowed) -> Response[str]:
        extra = {"missing": exc.missing} if exc.missing else {}
        return error(HTTPStatus.CONFLICT, str(exc), current_stage=exc.stage, allowed=exc.allowed, **extra)

    @app.exception_handler([StoreUnavailable, SecretUnavailable])
    def _unavailable(exc: StoreUnavailable | SecretUnavailable) -> Response[str]:
        logger.warning("a dependency is unavailable, client told to retry", reason=str(exc))
        return Response(
            status_code=HTTPStatus.SERVICE_UNAVAILABLE.value,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps({"success": False, "error": UNAVAILABLE}),
            headers={"Retry-After": "1"},
        )


@dataclass(frozen=True)
class RequestFacts:
    """What the HTTP request says about its caller, apart from the body: the use cases decide with it."""

    received_at: datetime
    write_key: str | None
    origin: str | None  # browsers send it; servers and SDKs do not
    referer: str | None
    user_agent: str | None  # of the HTTP client (a browser, or an SDK's library)
    source_ip: str | None
    do_not_track: bool  # DNT: 1 or Sec-GPC: 1
    content_type: str


def request_facts(app: APIGatewayHttpResolver, body: dict[str, Any] | None = None) -> RequestFacts:
    event = app.current_event
    headers = event.headers
    return RequestFacts(
        received_at=received_at(app),
        write_key=write_key(app, body),
        origin=headers.get("origin"),
        referer=headers.get("referer"),
        user_agent=headers.get("user-agent"),
        source_ip=event.request_context.http.source_ip,
        do_not_track=headers.get("dnt") == "1" or headers.get("sec-gpc") == "1",
        content_type=(headers.get("content-type") or "").split(";")[0].strip().lower(),
    )


# --- CORS: answered by the functions, from the sources table (the HTTP API has no CorsConfiguration), so a
# site's origin works as soon as the command line wrote it. Never `*`: always the one origin that asked.

CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "content-type, authorization"  # what the snippet and Segment-style SDKs send
CORS_MAX_AGE = 86400  # seconds a browser may reuse a preflight's yes (Chromium keeps one 2 h at most)
MAX_ORIGIN_LENGTH = 300  # scheme, a host name of at most 253 characters, a port
_ORIGIN = re.compile(r"https?://(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")


def browser_origin(value: str | None) -> str | None:
    """`value` if it is a website's origin as browsers send it (`http(s)://host[:port]`, lower case), else
    None: no Origin, "null" (sandboxed frames, files), other schemes, anything malformed or too long."""
    if value is None or len(value) > MAX_ORIGIN_LENGTH or not _ORIGIN.fullmatch(value):
        return None
    return value


def preflight(origin: str) -> Response[str]:
    """The yes to a CORS preflight from `origin` (the caller decided it may send)."""
    headers = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": CORS_METHODS,
        "Access-Control-Allow-Headers": CORS_HEADERS,
        "Access-Control-Max-Age": str(CORS_MAX_AGE),
        "Vary": "Origin",
    }
    return Response(status_code=HTTPStatus.NO_CONTENT.value, headers=headers, body="")


class BrowserResolver(APIGatewayHttpResolver):
    """The resolver of the functions browsers call from a source's site. Every answer to a request with an
    Origin carries that origin back (`Access-Control-Allow-Origin`, `Vary: Origin`), so that the page can
    read it — a refusal's JSON included ("origin X is not allowed for this source"). That gives nothing
    away: a success only follows an origin the source allows (the source directory refuses any other with
    a 403), and an error's body holds no data. A preflight (OPTIONS) is answered by its route alone:
    `preflight` for an origin a source lists, no CORS headers for any other."""

    @override
    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        answer = super().resolve(event, context)
        method = str(event.get("requestContext", {}).get("http", {}).get("method", "")).upper()
        origin = browser_origin((event.get("headers") or {}).get("origin"))
        if origin is None or method == "OPTIONS":
            return answer
        headers: dict[str, str] = answer.setdefault("headers", {})
        for name in [n for n in headers if n.lower().startswith("access-control-allow-")]:
            del headers[name]  # one answer, one origin: this one
        headers["Access-Control-Allow-Origin"] = origin
        vary = next((n for n in headers if n.lower() == "vary"), None)
        headers[vary or "Vary"] = f"{headers[vary]}, Origin" if vary else "Origin"
        return answer
