"""A backtest of a candidate model beside the live one, on a few people's histories built by hand: who each
model would have made MQL and SQL and when, how those converted, SQL against conversion, the score's
ranking, how much earlier or later converters were flagged, and the live replay against what live did."""

from datetime import UTC, date, datetime, timedelta

import pytest
from leadstream.archive.backtest import Candidate, backtest
from leadstream.archive.history import histories
from leadstream.archive.records import ArchivedRecord
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.report import Period

from tests.unit.model import DOCUMENT, SQL

START = datetime(2026, 9, 1, 9, tzinfo=UTC)
REP = "rep@example.com"
STRICT_SQL = 100  # the candidate's SQL threshold: above what B's three forms earn, below A's demo request
_seq = iter(range(10_000, 99_999))


def at(days: float, minutes: float = 0) -> datetime:
    return START + timedelta(days=days, minutes=minutes)


def record(kind: str, lead: str, item: str, when: datetime, **fields: object) -> ArchivedRecord:
    return ArchivedRecord(
        kind, lead, item, when.timestamp(), when.timestamp() + 1, str(next(_seq)), dict(fields)
    )


class Person:
    """Builds one lead's archived records: events, and stage changes as scoring or sales made them live."""

    def __init__(self, lead: str) -> None:
        self.lead, self.records, self.n, self.stage = lead, list[ArchivedRecord](), 0, "lead"

    def event(self, when: datetime, type_: str, **fields: object) -> "Person":
        self.n += 1
        self.records.append(
            record("event", self.lead, f"EVT#{self.lead}-{self.n}", when, type=type_, **fields)
        )
        return self

    def page(self, when: datetime, path: str) -> "Person":
        return self.event(when, "page", path=path)

    def identify(self, when: datetime) -> "Person":
        return self.event(when, "identify", fit={"email_kind": "work"})

    def form(self, when: datetime, form_id: str = "contact") -> "Person":
        return self.event(when, "form", form_id=form_id, fit={"email_kind": "work"})

    def moved(self, when: datetime, to: str, by: str | None = None, **fields: object) -> "Person":
        self.n += 1
        scoring = {"model": 1} if by is None else {"by": by}
        change = {"from_stage": self.stage, "to_stage": to, **scoring, **fields}
        self.records.append(record("transition", self.lead, f"TRANS#{self.n}", when, **change))
        self.stage = to
        return self


def people() -> list[ArchivedRecord]:
    """A: a demo request, SQL under both models, won. B: three forms, SQL only under the live model (its
    threshold), an opportunity then lost. C: an anonymous MQL. D: one blog post."""
    a = Person("a").page(at(0), "/blog/a").page(at(1), "/pricing").page(at(1, 5), "/pricing")
    a.moved(at(1, 5), "MQL").identify(at(1, 10)).form(at(1, 20), "demo-request").moved(at(1, 20), "SQL")
    a.moved(at(5), "accepted", REP).moved(at(7), "opportunity", REP).moved(at(9), "won", REP, amount=900)
    b = Person("b").page(at(0), "/blog/b").page(at(2), "/pricing").page(at(2, 5), "/pricing")
    b.moved(at(2, 5), "MQL").identify(at(2, 10))
    b.form(at(2, 20)).form(at(2, 21)).form(at(2, 22)).moved(at(2, 22), "SQL")
    b.moved(at(6), "accepted", REP).moved(at(7), "opportunity", REP).moved(at(8), "lost", REP)
    c = (
        Person("c")
        .page(at(0), "/blog/c")
        .page(at(4), "/pricing")
        .page(at(4, 5), "/pricing")
        .moved(at(4, 5), "MQL")
    )
    d = Person("d").page(at(0), "/blog/d")
    return [r for p in (a, b, c, d) for r in p.records]


@pytest.fixture
def strict() -> ScoringModel:
    stages = [
        {"stage": "MQL", "min_score": 40},
        {"stage": "SQL", "min_score": STRICT_SQL, "requires_known": True},
    ]
    return ScoringModel.model_validate({**DOCUMENT, "version": 2, "stages": stages})


