"""`make run`'s runner in a process of its own, on free ports, and what talks to it over HTTP."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from local.runner import DEMO_WRITE_KEY
from tests.builders import basic_auth

REPO = Path(__file__).resolve().parents[2]
TEST_STACK = Path(__file__).resolve().parent / "stack" / "template.yaml"  # the runner's own test functions
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Answer:
    """An HTTP response, read whole."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)


class Runner:
    def __init__(self, tmp: Path, *options: str, env: dict[str, str] | None = None) -> None:
        """`env`: more environment for the runner (e.g. LEADSTREAM_COMPANY_LOOKUP_TOKEN)."""
        self.port, self.aws_port = free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.endpoint = f"http://127.0.0.1:{self.aws_port}"
        self.notifications = tmp / "notifications.jsonl"
        self.log_path = tmp / "runner.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.runner",
                "--port",
                str(self.port),
                "--aws-port",
                str(self.aws_port),
                "--notifications",
                str(self.notifications),
                *options,
            ],
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )

    def wait_ready(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"runner exited:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.base}/demo/", timeout=1) as page:
                    if page.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"runner not ready in {seconds}s:\n{self.log_path.read_text()}")

    def post(
        self,
        path: str,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        auth: bool = True,
    ) -> int:
        """A browser's POST (its user agent, unless `headers` say otherwise); the HTTP status."""
        key = basic_auth(DEMO_WRITE_KEY) if auth else {}
        request = urllib.request.Request(
            self.base + path,
            data=body,
            method="POST",
            headers={"content-type": content_type, "user-agent": BROWSER, **key, **(headers or {})},
        )

        class Manual(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        try:
            with urllib.request.build_opener(Manual).open(request, timeout=10) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return error.code

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        chunked: bool = False,
        timeout: float = 30,
    ) -> Answer:
        """One request on a connection of its own, headers exactly as given (a list may repeat a name)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
            connection.putrequest(method, path, skip_accept_encoding=True)
            for name, value in pairs:
                connection.putheader(name, value)
            if chunked:
                connection.putheader("Transfer-Encoding", "chunked")
            elif body is not None and not any(k.lower() == "content-length" for k, _ in pairs):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders()
            if body is not None and chunked:
                for start in range(0, len(body), 7):  # small chunks, so that there are several
                    piece = body[start : start + 7]
                    connection.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                connection.send(b"0\r\n\r\n")
            elif body is not None:
                connection.send(body)
            response = connection.getresponse()
            return Answer(response.status, response.getheaders(), response.read())
        finally:
            connection.close()

    def notes(self) -> list[dict[str, Any]]:
        if not self.notifications.exists():
            return []
        return [json.loads(line) for line in self.notifications.read_text().splitlines() if line.strip()]

    def stop(self) -> str:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.log.close()
        return self.log_path.read_text()


def eventually(check: Any, seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def local_invoke(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`python -m local.invoke ...`, as a developer runs it."""
    return subprocess.run(
        [sys.executable, "-m", "local.invoke", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
