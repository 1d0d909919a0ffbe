"""The local runner itself, as API Gateway and Lambda would behave, on a stack of test functions of its own
(tests/pipeline/stack): request bodies, the runner's own answers, timeouts, crashes, concurrency, what
--host exposes, and local.invoke's exit status."""

import base64
import gzip
import http.client
import json
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.gateway import make_server
from tests.pipeline.harness import TEST_STACK, Answer, Runner, eventually, local_invoke

pytestmark = pytest.mark.slow

BODY_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def echo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    run = Runner(
        tmp_path_factory.mktemp("echo"), "--template", str(TEST_STACK), "--body-timeout", str(BODY_TIMEOUT)
    )
    run.wait_ready()
    yield run
    run.stop()


def echoed(answer: Answer) -> dict[str, Any]:
    """What the echo function saw: its process, its count of invocations and the event."""
    assert answer.status == 200, (answer.status, answer.body[:500])
    seen: dict[str, Any] = answer.json()
    return seen


def event_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    return base64.b64decode(body) if event["isBase64Encoded"] else body.encode()


def raw_exchange(run: Runner, request: bytes, seconds: float = 10) -> tuple[bytes, float]:
    """Sends bytes as they are on a connection, then reads until the runner closes it."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", run.port), timeout=seconds) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    return received, time.monotonic() - started


# --- request bodies ----------------------------------------------------------------------------------------

PAYLOAD = json.dumps({"batch": [{"type": "page", "anonymousId": "a1"}]}).encode()


@pytest.mark.parametrize(
    ("headers", "body", "as_text"),
    [
        ({"Content-Type": "application/json"}, PAYLOAD, True),
        ({"Content-Type": "text/plain;charset=UTF-8"}, "Grüße".encode(), True),
        ({"Content-Type": "application/json", "Content-Encoding": "gzip"}, gzip.compress(PAYLOAD), False),
        ({"Content-Type": "application/json", "Content-Encoding": "deflate"}, zlib.compress(PAYLOAD), False),
        ({"Content-Type": "application/json"}, b'{"name": "caf\xe9"}', False),  # Latin-1: not UTF-8
        ({"Content-Type": "application/x-www-form-urlencoded"}, b"email=jane%40acme.example", False),
        ({"Content-Type": "application/octet-stream"}, bytes(range(256)), False),
        ({}, b"no content type", False),
    ],
    ids=["json", "text", "gzip", "deflate", "latin-1", "form", "binary", "untyped"],
)
def test_a_body_reaches_the_function_as_text_only_when_it_is_text(echo, headers, body, as_text):
    """As the HTTP API does: never decompressed; base64 unless text-typed, unencoded, valid UTF-8."""
    event = echoed(echo.request("POST", "/echo", body, headers))["event"]

    assert event["isBase64Encoded"] is not as_text
    assert event_body(event) == body
    assert event["headers"].get("content-encoding") == headers.get("Content-Encoding")


def test_a_chunked_body_is_read_whole(echo):
    event = echoed(
        echo.request("POST", "/echo", PAYLOAD, {"Content-Type": "application/json"}, chunked=True)
    )["event"]

    assert event["body"] == PAYLOAD.decode()
    assert event["headers"]["content-length"] == str(len(PAYLOAD))
    assert "transfer-encoding" not in event["headers"]


def test_the_event_has_the_shape_of_payload_2(echo):
    headers = [("Accept", "text/html"), ("X-Custom", "one"), ("x-custom", "two"), ("Cookie", "a=1; b=2")]

    event = echoed(echo.request("GET", "/files/a/b.txt?tag=x&tag=y&empty=", headers=headers))["event"]

    assert event["routeKey"] == "GET /files/{path+}"
    assert event["pathParameters"] == {"path": "a/b.txt"}
    assert event["queryStringParameters"] == {"tag": "x,y", "empty": ""}
    assert event["headers"]["x-custom"] == "one,two"  # repeated headers joined, names in lower case
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-forwarded-proto"] == "http"
    assert event["headers"]["x-forwarded-for"] == event["requestContext"]["http"]["sourceIp"] == "127.0.0.1"
    assert "body" not in event
    assert event["isBase64Encoded"] is False


def test_a_content_length_longer_than_the_body_is_a_400_once_the_body_stalls(echo):
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"

    received, took = raw_exchange(echo, head + b'{"a": 1}')

    assert received.startswith(b"HTTP/1.1 400 ")
    assert received.endswith(b'{"message":"Bad Request"}')
    assert BODY_TIMEOUT <= took < BODY_TIMEOUT + 5


def test_a_content_length_shorter_than_the_body_cuts_it_and_closes_the_connection(echo):
    head = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n"

    received, _ = raw_exchange(echo, head + b"hello, and the rest")

    status, _, body = received.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 200 ")
    assert b"Connection: close" in status
    assert json.loads(body)["event"]["body"] == "hello"


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
            400,
        ),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", 400),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        (b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10485761\r\n\r\n", 413),
    ],
    ids=["bad-chunk", "bad-length", "other-transfer-coding", "over-10-mb"],
)
def test_a_request_that_cannot_be_read_gets_api_gateways_json_answer(echo, request_bytes, status):
    received, took = raw_exchange(echo, request_bytes)

    assert received.startswith(f"HTTP/1.1 {status} ".encode()), received[:200]
    assert json.loads(received.partition(b"\r\n\r\n")[2])["message"]
    assert took < BODY_TIMEOUT + 5


def test_an_event_over_lambdas_6_mb_is_a_413(echo):
    answer = echo.request("POST", "/echo", b"x" * 7_000_000, {"Content-Type": "text/plain"})

    assert (answer.status, answer.json()) == (413, {"message": "Request Entity Too Large"})


# --- responses ---------------------------------------------------------------------------------------------


def test_the_function_response_is_sent_as_api_gateway_sends_it(echo):
    answer = echo.request("GET", "/echo?status=201")

    assert answer.status == 201
    assert answer.header("x-echo") == "yes"
    assert [v for k, v in answer.headers if k.lower() == "set-cookie"] == ["a=1", "b=2"]
    assert answer.header("apigw-requestid") == answer.json()["event"]["requestContext"]["requestId"]


def test_a_response_without_status_code_is_its_json_body(echo):
    answer = echo.request("GET", "/echo?inferred=1")

    assert (answer.status, answer.header("content-type")) == (200, "application/json")
    assert answer.json()["event"]["rawPath"] == "/echo"


def test_a_route_nobody_serves_is_a_json_404(echo):
    answer = echo.request("POST", "/nothing-here", b"{}")

    assert (answer.status, answer.json()) == (404, {"message": "Not Found"})


# --- CORS --------------------------------------------------------------------------------------------------


def test_without_a_cors_configuration_an_options_request_goes_to_its_route_as_api_gateway_sends_it(echo):
    asked = {"Origin": "https://www.acme.test", "Access-Control-Request-Method": "POST"}
    answer = echo.request("OPTIONS", "/echo", headers=asked)

    event = echoed(answer)["event"]
    assert (event["requestContext"]["http"]["method"], event["headers"]["origin"]) == (
        "OPTIONS",
        "https://www.acme.test",
    )
    assert not [k for k, _ in answer.headers if k.lower().startswith("access-control-")]
    missing = echo.request("OPTIONS", "/nothing-here", headers=asked)
    assert (missing.status, missing.json()) == (404, {"message": "Not Found"})


def test_with_a_cors_configuration_the_gateway_answers_preflights_itself():
    cors = {"AllowOrigins": ["https://www.acme.test"], "AllowMethods": ["GET", "POST"], "MaxAge": 600}
    server = make_server("127.0.0.1", 0, [], {}, cors, lambda line: None, "lsk_test")
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def preflight(origin: str) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        connection.request("OPTIONS", "/v1/t", headers={"Origin": origin})
        answer = connection.getresponse()
        answer.read()
        connection.close()
        return answer

    try:
        allowed, foreign = preflight("https://www.acme.test"), preflight("https://evil.example")
    finally:
        server.shutdown()
        server.server_close()

    assert (allowed.status, foreign.status) == (204, 204)
    assert allowed.getheader("Access-Control-Allow-Origin") == "https://www.acme.test"
    assert allowed.getheader("Access-Control-Allow-Methods") == "GET,POST"
    assert allowed.getheader("Access-Control-Max-Age") == "600"
    assert not [k for k, _ in foreign.getheaders() if k.lower().startswith("access-control-")]


# --- failures, timeouts ------------------------------------------------------------------------------------


def test_a_function_error_is_a_500_and_its_environment_serves_on(echo):
    before = echoed(echo.request("GET", "/echo"))

    failed = echo.request("GET", "/echo?fail=raise")

    assert (failed.status, failed.json()) == (500, {"message": "Internal Server Error"})
    after = echoed(echo.request("GET", "/echo"))
    assert after["pid"] == before["pid"]  # Lambda keeps the environment after a handled error
    assert after["invocation"] == before["invocation"] + 2


def test_a_crashed_environment_is_a_500_and_is_replaced(echo):
    before = echoed(echo.request("GET", "/echo"))

    crashed = echo.request("GET", "/echo?fail=exit")

    assert crashed.status == 500
    assert echoed(echo.request("GET", "/echo"))["pid"] != before["pid"]


def test_a_timed_out_request_does_not_answer_the_next_one(echo):
    """Timeout 2 s: the slow request is Lambda's timeout error (500), its environment is stopped, and its
    late reply never reaches the requests after it."""
    warm = echoed(echo.request("GET", "/echo?marker=warm"))

    started = time.monotonic()
    slow = echo.request("GET", "/echo?sleep=3&marker=slow")
    took = time.monotonic() - started

    assert (slow.status, slow.json()) == (500, {"message": "Internal Server Error"})
    assert 2 <= took < 2.9
    time.sleep(1.5)  # when the slow invocation would have answered
    for marker in ("next", "after"):
        seen = echoed(echo.request("GET", f"/echo?marker={marker}"))
        assert seen["event"]["queryStringParameters"]["marker"] == marker
        assert seen["pid"] != warm["pid"]  # the environment that timed out is gone
    assert "Task timed out after 2.00 seconds" in echo.log_path.read_text()


def test_no_answer_within_the_integration_timeout_is_a_503_and_the_invocation_runs_on(echo, tmp_path: Path):
    """PatientFunction may run 10 s, but its route gives up after 1 s, as the HTTP API does after 30 s."""
    done = tmp_path / "done"

    started = time.monotonic()
    answer = echo.request("POST", f"/patient?sleep=2&touch={done}", b"")

    assert (answer.status, answer.json()) == (503, {"message": "Service Unavailable"})
    assert time.monotonic() - started < 1.9
    assert eventually(done.exists, seconds=5)  # the function finished its work


# --- concurrency -------------------------------------------------------------------------------------------


def concurrently(run: Runner, paths: list[str]) -> list[Answer]:
    answers: list[Answer | None] = [None] * len(paths)

    def send(i: int) -> None:
        answers[i] = run.request("GET", paths[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(paths))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def test_concurrent_requests_run_in_execution_environments_of_their_own(echo):
    answers = concurrently(echo, ["/echo?sleep=1"] * 3)

    assert len({echoed(a)["pid"] for a in answers}) == 3


def test_a_function_with_reserved_concurrency_1_takes_requests_in_turn(echo):
    started = time.monotonic()
    answers = concurrently(echo, ["/single?sleep=0.5"] * 2)

    assert len({echoed(a)["pid"] for a in answers}) == 1
    assert sorted(echoed(a)["invocation"] for a in answers)[1] >= 2
    assert time.monotonic() - started >= 1.0


# --- what --host exposes -----------------------------------------------------------------------------------


def listening_addresses(port: int) -> set[str]:
    """The IPv4 addresses a port listens on, from /proc/net/tcp (state 0A: LISTEN)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, _, hex_port = local.partition(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc/net/tcp")
def test_host_0000_exposes_the_api_but_never_the_local_aws(tmp_path: Path):
    run = Runner(tmp_path, "--template", str(TEST_STACK), "--host", "0.0.0.0")
    try:
        run.wait_ready()
        assert listening_addresses(run.port) == {"0.0.0.0"}
        assert listening_addresses(run.aws_port) == {"127.0.0.1"}
    finally:
        log = run.stop()
    assert f"http://0.0.0.0:{run.port}   (listening on 0.0.0.0: reachable from the network)" in log
    assert f"http://127.0.0.1:{run.aws_port}   (this machine only)" in log


# --- local.invoke ------------------------------------------------------------------------------------------


def http_event(**query: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "GET /echo",
        "rawPath": "/echo",
        "headers": {},
        "queryStringParameters": query,
        "requestContext": {"http": {"method": "GET", "path": "/echo"}},
        "isBase64Encoded": False,
    }


def stream_batch(*failing: bool) -> dict[str, Any]:
    return {
        "Records": [
            {"eventSource": "aws:dynamodb", "fail": fail, "dynamodb": {"SequenceNumber": str(100 + i)}}
            for i, fail in enumerate(failing)
        ]
    }


@pytest.mark.parametrize(
    ("function", "event", "status"),
    [
        ("EchoFunction", http_event(), 0),
        ("EchoFunction", http_event(status="404"), 0),  # the function worked: the client erred
        ("EchoFunction", http_event(status="503"), 1),
        ("EchoFunction", http_event(fail="raise"), 1),
        ("EchoFunction", http_event(sleep="3"), 1),  # over its Timeout of 2 s
        ("EchoFunction", stream_batch(False, False), 0),
        ("EchoFunction", stream_batch(False, True), 1),  # a failed record: the batch is retried
        ("NoSuchFunction", http_event(), 2),
    ],
    ids=["ok", "4xx", "5xx", "raised", "timed-out", "batch", "failed-records", "unknown"],
)
def test_local_invoke_exits_non_zero_when_the_function_fails(tmp_path: Path, function, event, status):
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))

    done = local_invoke(function, "-e", str(path), "--template", str(TEST_STACK))

    assert done.returncode == status, done.stderr
    if status == 0:
        json.loads(done.stdout)  # the response, as JSON
    else:
        assert done.stderr
