"""Outbox of account events: an ATRANS# item (written with the account update that made it) becomes one
'Account Stage Changed' or 'Account Surged' event. The item holds the event's detail as it was made, so
publishing needs no model; it stays `unpublished` until the event went out."""

from typing import Any

from leadstream.accounts.repository import AccountLedger
from leadstream.scoring.outbox import Outgoing


class AccountOutbox:
    def __init__(self, ledger: AccountLedger) -> None:
        self.ledger = ledger

    def outgoing(self, image: dict[str, Any]) -> list[Outgoing]:
        domain, detail_type, detail = self.ledger.events_from_image(image)
        event_id = detail.get("change_id") or detail["surge_id"]
        return [
            Outgoing(detail_type, detail, (domain,), lambda: self.ledger.mark_published(domain, event_id))
        ]