def test_a_stricter_sql_threshold_drops_the_sql_that_converted_on_forms_alone(model, strict):
    assert SQL < STRICT_SQL

    found = backtest(
        histories(people()).values(), Candidate("strict.yaml", strict), Candidate("shipped", model), Period()
    )

    assert (found.people, found.converted, found.won) == (4, 2, 1)
    live, candidate = found.live, found.candidate
    assert (live.model, live.version, candidate.model, candidate.version) == ("shipped", 1, "strict.yaml", 2)
    mql, pql, sql = live.stages
    assert (mql.stage, mql.reached, mql.converted, mql.won) == ("MQL", 3, 2, 1)
    assert mql.median_days == round(2 + 5 / 1440, 3)  # B's second pricing view (A's after 1 day, C's 4)
    assert (mql.to_opportunity, mql.to_won) == (0.6667, 0.3333)
    assert (pql.reached, pql.median_days, pql.to_opportunity) == (0, None, None)
    assert (sql.reached, sql.converted, sql.won, sql.to_won) == (2, 2, 1, 0.5)
    assert [s.reached for s in candidate.stages] == [3, 0, 1]  # B is no SQL under the candidate
    assert candidate.stages[2].median_days == round((at(1, 20) - at(0)).total_seconds() / 86400, 3)
    assert (live.sql_precision, live.sql_recall) == (1.0, 1.0)
    assert (candidate.sql_precision, candidate.sql_recall) == (1.0, 0.5)
    # judged when sales first acted (A day 5, B day 6), C and D at the end: the converters score highest
    assert live.roc_auc == candidate.roc_auc == 1.0
    assert live.top_decile_lift == 2.0  # the top person (of 4) converts; half of everyone did
    timing = found.timing
    assert (timing.converters, timing.same, timing.only_live, timing.earlier, timing.later) == (2, 1, 1, 0, 0)
    assert (timing.only_candidate, timing.neither, timing.median_days) == (0, 0, 0.0)
    agreement = found.agreement
    assert (agreement.people, agreement.matching, agreement.differing, agreement.live_changes) == (4, 4, 0, 5)
    assert agreement.other_versions == 0


def test_a_candidate_that_flags_a_converter_earlier_says_by_how_much(model):
    eager = ScoringModel.model_validate(
        {
            **DOCUMENT,
            "stages": [
                {"stage": "MQL", "min_score": 40},
                {"stage": "SQL", "min_score": 55, "requires_known": True},
            ],
        }
    )

    found = backtest(
        histories(people()).values(), Candidate("eager.yaml", eager), Candidate("shipped", model), Period()
    )

    # at 55 B is an SQL once identified (2 days 10 min), 12 minutes before its third form made it one live;
    # A identified at 1 day 10 min with 58.7 points: 10 minutes before its demo request
    timing = found.timing
    assert (timing.earlier, timing.later, timing.same, timing.only_live) == (2, 0, 0, 0)
    assert timing.median_days == round(-11 / 1440, 3)
    assert found.candidate.stages[2].reached == 2


def test_the_live_replay_names_the_people_live_scoring_treated_otherwise(model):
    records = people()
    e = (
        Person("e").page(at(0), "/pricing").page(at(0, 5), "/pricing").moved(at(0, 6), "MQL")
    )  # live: a minute later
    f = Person("f").page(at(0), "/pricing").page(at(0, 5), "/pricing")
    f.moved(at(0, 5), "MQL").moved(
        at(0, 5), "SQL", model=7
    )  # another model's change, that this one never makes

    found = backtest(
        histories(records + e.records + f.records).values(),
        Candidate("x", model),
        Candidate("shipped", model),
        Period(),
    )

    agreement = found.agreement
    assert (agreement.people, agreement.matching, agreement.differing) == (6, 4, 2)
    assert agreement.differing_leads == ["e", "f"]
    assert (agreement.live_changes, agreement.other_versions) == (8, 1)


def test_a_period_takes_the_people_first_seen_in_it_and_outcomes_up_to_its_end(model):
    late = Person("late").page(at(3), "/blog/x").page(at(3, 1), "/pricing").page(at(3, 2), "/pricing")
    records = people() + late.records
    day = START.date()

    found = backtest(
        histories(records).values(),
        Candidate("x", model),
        Candidate("shipped", model),
        Period(day + timedelta(days=1), None),
    )
    up_to_day_6 = backtest(
        histories(records).values(),
        Candidate("x", model),
        Candidate("shipped", model),
        Period(None, date(2026, 9, 7)),
    )

    assert (found.since, found.until, found.people) == ("2026-09-02", None, 1)
    assert found.live.stages[0].reached == 1  # late reached MQL
    assert (up_to_day_6.people, up_to_day_6.converted, up_to_day_6.won) == (5, 0, 0)  # A won on day 9


def test_the_same_histories_give_the_same_bytes(model, strict):
    def run() -> str:
        return backtest(
            histories(people()).values(), Candidate("s", strict), Candidate("shipped", model), Period()
        ).model_dump_json()

    assert run() == run()
