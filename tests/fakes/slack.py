"""A fake Slack: the Web API's `users.info` (bearer token checked, as Slack does) from a dict of user id ->
e-mail, and the `response_url`s of interactions, recording what was posted to each. Served on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


class FakeSlack:
    def __init__(self, token: str, emails: dict[str, str] | None = None) -> None:
        self.token = token
        self.emails = dict(emails or {})  # Slack user id -> the e-mail of their profile
        self.asked: list[str] = []  # users.info calls, by user id
        self.responses: list[tuple[str, dict[str, Any]]] = []  # (response_url path, message)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path != "/api/users.info":
                    return self._answer(404, {"ok": False, "error": "unknown_method"})
                user = parse_qs(url.query).get("user", [""])[0]
                outer.asked.append(user)
                if self.headers.get("Authorization") != f"Bearer {outer.token}":
                    return self._answer(200, {"ok": False, "error": "invalid_auth"})
                if user not in outer.emails:
                    return self._answer(200, {"ok": False, "error": "user_not_found"})
                profile = {"email": outer.emails[user], "real_name": "Sam Seller"}
                self._answer(200, {"ok": True, "user": {"id": user, "deleted": False, "profile": profile}})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.responses.append((self.path, json.loads(body)))
                self._answer(200, {"ok": True})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.api_url = f"{self.url}/api"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def response_url(self, name: str = "T1/1/abc") -> str:
        return f"{self.url}/actions/{name}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
