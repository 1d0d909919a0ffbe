"""A small account model of the unit tests' own, so that they pin account scoring, not accounts.yaml.

Its numbers differ from the shipped model on purpose (as tests/unit/model.py's do for leads). Tests name
the constants below instead of bare numbers. The shipped model has a contract test of its own
(test_account_shipped_model.py). Decay comes from the lead test model (tests/unit/model.py).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadstream.accounts.model import AccountModel
from leadstream.accounts.score import (
    AccountEvent,
    AccountState,
    LeadChange,
    MemberMark,
    apply_change,
    describe,
)
from leadstream.contracts.events import AccountCard, AccountStageChanged, AccountSurged
from leadstream.scoring.model import ScoringModel

from tests.unit.builders import T0

WEIGHTS = (1.0, 0.5)  # the strongest lead in full, the second at half; the rest do not count
KEEP = 4  # leads remembered per account
ENGAGED = 20  # a lead scoring at least this is an engaged person

SOFTWARE = 5  # industry: software
MID_SIZE = 10  # 100 to 1,000 employees
SCHOOL = -30  # a .edu domain

ECONOMIC_BUYER = 12  # cfo, chief financial officer, vp finance
TECHNICAL = 8  # cto, head of engineering, architect
DECISION_MAKER = 6  # vp, director, head
CHAMPION = 4  # manager
USER = 2  # engineer, analyst
ROLES = 5

ENGAGED_STAGE = 30  # and one engaged person
MQA = 60  # and two engaged people

WINDOW = 7
SURGE_GAIN = 25  # engagement points within the window
SURGE_GROWTH = 0.5  # and +50% on a window ago
SURGE_PEOPLE = 3  # or three more engaged people
COOLDOWN = 10

DOCUMENT: dict[str, Any] = {
    "version": 1,
    "engagement": {"weights": list(WEIGHTS), "keep": KEEP, "engaged_lead_score": ENGAGED},
    "fit": [
        {
            "id": "software",
            "label": "Software",
            "trait": "industry",
            "contains_any": ["software"],
            "points": SOFTWARE,
        },
        {
            "id": "mid_size",
            "label": "100 to 1,000 people",
            "trait": "employees",
            "at_least": 100,
            "at_most": 1000,
            "points": MID_SIZE,
        },
        {"id": "school", "label": "A school", "trait": "domain", "ends_with": ["edu"], "points": SCHOOL},
    ],
    "committee": [
        {
            "id": "economic_buyer",
            "label": "Economic buyer",
            "titles": ["cfo", "chief financial officer", "vp finance"],
            "points": ECONOMIC_BUYER,
        },
        {
            "id": "technical_evaluator",
            "label": "Technical evaluator",
            "titles": ["cto", "head of engineering", "architect"],
            "points": TECHNICAL,
        },
        {
            "id": "decision_maker",
            "label": "Decision maker",
            "titles": ["vp", "director", "head"],
            "points": DECISION_MAKER,
        },
        {"id": "champion", "label": "Champion", "titles": ["manager"], "points": CHAMPION},
        {"id": "user", "label": "User", "titles": ["engineer", "analyst"], "points": USER},
    ],
    "stages": [
        {"stage": "engaged", "min_score": ENGAGED_STAGE, "min_engaged_people": 1},
        {"stage": "MQA", "min_score": MQA, "min_engaged_people": 2},
    ],
    "surge": {
        "window_days": WINDOW,
        "min_gain": SURGE_GAIN,
        "min_growth": SURGE_GROWTH,
        "min_new_engaged": SURGE_PEOPLE,
        "cooldown_days": COOLDOWN,
    },
}


def build_account_model() -> AccountModel:
    return AccountModel.model_validate(DOCUMENT)


def build_ledger(accounts: AccountModel, leads: ScoringModel, domain: str = "acme.com") -> "Ledger":
    return Ledger(accounts, leads, AccountState(domain))


@dataclass
class Ledger:
    """One account and its members' marks, kept as the account repository will keep them: the state item,
    and one mark per member read by its key. Lead changes go through the public `apply_change` only."""

    accounts: AccountModel
    leads: ScoringModel
    state: AccountState
    marks: dict[str, MemberMark] = field(default_factory=dict)
    events: list[AccountEvent] = field(default_factory=list)

    def apply(self, *changes: LeadChange) -> list[AccountEvent]:
        made: list[AccountEvent] = []
        for change in changes:
            mark = self.marks.get(change.lead_id, MemberMark(change.lead_id))
            applied = apply_change(self.accounts, self.leads, self.state, mark, change)
            assert applied.mark is not None
            self.state, self.marks[change.lead_id] = applied.state, applied.mark
            made += applied.events
        self.events += made
        return made

    def describe(self, version: int, at: datetime = T0, **traits: str) -> list[AccountEvent]:
        applied = describe(self.accounts, self.leads, self.state, traits, version, at)
        self.state = applied.state
        self.events += applied.events
        return list(applied.events)

    def card(self, when: datetime) -> AccountCard:
        return self.state.card(self.accounts, self.leads, when)

    def surges(self) -> list[AccountSurged]:
        return [e for e in self.events if isinstance(e, AccountSurged)]

    def stage_changes(self) -> list[AccountStageChanged]:
        return [e for e in self.events if isinstance(e, AccountStageChanged)]


def lead(
    lead_id: str,
    points: float,
    at: datetime = T0,
    title: str | None = None,
    fit: int = 0,
    version: int = 1,
) -> LeadChange:
    """A lead with `points` behaviour points as of `at` (its version `version`)."""
    return LeadChange(lead_id, version, at, behaviour=points, as_of=at, fit=fit, title=title)
