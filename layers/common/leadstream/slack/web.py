"""Slack's Web API, as much as acting from a button needs: a user's e-mail (`users.info`, with a bot
token holding `users:read.email`) and the answer to an interaction (its `response_url`).

Plain urllib with short timeouts: Slack wants its answer within three seconds. E-mail addresses are
cached a few minutes per container (a double click, a busy channel), never logged.
"""

import json
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit

from pydantic import BaseModel, Field, ValidationError

from leadstream.platform.errors import NotifyFailed, SecretUnavailable

EMAIL_MAX_AGE = 300  # seconds a Slack user's e-mail is reused
LOOPBACK = ("127.0.0.1", "localhost")
RESPONSE_HOSTS = frozenset({"hooks.slack.com"})  # where Slack's response_url points


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)


class SlackWeb:
    def __init__(self, base_url: str, token: Callable[[], str], timeout: float = 1.5) -> None:
        """`base_url`: Slack's Web API (https://slack.com/api), or a stand-in on loopback; `token`: the bot
        token, read when first needed."""
        if not _https_or_loopback(base_url):
            raise ValueError("the Slack API URL must be https (http only on loopback)")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._emails: dict[str, tuple[float, str | None]] = {}

    def _call(self, request: urllib.request.Request, what: str) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - checked
                raw = response.read()
        except HTTPError as exc:
            raise NotifyFailed(f"Slack answered {exc.code} to {what}") from exc
        except (URLError, TimeoutError) as exc:
            raise NotifyFailed(f"Slack unreachable for {what}") from exc
        try:
            answer = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise NotifyFailed(f"Slack's answer to {what} is not JSON") from exc
        return answer if isinstance(answer, dict) else {}

    def email(self, user_id: str, team_id: str | None = None) -> str | None:
        """The e-mail address of a Slack user (lower case); None when Slack has none for them (a bot, a
        user the token cannot see). NotifyFailed when Slack cannot be asked."""
        key = f"{team_id}:{user_id}"
        hit = self._emails.get(key)
        if hit and time.monotonic() - hit[0] < EMAIL_MAX_AGE:
            return hit[1]
        url = f"{self.base_url}/users.info?{urlencode({'user': user_id})}"
        request = urllib.request.Request(  # noqa: S310 - https or loopback, checked at construction
            url, headers={"Authorization": f"Bearer {self.token()}"}, method="GET"
        )
        answer = self._call(request, "users.info")
        if not answer.get("ok"):
            error = str(answer.get("error") or "unknown")
            if error in ("user_not_found", "user_not_visible"):
                found = None
            else:  # missing_scope, invalid_auth, ratelimited...: the operator must know, the user retries
                raise NotifyFailed(f"Slack users.info failed: {error[:60]}")
        else:
            user = answer.get("user") or {}
            raw = (user.get("profile") or {}).get("email")
            found = str(raw).strip().lower() if raw and not user.get("deleted") else None
        self._emails[key] = (time.monotonic(), found)
        return found

    def respond(self, response_url: str, message: dict[str, Any]) -> None:
        """Answer an interaction through its response_url (replace the message, or tell the user alone).
        Only Slack's own hooks host (or loopback, for a local stand-in of the Web API) is ever called."""
        parts = urlsplit(response_url)
        local = _https_or_loopback(self.base_url) and urlsplit(self.base_url).hostname in LOOPBACK
        slack = parts.scheme == "https" and parts.hostname in RESPONSE_HOSTS
        if not (slack or (local and parts.scheme == "http" and parts.hostname in LOOPBACK)):
            raise NotifyFailed("the response_url is not Slack's: not called")
        request = urllib.request.Request(  # noqa: S310 - Slack's host (or loopback), checked above
            response_url,
            data=json.dumps(message).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        self._call(request, "response_url")


class AppSecret(BaseModel):
    """The Slack app's secret in Secrets Manager: one JSON document for both of its credentials."""

    signing_secret: str = Field(min_length=1)
    bot_token: str = Field(min_length=1)


def app_secret(value: str) -> AppSecret:
    """The secret's value read; SecretUnavailable (the route answers 503) when it is not that document."""
    try:
        return AppSecret.model_validate_json(value)
    except ValidationError as exc:
        raise SecretUnavailable(
            'the Slack app secret must be JSON {"signing_secret": "...", "bot_token": "xoxb-..."}'
        ) from exc
