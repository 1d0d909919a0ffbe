"""HTTP front door: turns requests into API Gateway HTTP API (payload v2) events for the routed function."""

import base64
import json
import mimetypes
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from local.template import Route
from local.workers import FunctionError, Worker

DEMO = Path(__file__).resolve().parent / "demo"
TEXT_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/")


def api_event(
    method: str,
    raw_path: str,
    headers: dict[str, str],
    body: bytes,
    route: Route,
    path_params: dict[str, str],
    source_ip: str,
) -> dict[str, Any]:
    parts = urlsplit(raw_path)
    content_type = headers.get("content-type", "")
    is_text = not body or any(content_type.startswith(t) for t in TEXT_TYPES)
    now = datetime.now(UTC)
    return {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "cookies": [c.strip() for c in headers.get("cookie", "").split(";") if c.strip()] or None,
        "headers": headers,
        "queryStringParameters": dict(parse_qsl(parts.query)) or None,
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
        "body": body.decode() if is_text else base64.b64encode(body).decode(),
        "isBase64Encoded": not is_text,
    }


def make_server(
    host: str,
    port: int,
    routes: list[Route],
    workers: dict[str, Worker],
    cors: dict[str, Any],
    log: Callable[[str], None],
    demo_write_key: str,
) -> ThreadingHTTPServer:
    allowed_origins = set(cors.get("AllowOrigins", []))

    class Handler(BaseHTTPRequestHandler):
        server_version = "leadstream-local"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _cors_headers(self) -> dict[str, str]:
            origin = self.headers.get("Origin")
            if origin and ("*" in allowed_origins or origin in allowed_origins):
                return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
            return {}

        def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in {**headers, **self._cors_headers()}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_OPTIONS(self) -> None:
            headers = {
                "Access-Control-Allow-Methods": ",".join(cors.get("AllowMethods", [])),
                "Access-Control-Allow-Headers": ",".join(cors.get("AllowHeaders", [])),
                "Access-Control-Max-Age": str(cors.get("MaxAge", 0)),
            }
            self._send(204, headers if self._cors_headers() else {}, b"")

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path in ("/", "/demo"):
                self._send(302, {"Location": "/demo/"}, b"")
                return
            if path.startswith("/demo/"):
                self._static(path.removeprefix("/demo/") or "index.html")
                return
            self._route("GET")

        def do_POST(self) -> None:
            self._route("POST")

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

        def _route(self, method: str) -> None:
            path = urlsplit(self.path).path
            for route in routes:
                params = route.match(method, path)
                if params is not None:
                    break
            else:
                body = json.dumps({"message": "Not Found"}).encode()
                self._send(404, {"Content-Type": "application/json"}, body)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            event = api_event(method, self.path, headers, body, route, params, self.client_address[0])
            started = time.perf_counter()
            try:
                result = workers[route.function].invoke(event)
            except FunctionError as exc:
                log(f"{route.function} failed:\n{exc}")
                self._send(500, {"Content-Type": "application/json"}, b'{"message":"Internal Server Error"}')
                return
            elapsed = (time.perf_counter() - started) * 1000
            status = int(result.get("statusCode", 200))
            log(f"{method} {path} -> {status} ({route.function}, {elapsed:.0f} ms)")
            out = result.get("body") or ""
            payload = base64.b64decode(out) if result.get("isBase64Encoded") else out.encode()
            self._send(status, dict(result.get("headers") or {}), payload)

    return ThreadingHTTPServer((host, port), Handler)
