"""Where sales notifications go: a JSON-lines file (local), Slack, or an SNS topic (e-mail)."""

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError

from botocore.exceptions import BotoCoreError, ClientError

from leadstream.notifications.blocks import card_link, slack_message
from leadstream.notifications.message import SUBJECT_LIMIT, Notifier, one_line
from leadstream.platform import aws, secrets
from leadstream.platform.errors import NotifyFailed, SecretUnavailable


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

    def __init__(
        self, webhook: str | Callable[[], str], timeout: float = 5.0, card_url: str | None = None
    ) -> None:
        """`webhook`: the URL, or a function that fetches it (from Secrets Manager) when first needed;
        `card_url`: the base URL the message links a lead's LeadCard under (`<card_url>/api/leads/<id>`)."""
        self._webhook = webhook
        self.timeout = timeout
        self.card_url = card_url
        if isinstance(webhook, str):
            self._checked(webhook)

    @staticmethod
    def _checked(url: str) -> str:
        local = url.startswith(("http://127.0.0.1:", "http://localhost:"))  # a local stand-in
        if not (url.startswith("https://") or local):
            raise ValueError("the Slack webhook URL must be https")
        return url

    def body(self, subject: str, text: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """The Block Kit message (notifications.blocks) of the stage change in `payload` (the bus event's
        detail; an `owner` key, when the notification knows it, names the lead's owner)."""
        about = payload or {}
        lead_id = about.get("lead_id")
        return slack_message(
            subject,
            text,
            lead_id=lead_id,
            transition_id=about.get("transition_id"),
            from_stage=about.get("from_stage"),
            to_stage=about.get("to_stage"),
            hand_raiser=bool(about.get("hand_raiser")),
            owner=about.get("owner"),
            link=card_link(self.card_url, lead_id) if lead_id else None,
        )

    def send(self, subject: str, text: str, payload: dict[str, Any]) -> None:
        try:
            url = self._checked(self._webhook if isinstance(self._webhook, str) else self._webhook())
        except SecretUnavailable as exc:
            raise NotifyFailed(f"Slack webhook URL unavailable: {exc}") from exc
        body = json.dumps(self.body(subject, text, payload)).encode()
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
    notifications_file: Path | None,
    slack_webhook_secret: str | None,
    notify_topic_arn: str | None,
    card_url: str | None = None,
) -> dict[str, Notifier]:
    """The channels the stack configured, by name: a file (local), Slack (its webhook URL read from Secrets
    Manager when first needed), SNS (e-mail)."""
    found: list[Notifier] = []
    if notifications_file:
        found.append(FileNotifier(notifications_file))
    if slack_webhook_secret:
        found.append(slack_from_secret(slack_webhook_secret, card_url))
    if notify_topic_arn:
        found.append(SnsNotifier(notify_topic_arn, aws.client("sns")))
    return {notifier.name: notifier for notifier in found}


def slack_from_secret(secret_id: str, card_url: str | None = None) -> SlackNotifier:
    """Slack through the incoming webhook whose URL the secret holds (read when first needed, cached);
    `card_url`: where its messages link a lead's LeadCard."""
    return SlackNotifier(lambda: secrets.secret(secret_id), card_url=card_url)
