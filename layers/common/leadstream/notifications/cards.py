"""The card a notification shows, read when it is sent: sales notifications carry only a reference.

What NotifySalesFunction is handed (the bus rule's InputTransformer) and what a failure parks for 14 days
is the stage change's ids, never a name or an e-mail address. The card is built here, as PublishFunction
built it for the bus (`scoring.outbox`), from the lead's TRANS# item (the score, reasons and visits as of
the change) and its PROFILE (who it is, as it is now): both in one BatchGetItem. A person erased since has
neither: there is nothing to send.
"""

import time
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from leadstream.accounts.model import AccountModel
from leadstream.accounts.repository import AccountLedger
from leadstream.contracts.events import AccountCard, LeadStageChanged
from leadstream.identity.repository import PROFILE_SK, ProfileRepository, lead_pk
from leadstream.platform import aws
from leadstream.platform.errors import StoreUnavailable
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.outbox import stage_changes
from leadstream.scoring.repository import ScoreRepository, transition_sk

READ_ATTEMPTS = 4  # BatchGetItem may leave keys unprocessed (throttling): asked again, with a pause


class Cards:
    def __init__(self, leads_table: str) -> None:
        self.table = leads_table
        self.scores = ScoreRepository(leads_table)
        self.profiles = ProfileRepository(leads_table)

    def _read(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        client = aws.client("dynamodb")
        found: list[dict[str, Any]] = []
        wanted: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
        for attempt in range(READ_ATTEMPTS):
            try:
                answer = client.batch_get_item(RequestItems=wanted)
            except (BotoCoreError, ClientError) as exc:
                raise StoreUnavailable(f"reading a stage change failed ({type(exc).__name__})") from exc
            found += answer.get("Responses", {}).get(self.table, [])
            wanted = answer.get("UnprocessedKeys") or {}
            if not wanted:
                return found
            time.sleep(0.05 * 2**attempt)
        raise StoreUnavailable("reading a stage change failed (keys still unprocessed after retries)")

    def change(self, lead_id: str, transition_id: str) -> LeadStageChanged | None:
        """The stage change with its card as sales sees it; None when the lead has no such change (erased)."""
        pk = lead_pk(lead_id)
        keys = [{"pk": {"S": pk}, "sk": {"S": sk}} for sk in (transition_sk(transition_id), PROFILE_SK)]
        items = {raw["sk"]["S"]: raw for raw in self._read(keys)}
        transition = items.get(transition_sk(transition_id))
        if transition is None:
            return None
        state, found = self.scores.transition_from_image(transition)
        if found.id != transition_id:
            return None
        profile = items.get(PROFILE_SK)
        [change] = stage_changes(state, self.profiles.from_image(profile) if profile else None)
        return change


class AccountCards:
    """The account of a lead as sales sees it now (one GetItem of its STATE): score, stage, its people."""

    def __init__(self, accounts: AccountLedger, model: AccountModel, leads: ScoringModel) -> None:
        self.accounts, self.model, self.leads = accounts, model, leads

    def card(self, domain: str | None) -> AccountCard | None:
        state = self.accounts.state(domain) if domain else None
        if state is None or state.people == 0:  # no account, or no lead of it counted yet: no line
            return None
        now = max(datetime.now(UTC), state.as_of) if state.as_of else datetime.now(UTC)
        return state.card(self.model, self.leads, now)
