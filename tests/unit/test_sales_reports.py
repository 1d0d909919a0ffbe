"""The reports' arithmetic: nearest-rank percentiles, hand-overs read from a lead's history and timer, and
stages counted from the history (once each, with the stages a lead stood on)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from leadstream.sales.distribution import stage_scores
from leadstream.sales.speed import Handover, distribution, handovers, nearest_rank, speed_to_lead
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.report import Period, counted, source_quality
from leadstream.scoring.score import LeadScore, Transition
from leadstream.tracking.attribution import Channel, Touch

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NEWSLETTER = Touch(Channel.EMAIL, "newsletter", "email", "nov")


def moves(lead: str, *steps: tuple[Stage, int], **who: object) -> list[Transition]:
    """A lead's stage changes: each to a stage at T0 + seconds, from the stage before."""
    found, stage = [], Stage.LEAD
    for n, (to, seconds) in enumerate(steps, 1):
        extra = who if to in (Stage.ACCEPTED, Stage.REJECTED, Stage.WON, Stage.LOST) else {}
        found.append(
            Transition(f"{lead}:{to}:{n}", stage, to, T0 + timedelta(seconds=seconds), 80.0, **extra)
        )  # type: ignore[arg-type]
        stage = to
    return found


@pytest.mark.parametrize(
    ("values", "p50", "p95"),
    [
        (list(range(1, 21)), 10, 19),  # ceil(0.5 * 20) = 10th, ceil(0.95 * 20) = 19th
        ([3.0, 1.0, 2.0, 4.0], 2.0, 4.0),  # ceil(2) = 2nd, ceil(3.8) = 4th: a duration that happened
        ([42.0], 42.0, 42.0),
        ([], None, None),
    ],
)
def test_percentiles_are_nearest_rank(values: list[float], p50: float | None, p95: float | None) -> None:
    assert (nearest_rank(values, 50), nearest_rank(values, 95)) == (p50, p95)


def test_a_recycled_lead_sent_to_sales_twice_is_two_hand_overs_each_with_its_first_action() -> None:
    history = moves(
        "D",
        (Stage.SQL, 0),
        (Stage.REJECTED, 60),
        (Stage.SQL, 1000),
        (Stage.REJECTED, 1050),  # not the first action on the second hand-over: it was accepted before
        by="rep@example.com",
    )
    history.insert(
        3,
        Transition(
            "D:accepted:9", Stage.SQL, Stage.ACCEPTED, T0 + timedelta(seconds=1030), 80.0, by="b@x.com"
        ),
    )
    timer = {
        "transition_id": "D:SQL:3",
        "state": "met",
        "started_at": (T0 + timedelta(seconds=1000)).timestamp(),
        "acted_at": (T0 + timedelta(seconds=1030)).timestamp(),
        "acted_by": "b@x.com",
    }

    first, second = handovers("D", history, {"owner": "b@x.com", "sla": timer}, NEWSLETTER)

    assert (first.transition_id, first.seconds, first.acted_by, first.outcome) == (
        "D:SQL:1",
        60.0,
        "rep@example.com",
        "acted",
    )
    assert (second.transition_id, second.seconds, second.owner, second.outcome) == (
        "D:SQL:3",
        30.0,
        "b@x.com",
        "met",
    )
    assert (second.channel, second.campaign) == ("email", "nov")


def test_a_hand_over_nobody_acted_on_is_waiting_until_its_timer_says_breached() -> None:
    [sql] = moves("C", (Stage.SQL, 0))
    due = (T0 + timedelta(minutes=5)).timestamp()
    [running] = handovers(
        "C", [sql], {"sla": {"transition_id": sql.id, "state": "running", "due_at": due}}, None
    )
    [breached] = handovers(
        "C", [sql], {"sla": {"transition_id": sql.id, "state": "breached", "breached_at": due}}, None
    )

    assert (running.outcome, running.seconds, running.channel) == ("waiting", None, "unknown")
    assert breached.outcome == "breached"
    [untimed] = handovers("C", [sql], {"owner": "rep@example.com"}, None)  # no timer configured
    assert (untimed.owner, untimed.state, untimed.outcome) == ("rep@example.com", None, "waiting")


