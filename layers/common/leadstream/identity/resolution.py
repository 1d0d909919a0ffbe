"""Which lead a message belongs to, and what linking its identifiers changes (pure: no I/O).

Known identifiers (user id, e-mail) win over the anonymous one, in that order: the first identifier
already linked names the lead. With none linked, the lead is the sender's own (`device_lead`), so a first
identify keeps the visitor's history and score. Linking an identifier to a lead other than its own hands
its own lead over: that lead is merged into the winner, and scoring forwards its score and later events.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from leadstream.identity.identifiers import Identifier, device_lead


@dataclass(frozen=True)
class Resolution:
    lead_id: str  # the lead these identifiers belong to (profile, account, score)
    links: tuple[Identifier, ...]  # identifiers to link to it; each one's own lead is merged into it


def resolve(ids: list[Identifier], linked: Mapping[str, str]) -> Resolution:
    """`ids` in the order `identifiers()` gives them; `linked`: identifier key -> lead, for those linked."""
    if not ids:
        raise ValueError("at least one identifier is needed")
    owner = next((linked[i.key] for i in ids if i.key in linked), None) or device_lead(ids)
    # An identifier whose own lead is the owner needs no link item: the link is implicit.
    return Resolution(owner, tuple(i for i in ids if i.key not in linked and i.derived_lead_id() != owner))
