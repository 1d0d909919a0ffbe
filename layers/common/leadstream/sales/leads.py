"""Reading a lead's card: its STATE, PROFILE, stage changes (TRANS#), the behaviour events of it and of
the leads merged into it (EVT#), its qualification answers and notes, and its account. Read-only; every
read is of the lead's own partitions.

Reads: the lead's STATE and PROFILE (GetItem each), its mark and members (one BatchGetItem), its TRANS#
items (one Query), the EVT# items of it and of each merged lead (one Query each: EVT# sort keys are
message ids, not times, so newest-first means reading the events still stored and sorting them; the
source's retention bounds them), its QUAL item (GetItem) and newest NOTE# items (one Query), and its
account's STATE (GetItem).
"""

from datetime import datetime

from leadstream.identity.repository import IdentityRepository, ProfileRepository
from leadstream.identity.resolution import MAX_ROOT_HOPS
from leadstream.notifications.cards import AccountCards
from leadstream.platform.errors import MergedLead, NotFound
from leadstream.sales.card import NOTES_LIMIT, LeadCard, Note, lead_card, qualification
from leadstream.sales.records import SalesRecords
from leadstream.sales.workflow import Framework
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.repository import ScoreRepository
from leadstream.tracking.repository import EventRepository


def root_of(identities: IdentityRepository, merged_into: str) -> str:
    """The lead a merged lead's history lives on now: where `merged_into` leads, hop by hop."""
    root = merged_into
    for _ in range(MAX_ROOT_HOPS):
        up = identities.marks([root])[root].merged_into
        if up is None:
            break
        root = up
    return root


class LeadCards:
    def __init__(
        self,
        leads_table: str,
        model: ScoringModel,
        accounts: AccountCards,
        framework: Framework | None = None,
        *,
        likelihoods: bool,
    ) -> None:
        """`framework`: the active qualification framework, whose answers the card shows. `likelihoods`:
        whether a predictive model is configured; without one the card shows no likelihood (one left on
        STATE by a model since removed is stale)."""
        self.model, self.accounts, self.framework = model, accounts, framework
        self.with_likelihoods = likelihoods
        self.records = SalesRecords(leads_table)
        self.scores = ScoreRepository(leads_table)
        self.profiles = ProfileRepository(leads_table)
        self.identities = IdentityRepository(leads_table)
        self.events = EventRepository(leads_table)

    def card(self, lead_id: str, now: datetime) -> LeadCard:
        """The lead's card as of `now`. NotFound for a lead Leadstream does not hold (never seen, expired
        or erased); MergedLead, naming the root, for one merged into another."""
        stored = self.scores.load(lead_id)
        if stored.merged_into:
            raise MergedLead(lead_id, root_of(self.identities, stored.merged_into))
        profile = None if stored.erased else self.profiles.load(lead_id)
        if stored.erased or (stored.version is None and profile is None):
            raise NotFound(f"no lead {lead_id!r}")
        members = self.identities.marks([lead_id])[lead_id].members
        events = [
            (lead, event) for lead in (lead_id, *sorted(members)) for event, _ in self.events.of_lead(lead)
        ]
        return lead_card(
            self.model,
            stored.score,
            profile,
            self.scores.history(lead_id),
            events,
            members,
            self.accounts.card(profile.account if profile else None),
            now,
            qualification(self.framework, self.records.answers(lead_id).answers) if self.framework else None,
            [Note(id=n.id, text=n.text, by=n.by, at=n.at) for n in self.records.notes(lead_id, NOTES_LIMIT)],
            stored.sales,
            stored.likelihood if self.with_likelihoods else None,
        )