def test_the_speed_report_counts_per_owner_and_keeps_only_the_period() -> None:
    def handed(n: int, owner: str | None, seconds: float | None, state: str | None, day: int = 2) -> Handover:
        at = T0.replace(day=day)
        acted = at + timedelta(seconds=seconds) if seconds is not None else None
        return Handover(f"L{n}:SQL:1", f"L{n}", at, at, "email", "nov", owner, acted, owner, state)

    found = [
        handed(1, "a@x.com", 120, "met"),
        handed(2, "a@x.com", 600, "breached"),
        handed(3, "b@x.com", None, "running"),
        handed(4, None, 60, None),
        handed(5, "a@x.com", 1, "met", day=1),  # the day before the period
    ]

    report = speed_to_lead(found, Period(date(2026, 11, 2), date(2026, 11, 2)))

    total = report.total
    assert (total.handovers, total.acted, total.met, total.breached, total.waiting) == (4, 3, 1, 1, 1)
    assert (total.p50_seconds, total.p95_seconds) == (120, 600)
    owners = {row.owner: (row.handovers, row.breached, row.p50_seconds) for row in report.by_owner}
    assert owners == {"a@x.com": (2, 1, 120), "b@x.com": (1, 0, None), "(unassigned)": (1, 0, 60)}


def test_a_lead_counts_once_in_every_stage_it_reached_and_in_the_stages_it_stood_on() -> None:
    won = moves("A", (Stage.SQL, 0), (Stage.WON, 60), by="rep@example.com", amount=1200.0, currency="EUR")
    recycled = moves(
        "D", (Stage.MQL, 0), (Stage.SQL, 10), (Stage.REJECTED, 20), (Stage.SQL, 30), by="r@x.com"
    )
    known = LeadScore(lead_id="x", known=True, first_touch=NEWSLETTER, first_seen=T0)

    [row] = source_quality([(known, won), (known, recycled), (known, [])])

    assert (row.visitors, row.leads, row.mqls, row.sqls, row.rejected) == (3, 3, 2, 2, 1)
    assert (row.accepted, row.opportunities, row.won, row.lost) == (1, 1, 1, 0)  # won skipped two: counted
    assert row.revenue == {"EUR": 1200.0}
    assert (row.lead_to_mql, row.mql_to_sql, row.opportunity_to_won) == (pytest.approx(0.667), 1.0, 1.0)
    assert [counted(recycled[:3], recycled[3]).columns] == [()]  # SQL again adds nothing
    assert counted([], recycled[0]).columns == ("mqls",)


def test_a_period_counts_a_stage_on_the_day_the_lead_first_reached_it() -> None:
    history = moves("A", (Stage.SQL, 0), (Stage.ACCEPTED, 86_400), by="rep@example.com")
    known = LeadScore(lead_id="A", known=True, first_touch=NEWSLETTER, first_seen=T0)

    [next_day] = source_quality([(known, history)], period=Period(date(2026, 11, 3), None))

    assert (next_day.visitors, next_day.sqls, next_day.accepted) == (0, 0, 1)


def test_time_to_first_action_falls_in_the_span_that_starts_at_or_before_it() -> None:
    def acted(n: int, seconds: float | None) -> Handover:
        done = T0 + timedelta(seconds=seconds) if seconds is not None else None
        return Handover(f"L{n}:SQL:1", f"L{n}", T0, T0, "email", "nov", "a@x.com", done, "a@x.com", "met")

    found = [acted(n, s) for n, s in enumerate([0, 59.9, 60, 299, 300, 899, 900, 3599, 3600, 86400, None])]

    buckets = {b.label: b.count for b in distribution(found)}

    assert buckets == {"<1 min": 2, "1-5 min": 2, "5-15 min": 2, "15-60 min": 2, ">1 h": 2}  # None: waiting


def test_score_buckets_are_25_points_wide_with_open_ends_and_a_median() -> None:
    scored = stage_scores("MQL", [-5.0, 0.0, 24.9, 50.0, 74.99, 75.0, 149.0, 150.0, 400.0], truncated=False)

    assert {b.label: b.count for b in scored.buckets} == {
        "<0": 1,
        "0-24": 2,
        "25-49": 0,
        "50-74": 2,
        "75-99": 1,
        "100-124": 0,
        "125-149": 1,
        "150+": 2,
    }
    assert (scored.leads, scored.p50, scored.truncated) == (9, 75.0, False)  # the 5th of 9: 74.99, rounded
    assert stage_scores("won", [], truncated=False).p50 is None
