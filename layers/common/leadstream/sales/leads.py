"""Reading a lead's card: its STATE, PROFILE, stage changes (TRANS#), the behaviour events of it and of
the leads merged into it (EVT#), and its account. Read-only; every read is of the lead's own partitions.

Reads: the lead's STATE and PROFILE (GetItem each), its mark and members (one BatchGetItem), its TRANS#
items (one Query), the EVT# items of it and of each merged lead (one Query each: EVT# sort keys are
message ids, not times, so newest-first means reading the events still stored and sorting them; the
source's retention bounds them), and its account's STATE (GetItem).
"""

from datetime import datetime

from leadstream.identity.repository import IdentityRepository, ProfileRepository
from leadstream.identity.resolution import MAX_ROOT_HOPS
from leadstream.notifications.cards import AccountCards
from leadstream.platform.errors import MergedLead, NotFound
from leadstream.sales.card import LeadCard, lead_card, with_sales
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.repository import ScoreRepository
from leadstream.tracking.repository import EventRepository


class LeadCards:
    def __init__(self, leads_table: str, model: ScoringModel, accounts: AccountCards) -> None:
        self.model, self.accounts = model, accounts
        self.scores = ScoreRepository(leads_table)
        self.profiles = ProfileRepository(leads_table)
        self.identities = IdentityRepository(leads_table)
        self.events = EventRepository(leads_table)

    def _root(self, lead_id: str, merged_into: str) -> str:
        root = merged_into
        for _ in range(MAX_ROOT_HOPS):
            up = self.identities.marks([root])[root].merged_into
            if up is None:
                break
            root = up
        return root

    def card(self, lead_id: str, now: datetime) -> LeadCard:
        """The lead's card as of `now`. NotFound for a lead Leadstream does not hold (never seen, expired
        or erased); MergedLead, naming the root, for one merged into another."""
        stored = self.scores.load(lead_id)
        if stored.merged_into:
            raise MergedLead(lead_id, self._root(lead_id, stored.merged_into))
        profile = None if stored.erased else self.profiles.load(lead_id)
        if stored.erased or (stored.version is None and profile is None):
            raise NotFound(f"no lead {lead_id!r}")
        members = self.identities.marks([lead_id])[lead_id].members
        events = [
            (lead, event) for lead in (lead_id, *sorted(members)) for event, _ in self.events.of_lead(lead)
        ]
        card = lead_card(
            self.model,
            stored.score,
            profile,
            self.scores.history(lead_id),
            events,
            members,
            self.accounts.card(profile.account if profile else None),
            now,
        )
        return with_sales(card, stored.sales)
