"""Publishing domain events on the Leadstream EventBridge bus."""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from leadstream.contracts.events import SOURCE
from leadstream.platform.errors import PublishFailed


class EventBridgePublisher:
    """One event per PutEvents call; an entry EventBridge rejects (FailedEntryCount) is a failure too."""

    def __init__(self, bus_name: str, client: Any) -> None:
        self.bus_name = bus_name
        self.client = client

    def publish(self, detail_type: str, detail_json: str, resources: list[str] | None = None) -> str:
        entry = {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Detail": detail_json,
            "EventBusName": self.bus_name,
            "Resources": resources or [],
        }
        try:
            response = self.client.put_events(Entries=[entry])
        except (ClientError, BotoCoreError) as exc:
            raise PublishFailed(f"put_events to {self.bus_name} failed: {exc}") from exc
        result = response["Entries"][0]
        if response.get("FailedEntryCount") or "EventId" not in result:
            raise PublishFailed(
                f"EventBridge rejected the event: {result.get('ErrorCode')} {result.get('ErrorMessage')}"
            )
        return str(result["EventId"])
