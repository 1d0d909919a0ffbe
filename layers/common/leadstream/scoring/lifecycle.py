"""Lifecycle stages a lead moves through.

Scoring moves a lead forward up to SQL (lead -> MQL or PQL -> SQL); past SQL, people move it (sales
accepts, qualifies, takes it to an opportunity, wins or loses it). A rejected lead is recycled to
nurturing: it ranks with MQL, so scoring may send it to sales again. Disqualified ends the lifecycle.
"""

from enum import StrEnum


class Stage(StrEnum):
    LEAD = "lead"
    MQL = "MQL"
    PQL = "PQL"
    SQL = "SQL"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    OPPORTUNITY = "opportunity"
    WON = "won"
    LOST = "lost"
    DISQUALIFIED = "disqualified"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def by_people(self) -> bool:
        """A stage only people move a lead to (scoring never does)."""
        return self.rank > Stage.SQL.rank or self is Stage.REJECTED


# Scoring moves a lead only to a stage of a higher rank, and never past SQL's: PQL sits beside MQL (product
# usage instead of marketing), a rejected lead beside them (nurturing), and the sales stages above SQL.
_RANK = {
    Stage.LEAD: 0,
    Stage.MQL: 1,
    Stage.PQL: 1,
    Stage.REJECTED: 1,
    Stage.SQL: 2,
    Stage.ACCEPTED: 3,
    Stage.OPPORTUNITY: 4,
    Stage.WON: 5,
    Stage.LOST: 5,
    Stage.DISQUALIFIED: 9,
}
