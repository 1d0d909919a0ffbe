"""A fake IPinfo: answers `GET /<ip>/json` with a bearer token as IPinfo does, from a dict of network
(CIDR) -> answer, and records every address it was asked about. It can be made slow or failing."""

import ipaddress
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeIpinfo:
    def __init__(self, token: str, networks: dict[str, dict[str, Any]] | None = None) -> None:
        self.token = token
        self.networks = dict(networks or {})
        self.asked: list[str] = []  # the addresses looked up, in order
        self.delay = 0.0  # seconds before answering
        self.status = 200  # anything else: that status and IPinfo's error body
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.asked.append(self.path.strip("/").removesuffix("/json"))
                if outer.delay:
                    time.sleep(outer.delay)
                if self.headers.get("Authorization") != f"Bearer {outer.token}":
                    self._answer(403, {"status": 403, "error": {"title": "Unknown token"}})
                elif outer.status != 200:
                    self._answer(outer.status, {"status": outer.status, "error": {"title": "failed"}})
                else:
                    self._answer(200, outer.answer(self.path.strip("/").removesuffix("/json")))

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting (a slow answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def answer(self, ip: str) -> dict[str, Any]:
        address = ipaddress.ip_address(ip)
        for cidr, body in self.networks.items():
            if address in ipaddress.ip_network(cidr):
                return {"ip": ip, **body}
        return {"ip": ip, "country": "DE"}  # an address IPinfo knows nothing of note about

    def stop(self) -> None:
        """Stop answering (the port is closed: a provider that is down). Stopping twice is fine."""
        if self.server.socket.fileno() < 0:
            return
        self.server.shutdown()
        self.server.server_close()
