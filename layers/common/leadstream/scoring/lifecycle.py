"""Lifecycle stages a lead moves through."""

from enum import StrEnum


class Stage(StrEnum):
    LEAD = "lead"
    MQL = "MQL"
    PQL = "PQL"
    SQL = "SQL"

    @property
    def rank(self) -> int:
        return _RANK[self]


# Stages only move forward through scoring; PQL sits beside MQL (product usage instead of marketing).
_RANK = {Stage.LEAD: 0, Stage.MQL: 1, Stage.PQL: 1, Stage.SQL: 2}
