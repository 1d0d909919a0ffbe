"""What every HTTP entry point shares: body limits, JSON errors and the mapping of faults to statuses."""

import base64
import gzip
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from pydantic import ValidationError

from leadstream.platform.errors import (
    BadRequest,
    Forbidden,
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


def body_text(app: APIGatewayHttpResolver, limit: int) -> str:
    """The request body as text, gunzipped when the client compressed it (analytics-python can)."""
    event = app.current_event
    raw = event.body or ""
    data = base64.b64decode(raw) if event.is_base64_encoded else raw.encode()
    if (event.headers.get("content-encoding") or "").lower() == "gzip":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped:
                data = unzipped.read(limit + 1)
        except (OSError, EOFError) as exc:
            raise BadRequest("the body says Content-Encoding: gzip but is not gzip") from exc
    if len(data) > limit:
        raise BadRequest(f"request body is {len(data)} bytes; the limit is {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("request body is not UTF-8 text") from exc


def json_object(text: str) -> dict[str, Any]:
    if not text.strip():
        raise BadRequest("request body is empty; send a JSON object")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(value, dict):
        raise BadRequest("request body must be a JSON object")
    return value


def write_key(app: APIGatewayHttpResolver, body: dict[str, Any] | None = None) -> str | None:
    """The write key: HTTP Basic user name (Segment SDKs), else `writeKey` in the body or query string."""
    auth = app.current_event.headers.get("authorization") or ""
    if auth.lower().startswith("basic "):
        try:
            user = base64.b64decode(auth[6:].strip()).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            raise BadRequest("the Authorization header is not valid HTTP Basic") from None
        if user:
            return user
    given = (body or {}).get("writeKey") or (app.current_event.query_string_parameters or {}).get("writeKey")
    return str(given) if given else None


def received_at(app: APIGatewayHttpResolver) -> datetime:
    epoch_ms = app.current_event.request_context.time_epoch
    return datetime.fromtimestamp(epoch_ms / 1000, UTC) if epoch_ms else datetime.now(UTC)


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

    @app.exception_handler([StoreUnavailable, SecretUnavailable])
    def _unavailable(exc: StoreUnavailable | SecretUnavailable) -> Response[str]:
        logger.warning("a dependency is unavailable, client told to retry", reason=str(exc))
        return Response(
            status_code=HTTPStatus.SERVICE_UNAVAILABLE.value,
            content_type=content_types.APPLICATION_JSON,
            body=json.dumps(
                {"success": False, "error": "temporarily unavailable, nothing was stored; retry"}
            ),
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
