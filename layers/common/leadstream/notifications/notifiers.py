"""Where sales notifications go: a JSON-lines file (local), Slack, or an SNS topic (e-mail)."""

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError

from botocore.exceptions import BotoCoreError, ClientError

from leadstream.notifications.message import SUBJECT_LIMIT, Notifier, for_mrkdwn, one_line, shortened
from leadstream.platform import aws, secrets
from leadstream.platform.errors import NotifyFailed, SecretUnavailable

SLACK_HEADER_LIMIT = 150  # Block Kit: a header's text
SLACK_TEXT_LIMIT = 3000  # Block Kit: a section's text


class FileNotifier:
    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def send(self, subject: str, text: str, payload: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"subject": subject, "text": text, **payload}, default=str) + "\n")


class SlackNotifier:
    name = "slack"

    def __init__(self, webhook: str | Callable[[], str], timeout: float = 5.0) -> None:
        """`webhook`: the URL, or a function that fetches it (from Secrets Manager) when first needed."""
        self._webhook = webhook
        self.timeout = timeout
        if isinstance(webhook, str):
            self._checked(webhook)

    @staticmethod
    def _checked(url: str) -> str:
        local = url.startswith(("http://127.0.0.1:", "http://localhost:"))  # a local stand-in
        if not (url.startswith("https://") or local):
            raise ValueError("the Slack webhook URL must be https")
        return url

    @staticmethod
    def body(subject: str, text: str) -> dict[str, Any]:
        """A Block Kit message: the subject as a header and the text as a section, both `plain_text` (Slack
        renders them as typed: no mentions, links, formatting or emoji codes), and an escaped `text` without
        markup for notifications and clients that show no blocks."""
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": _plain(shortened(subject, SLACK_HEADER_LIMIT))}
        ]
        if text:
            blocks.append({"type": "section", "text": _plain(shortened(text, SLACK_TEXT_LIMIT))})
        fallback = f"{subject}\n{text}" if text else subject
        return {"text": for_mrkdwn(fallback), "mrkdwn": False, "blocks": blocks}

    def send(self, subject: str, text: str, payload: dict[str, Any]) -> None:
        try:
            url = self._checked(self._webhook if isinstance(self._webhook, str) else self._webhook())
        except SecretUnavailable as exc:
            raise NotifyFailed(f"Slack webhook URL unavailable: {exc}") from exc
        body = json.dumps(self.body(subject, text)).encode()
        request = urllib.request.Request(  # noqa: S310 - https (or loopback) enforced above
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
        except HTTPError as exc:
            raise NotifyFailed(f"Slack webhook answered {exc.code}") from exc
        except (URLError, TimeoutError) as exc:
            raise NotifyFailed(
                f"Slack webhook unreachable: {exc.reason if isinstance(exc, URLError) else exc}"
            ) from exc
        if status >= 300:
            raise NotifyFailed(f"Slack webhook answered {status}")


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": False}


class SnsNotifier:
    name = "sns"

    def __init__(self, topic_arn: str, client: Any) -> None:
        self.topic_arn = topic_arn
        self.client = client

    def send(self, subject: str, text: str, payload: dict[str, Any]) -> None:
        try:
            # SNS refuses a Subject with a line break or control character, or of 100 characters or more
            subject_line = one_line(subject, SUBJECT_LIMIT)
            self.client.publish(TopicArn=self.topic_arn, Subject=subject_line, Message=text)
        except (ClientError, BotoCoreError) as exc:
            raise NotifyFailed(f"SNS publish failed: {exc}") from exc


def configured(
    notifications_file: Path | None, slack_webhook_secret: str | None, notify_topic_arn: str | None
) -> dict[str, Notifier]:
    """The channels the stack configured, by name: a file (local), Slack (its webhook URL read from Secrets
    Manager when first needed), SNS (e-mail)."""
    found: list[Notifier] = []
    if notifications_file:
        found.append(FileNotifier(notifications_file))
    if slack_webhook_secret:
        found.append(slack_from_secret(slack_webhook_secret))
    if notify_topic_arn:
        found.append(SnsNotifier(notify_topic_arn, aws.client("sns")))
    return {notifier.name: notifier for notifier in found}


def slack_from_secret(secret_id: str) -> SlackNotifier:
    """Slack through the incoming webhook whose URL the secret holds (read when first needed, cached)."""
    return SlackNotifier(lambda: secrets.secret(secret_id))
