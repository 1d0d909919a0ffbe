"""HTTP front door: what API Gateway's HTTP API does with a request before and after the routed function.

It reads the whole body (Content-Length or chunked; at most 10 MB), hands the function a payload 2.0 event,
and answers as the HTTP API answers: the function's response, or API Gateway's own JSON errors.

- The body is text in the event only when its Content-Type is text (text/*, application/json,
  application/javascript, application/xml), it has no Content-Encoding and it is valid UTF-8; anything
  else (gzip or deflate bodies, form posts, binary, invalid UTF-8, no Content-Type) is base64-encoded
  with isBase64Encoded true. Bodies are never decompressed: the function sees what the client sent.
- 400 {"message":"Bad Request"}: a Content-Length that is not a number, malformed chunks, or a body that
  stops arriving (shorter than its Content-Length) for `body_timeout` seconds. A body longer than its
  Content-Length is cut there; the rest is dropped with the connection.
- 413 {"message":"Request Entity Too Large"}: a body over 10 MB, or an event over Lambda's 6 MB.
- 401 {"message":"Unauthorized"} / 403 {"message":"Forbidden"}: a route with a JWT authorizer and a token
  API Gateway would refuse (local/authorizer.py says which checks); the function is not invoked.
- 500 {"message":"Internal Server Error"}: the function raised, timed out or crashed, or its response
  is not a valid payload 2.0 response.
- 503 {"message":"Service Unavailable"}: no response within the integration timeout (30 s, or the
  route's TimeoutInMillis); the invocation itself runs on to its end or the function's Timeout.
"""

import base64
import binascii
import contextlib
import io
import json
import mimetypes
import time
import uuid
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.authorizer import Authorized, Denied, IssuerKeys, JwtAuthorizer, authorize
from local.template import Route
from local.workers import FunctionError, FunctionTimeout, Pool, RequestTooLarge

DEMO = Path(__file__).resolve().parent / "demo"
MAX_BODY_BYTES = 10 * 1024 * 1024  # the HTTP API's payload limit
BODY_TIMEOUT = 10.0  # seconds a request's body may stall before the answer is 400
TEXT_TYPES = ("application/json", "application/javascript", "application/xml")
# API Gateway's own answers, {"message": ...}
MESSAGES = {
    HTTPStatus.BAD_REQUEST: "Bad Request",
    HTTPStatus.UNAUTHORIZED: "Unauthorized",
    HTTPStatus.FORBIDDEN: "Forbidden",
    HTTPStatus.NOT_FOUND: "Not Found",
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "Request Entity Too Large",
    HTTPStatus.INTERNAL_SERVER_ERROR: "Internal Server Error",
    HTTPStatus.SERVICE_UNAVAILABLE: "Service Unavailable",
}
# Connection-level headers: they describe the hop from the client, not the request the function gets.
HOP_BY_HOP = frozenset(
    (
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
    )
)


