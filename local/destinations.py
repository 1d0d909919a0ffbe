"""EventBridge API destinations: a rule's matching events POSTed to an HTTP endpoint, as EventBridge does it.

What the template says is what happens: the rule's pattern on the bus, the target's Input, InputPath or
InputTransformer (else the whole event, as JSON), the destination's endpoint and method, its connection's
authorization (API_KEY: a header; BASIC: Authorization: Basic; its InvocationHttpParameters), 5 seconds
for an answer, retries with backoff (and Retry-After) on what EventBridge retries - no answer, 401, 407,
409, 429, 5xx - for the target's RetryPolicy, then its DeadLetterConfig queue gets the event with
RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE, RETRY_ATTEMPTS (and EXHAUSTED_RETRY_CONDITION when the
retries ran out) as message attributes. Another answer (400, 403, 404 ...) is not retried.

Not emulated: OAuth connections, InvocationRateLimitPerSecond, path parameters in the endpoint.
"""

import base64
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.events import as_delivered, rule_arn_of, target_input
from local.template import ApiDestinationRule, Stack

Log = Callable[[str], None]
TIMEOUT_SECONDS = 5.0  # EventBridge's client execution timeout for an API destination
RETRYABLE = frozenset({401, 407, 409, 429})
MAX_BACKOFF_SECONDS = 30.0  # EventBridge backs off for longer; a local run wants to see the outcome
IN_FLIGHT = 8  # events being delivered at once per rule
USER_AGENT = "Amazon/EventBridge/ApiDestinations"
_SECRET = re.compile(r"\{\{resolve:secretsmanager:([^}]+)\}\}")


def resolve_secrets(value: str, secretsmanager: Any) -> str:
    """CloudFormation's `{{resolve:secretsmanager:id[:SecretString[:json-key]]}}` references in `value`,
    read from the local Secrets Manager (the id a name or an ARN; version stages and ids not supported)."""

    def read(found: re.Match[str]) -> str:
        parts = found.group(1).split(":")
        split = 7 if parts[0] == "arn" else 1
        secret_id, rest = ":".join(parts[:split]), parts[split:]
        text = str(secretsmanager.get_secret_value(SecretId=secret_id)["SecretString"])
        key = rest[1] if len(rest) > 1 else ""
        return str(json.loads(text)[key]) if key else text

    return _SECRET.sub(read, value)


@dataclass(frozen=True)
class Endpoint:
    """An API destination, resolved: where to send, how, and with which headers."""

    url: str
    method: str
    headers: dict[str, str]


def endpoint_of(stack: Stack, destination: str, secretsmanager: Any) -> Endpoint:
    """The destination's endpoint and its connection's authorization (secrets resolved now)."""
    props = stack.resolve(stack.resources[destination]["Properties"])
    connection_id = stack.by_arn(str(props["ConnectionArn"]))
    if connection_id is None:
        raise ValueError(f"{destination}: its connection is not one of the template's")
    connection = stack.resolve(stack.resources[connection_id]["Properties"])
    auth = connection.get("AuthParameters", {})
    kind = connection["AuthorizationType"]
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    if kind == "API_KEY":
        key = auth["ApiKeyAuthParameters"]
        headers[str(key["ApiKeyName"])] = resolve_secrets(str(key["ApiKeyValue"]), secretsmanager)
    elif kind == "BASIC":
        basic = auth["BasicAuthParameters"]
        password = resolve_secrets(str(basic["Password"]), secretsmanager)
        token = base64.b64encode(f"{basic['Username']}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    else:
        raise ValueError(f"{connection_id}: the local runner does not emulate {kind} connections")
    url = str(props["InvocationEndpoint"])
    extra = auth.get("InvocationHttpParameters", {})
    for header in extra.get("HeaderParameters", []):
        headers[str(header["Key"])] = resolve_secrets(str(header["Value"]), secretsmanager)
    query = [(str(q["Key"]), str(q["Value"])) for q in extra.get("QueryStringParameters", [])]
    if query:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
    return Endpoint(url, str(props.get("HttpMethod", "POST")), headers)


class DeliveryFailed(Exception):
    def __init__(self, code: str, message: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code, self.retryable, self.retry_after = code, retryable, retry_after


def send(endpoint: Endpoint, payload: Any) -> int:
    """One HTTP request with the payload as JSON; its status, or DeliveryFailed."""
    body = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
    request = urllib.request.Request(
        endpoint.url, data=body, method=endpoint.method, headers=endpoint.headers
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        status = error.code
        retry_after = error.headers.get("Retry-After", "")
        raise DeliveryFailed(
            str(status),
            f"the endpoint answered {status}",
            status in RETRYABLE or status >= 500,
            float(retry_after) if retry_after.isdigit() else None,
        ) from None
    except OSError as error:  # no answer: refused, unreachable, timed out
        raise DeliveryFailed("CONNECTION_ERROR", f"no answer from the endpoint: {error}", True) from None


class ApiDestinationDelivery(threading.Thread):
    """Drains a rule's delivery queue (the rule's target in the local AWS) into its API destination."""

    def __init__(
        self,
        stack: Stack,
        rule: ApiDestinationRule,
        queue_url: str,
        aws: dict[str, Any],
        queues: dict[str, str],
        stop: threading.Event,
        log: Log,
    ) -> None:
        super().__init__(daemon=True, name=f"api-destination-{rule.name}")
        self.rule, self.queue_url, self.aws, self.queues, self.stop_event, self.log = (
            rule,
            queue_url,
            aws,
            queues,
            stop,
            log,
        )
        self.region = aws["sqs"].meta.region_name
        self.endpoint = endpoint_of(stack, rule.destination, aws["secretsmanager"])
        self.target_arn = stack.arn(rule.destination)
        self._slots = threading.BoundedSemaphore(IN_FLIGHT)
        # A message stays invisible while its event is delivered, retries included.
        self._visibility = min(rule.max_age + 60, 43_200)

    def run(self) -> None:
        sqs = self.aws["sqs"]
        while not self.stop_event.is_set():
            try:
                messages = sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=IN_FLIGHT,
                    WaitTimeSeconds=1,
                    VisibilityTimeout=self._visibility,
                ).get("Messages", [])
            except Exception as exc:
                if not self.stop_event.is_set():
                    self.log(f"{self.rule.name}: delivery queue error: {exc}")
                self.stop_event.wait(0.5)
                continue
            for message in messages:
                self._slots.acquire()
                threading.Thread(
                    target=self._handle_message, args=(message,), daemon=True, name=self.name
                ).start()

    def _handle_message(self, message: dict[str, Any]) -> None:
        try:
            event = as_delivered(json.loads(message["Body"]), self.region)
            self._deliver(event)
            self.aws["sqs"].delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        except Exception as exc:  # the message comes back after its visibility timeout
            if not self.stop_event.is_set():
                self.log(f"{self.rule.name}: delivery error: {exc}")
        finally:
            self._slots.release()

    def _deliver(self, event: dict[str, Any]) -> None:
        payload = target_input(self.rule, event, self.region)
        started, attempt = time.monotonic(), 0
        while True:
            try:
                send(self.endpoint, payload)
                return
            except DeliveryFailed as failed:
                exhausted = None
                if failed.retryable and attempt >= self.rule.retries:
                    exhausted = "MaximumRetryAttempts"
                elif failed.retryable and time.monotonic() - started > self.rule.max_age:
                    exhausted = "MaximumEventAgeInSeconds"
                if not failed.retryable or exhausted or self.stop_event.is_set():
                    self._dead_letter(event, failed, attempt, exhausted)
                    return
                attempt += 1
                self.log(f"{self.rule.name}: {failed}; retry {attempt}")
                delay = failed.retry_after or min(0.5 * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
                self.stop_event.wait(min(delay, MAX_BACKOFF_SECONDS))

    def _dead_letter(
        self, event: dict[str, Any], failed: DeliveryFailed, retries: int, exhausted: str | None
    ) -> None:
        """EventBridge's dead-letter message: the event as the body, what happened in message attributes."""
        self.log(f"{self.rule.name}: gave up on event {event.get('id')}: {failed}")
        if not self.rule.dead_letter_queue:
            return  # dropped, as EventBridge drops it without a dead-letter queue
        attributes = {
            "RULE_ARN": rule_arn_of(self.rule, self.region),
            "TARGET_ARN": self.target_arn,
            "ERROR_CODE": failed.code,
            "ERROR_MESSAGE": str(failed),
            "RETRY_ATTEMPTS": str(retries),
        }
        if exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = exhausted
        self.aws["sqs"].send_message(
            QueueUrl=self.queues[self.rule.dead_letter_queue],
            MessageBody=json.dumps(event),
            MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
        )