def body_is_text(body: bytes, headers: dict[str, str]) -> bool:
    """Whether the HTTP API passes a body as text (else base64), from its headers and its bytes."""
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        return False
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if not (media.startswith("text/") or media in TEXT_TYPES):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _combined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Payload 2.0 keeps one value per name: repeated headers or query parameters are joined with commas."""
    combined: dict[str, str] = {}
    for name, value in pairs:
        combined[name] = f"{combined[name]},{value}" if name in combined else value
    return combined


def api_event(
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    route: Route,
    path_params: dict[str, str],
    source_ip: str,
    authorized: Authorized | None = None,
) -> dict[str, Any]:
    """The payload 2.0 event of a request (`headers` with lower-case names)."""
    parts = urlsplit(raw_path)
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "cookies": [c.strip() for c in headers.get("cookie", "").split(";") if c.strip()] or None,
        "headers": headers,
        "queryStringParameters": _combined(parse_qsl(parts.query, keep_blank_values=True)) or None,
        "pathParameters": path_params or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": "local",
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if authorized is not None:  # a route with a JWT authorizer: what the token says
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": authorized.claims, "scopes": authorized.scopes}
        }
    if body:  # a request without a body has no "body" field
        text = body_is_text(body, headers)
        event["body"] = body.decode("utf-8") if text else base64.b64encode(body).decode()
        event["isBase64Encoded"] = not text
    return event


class BadRequest(Exception):
    """The request cannot be read: API Gateway's own answer, and the connection is closed."""

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def function_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """A payload 2.0 response as status, headers and body. A response without statusCode is the body
    itself, as JSON (API Gateway's inferred format). Raises ValueError for one that cannot be used."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode()
    status = int(result["statusCode"])
    if not 100 <= status <= 599:
        raise ValueError(f"statusCode {status}")
    headers = [(str(k), str(v)) for k, v in (result.get("headers") or {}).items()]
    headers += [("Set-Cookie", str(c)) for c in result.get("cookies") or []]
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError(f"the body is a {type(body).__name__}, not a string")
    if not result.get("isBase64Encoded"):
        return status, headers, (body or "").encode()
    try:
        return status, headers, base64.b64decode(body or "")
    except binascii.Error as exc:
        raise ValueError("isBase64Encoded but the body is not base64") from exc


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # bursts of connections wait in the backlog instead of being refused
    daemon_threads = True


def make_server(
    host: str,
    port: int,
    routes: list[Route],
    pools: dict[str, Pool],
    cors: dict[str, Any],
    log: Callable[[str], None],
    demo_write_key: str,
    body_timeout: float = BODY_TIMEOUT,
    authorizers: dict[str, JwtAuthorizer] | None = None,
    keys: IssuerKeys | None = None,
) -> ThreadingHTTPServer:
    """`authorizers`: the HTTP API's JWT authorizers by name, for the routes that name one; `keys`: where
    their issuers' public keys come from."""
    allowed_origins = set(cors.get("AllowOrigins", []))
    jwt_authorizers = authorizers or {}
    issuer_keys = keys or IssuerKeys()

    class Handler(BaseHTTPRequestHandler):
        server_version = "leadstream-local"
        protocol_version = "HTTP/1.1"  # keep-alive, chunked request bodies, Expect: 100-continue
        timeout = body_timeout  # a read that waits longer (a stalled body, an idle connection) gives up

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _cors_headers(self) -> dict[str, str]:
            headers = getattr(self, "headers", None)
            origin = headers.get("Origin") if headers is not None else None
            if origin and ("*" in allowed_origins or origin in allowed_origins):
                return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
            return {}

        def _send(
            self,
            status: int,
            headers: list[tuple[str, str]] | dict[str, str],
            body: bytes,
            preflight: bool = False,
        ) -> None:
            pairs = list(headers.items()) if isinstance(headers, dict) else headers
            # With a CorsConfiguration, API Gateway's CORS headers replace the function's.
            if cors and not preflight:
                pairs = [(k, v) for k, v in pairs if not k.lower().startswith("access-control-")]
            pairs += list(self._cors_headers().items())
            skip = HOP_BY_HOP | {"content-length"}
            self.send_response(status)
            for key, value in pairs:
                if key.lower() not in skip:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _message(self, status: HTTPStatus, extra: dict[str, str] | None = None) -> None:
            body = json.dumps({"message": MESSAGES.get(status, status.phrase)}, separators=(",", ":"))
            self._send(status.value, {"Content-Type": "application/json", **(extra or {})}, body.encode())

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            """A request http.server cannot parse (bad request line, long headers): JSON, as API Gateway."""
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._message(HTTPStatus(code))

        def do_OPTIONS(self) -> None:
            """API Gateway answers preflights itself only when the API has a CorsConfiguration; without one
            (Leadstream's: its functions answer CORS) OPTIONS goes to the route as any other method."""
            if not cors:
                self._route("OPTIONS")
                return
            self._discard_body()
            headers = {
                "Access-Control-Allow-Methods": ",".join(cors.get("AllowMethods", [])),
                "Access-Control-Allow-Headers": ",".join(cors.get("AllowHeaders", [])),
                "Access-Control-Max-Age": str(cors.get("MaxAge", 0)),
            }
            self._send(204, headers if self._cors_headers() else {}, b"", preflight=True)

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path in ("/", "/demo"):
                self._discard_body()
                self._send(302, {"Location": "/demo/"}, b"")
                return
            if path.startswith("/demo/"):
                self._discard_body()
                self._static(path.removeprefix("/demo/") or "index.html")
                return
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

        def do_PUT(self) -> None:
            self._route("PUT")

        def do_PATCH(self) -> None:
            self._route("PATCH")

        def do_DELETE(self) -> None:
            self._route("DELETE")

        def _static(self, relative: str) -> None:
            target = (DEMO / relative).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_relative_to(DEMO) or not target.is_file():
                self._send(404, {"Content-Type": "text/plain"}, b"not found")
                return
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            content = target.read_bytes()
            if target.suffix == ".html":  # the demo pages carry the demo source's write key
                content = content.replace(b"{{WRITE_KEY}}", demo_write_key.encode())
            self._send(200, {"Content-Type": kind, "Cache-Control": "no-cache"}, content)

        # --- the request body, as API Gateway reads it ------------------------------------------------

        def _read(self, size: int) -> bytes:
            try:
                data = self.rfile.read(size)
            except OSError as exc:  # a timeout, or the client went away
                raise BadRequest(HTTPStatus.BAD_REQUEST, f"the body stalled ({exc})") from None
            if len(data) < size:
                raise BadRequest(HTTPStatus.BAD_REQUEST, "the body ended before its declared length")
            return data

        def _read_line(self, limit: int) -> bytes:
            try:
                line = self.rfile.readline(limit)
            except OSError as exc:  # a timeout, or the client went away
                raise BadRequest(HTTPStatus.BAD_REQUEST, f"the body stalled ({exc})") from None
            if not line.endswith(b"\n"):
                raise BadRequest(HTTPStatus.BAD_REQUEST, "malformed chunked body")
            return line

        def _read_chunked(self) -> bytes:
            body = bytearray()
            while True:
                size_text = self._read_line(1024).split(b";", 1)[0].strip()
                try:
                    size = int(size_text, 16)
                except ValueError:
                    raise BadRequest(HTTPStatus.BAD_REQUEST, "malformed chunk size") from None
                if size < 0:
                    raise BadRequest(HTTPStatus.BAD_REQUEST, "malformed chunk size")
                if size == 0:
                    break
                if len(body) + size > MAX_BODY_BYTES:
                    raise BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "chunked body over 10 MB")
                body += self._read(size)
                if self._read_line(3).strip():
                    raise BadRequest(HTTPStatus.BAD_REQUEST, "malformed chunk end")
            while self._read_line(8192).strip():  # trailer fields: dropped
                pass
            return bytes(body)

        def _pending(self) -> bool:
            """Whether bytes beyond the body are already waiting (a Content-Length shorter than the body)."""
            try:
                self.connection.settimeout(0)
                return isinstance(self.rfile, io.BufferedReader) and bool(self.rfile.peek(1))
            except OSError:
                return False
            finally:
                self.connection.settimeout(self.timeout)

        def _read_body(self) -> bytes:
            transfer = self.headers.get("Transfer-Encoding")
            if transfer:
                codings = [c.strip().lower() for c in transfer.split(",") if c.strip()]
                if codings != ["chunked"]:
                    raise BadRequest(HTTPStatus.NOT_IMPLEMENTED, f"Transfer-Encoding {transfer}")
                return self._read_chunked()
            lengths = {v.strip() for v in self.headers.get_all("Content-Length") or []}
            if not lengths:
                return b""
            declared = lengths.pop()
            if lengths or not declared.isdigit():
                raise BadRequest(HTTPStatus.BAD_REQUEST, "invalid Content-Length")
            if int(declared) > MAX_BODY_BYTES:
                raise BadRequest(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body over 10 MB")
            body = self._read(int(declared))
            if self._pending():
                self.close_connection = True  # the rest is not a request: it goes with the connection
            return body

        def _discard_body(self) -> None:
            try:
                self._read_body()
            except BadRequest:
                self.close_connection = True

        # --- routes ------------------------------------------------------------------------------------

        def _event_headers(self, message: Message, body: bytes) -> dict[str, str]:
            pairs = [(k.lower(), v) for k, v in message.items() if k.lower() not in HOP_BY_HOP]
            headers = _combined([(k, v) for k, v in pairs if k != "content-length"])
            if body:
                headers["content-length"] = str(len(body))
            forwarded = headers.get("x-forwarded-for")  # API Gateway appends the client's address
            headers["x-forwarded-for"] = (
                f"{forwarded}, {self.client_address[0]}" if forwarded else self.client_address[0]
            )
            headers["x-forwarded-port"] = str(self.connection.getsockname()[1])
            headers["x-forwarded-proto"] = "http"
            return headers

        def _route(self, method: str) -> None:
            path = urlsplit(self.path).path
            try:
                body = self._read_body()
            except BadRequest as exc:
                self.close_connection = True
                log(f"{method} {path} -> {exc.status.value} ({exc})")
                self._message(exc.status)
                return
            for route in routes:
                params = route.match(method, path)
                if params is not None:
                    break
            else:
                self._message(HTTPStatus.NOT_FOUND)
                return
            headers = self._event_headers(self.headers, body)
            authorized = None
            if route.authorizer is not None:
                try:
                    authorizer = jwt_authorizers[route.authorizer]
                    authorized = authorize(authorizer, route.scopes, headers, issuer_keys)
                except KeyError:
                    log(f"{method} {path} -> 500 (no authorizer {route.authorizer} on the HTTP API)")
                    self._message(HTTPStatus.INTERNAL_SERVER_ERROR)
                    return
                except Denied as exc:
                    log(f"{method} {path} -> {exc.status} ({route.authorizer}: {exc})")
                    self._message(HTTPStatus(exc.status), {"www-authenticate": exc.www_authenticate})
                    return
            event = api_event(
                method, self.path, headers, body, route, params, self.client_address[0], authorized
            )
            request_id = {"apigw-requestid": event["requestContext"]["requestId"]}
            started = time.perf_counter()
            try:
                result = pools[route.function].submit(event).result(timeout=route.timeout_ms / 1000)
                status, out_headers, payload = function_response(result)
            except FutureTimeout:
                log(f"{method} {path} -> 503 ({route.function} gave no response in {route.timeout_ms} ms)")
                self._message(HTTPStatus.SERVICE_UNAVAILABLE, request_id)
                return
            except RequestTooLarge as exc:
                log(f"{method} {path} -> 413 ({exc})")
                self._message(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, request_id)
                return
            except FunctionTimeout as exc:
                log(f"{method} {path} -> 500 ({exc}; its execution environment was stopped)")
                self._message(HTTPStatus.INTERNAL_SERVER_ERROR, request_id)
                return
            except FunctionError as exc:
                log(f"{route.function} failed:\n{exc}")
                self._message(HTTPStatus.INTERNAL_SERVER_ERROR, request_id)
                return
            except (ValueError, TypeError) as exc:
                log(f"{route.function} answered with an invalid response ({exc})")
                self._message(HTTPStatus.INTERNAL_SERVER_ERROR, request_id)
                return
            elapsed = (time.perf_counter() - started) * 1000
            log(f"{method} {path} -> {status} ({route.function}, {elapsed:.0f} ms)")
            self._send(status, [*out_headers, *request_id.items()], payload)

    return Server((host, port), Handler)
