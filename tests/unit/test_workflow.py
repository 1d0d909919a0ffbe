"""The sales workflow's rules (pure): every move from every stage, what each move needs, the recycle
policy, the speed-to-lead timer after a first action, answers merging, and the shipped frameworks."""

from datetime import UTC, datetime

import pytest
from leadstream.platform.errors import BadRequest, MoveNotAllowed
from leadstream.sales.workflow import (
    Answer,
    Move,
    MoveRequest,
    Recycle,
    Workflow,
    check_move,
    first_action,
    merged_answers,
    recycled,
)
from leadstream.sales.workflow_file import load_workflow
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.score import LeadScore

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
WORKFLOW = load_workflow()
BANT = WORKFLOW.framework("BANT")
ALL_BANT = frozenset(BANT.ids)

# from which stages each move is allowed (the lifecycle): everything else is refused
ALLOWED = {
    Move.ACCEPT: {Stage.MQL, Stage.PQL, Stage.SQL, Stage.REJECTED},
    Move.REJECT: {Stage.MQL, Stage.PQL, Stage.SQL, Stage.ACCEPTED},
    Move.OPPORTUNITY: {Stage.ACCEPTED},
    Move.WON: {Stage.OPPORTUNITY},
    Move.LOST: {Stage.OPPORTUNITY, Stage.ACCEPTED},
    Move.DISQUALIFY: {s for s in Stage if s not in (Stage.WON, Stage.LOST, Stage.DISQUALIFIED)},
}
COMPLETE = {
    Move.ACCEPT: MoveRequest(Move.ACCEPT),
    Move.REJECT: MoveRequest(Move.REJECT, reason="No budget"),
    Move.OPPORTUNITY: MoveRequest(Move.OPPORTUNITY),
    Move.WON: MoveRequest(Move.WON, amount=12000, currency="EUR"),
    Move.LOST: MoveRequest(Move.LOST, reason="chose a competitor"),
    Move.DISQUALIFY: MoveRequest(Move.DISQUALIFY, reason="a student"),
}


@pytest.mark.parametrize("move", list(Move))
@pytest.mark.parametrize("stage", list(Stage))
def test_every_move_from_every_stage(move: Move, stage: Stage) -> None:
    if stage in ALLOWED[move]:
        assert check_move(stage, COMPLETE[move], BANT, ALL_BANT) is move.target
    else:
        with pytest.raises(MoveNotAllowed) as refused:
            check_move(stage, COMPLETE[move], BANT, ALL_BANT)
        assert refused.value.stage == stage
        assert refused.value.allowed == [m.value for m in Move if stage in ALLOWED[m]]
        assert stage.value in str(refused.value)


def test_a_final_stage_says_so() -> None:
    with pytest.raises(MoveNotAllowed, match="won is final"):
        check_move(Stage.WON, COMPLETE[Move.ACCEPT], BANT, ALL_BANT)


@pytest.mark.parametrize(
    ("stage", "request_", "field"),
    [
        (Stage.SQL, MoveRequest(Move.REJECT), "reason"),
        (Stage.SQL, MoveRequest(Move.REJECT, reason="  "), "reason"),
        (Stage.SQL, MoveRequest(Move.DISQUALIFY), "reason"),
        (Stage.ACCEPTED, MoveRequest(Move.LOST, amount=900, currency="EUR"), "reason"),
        (Stage.OPPORTUNITY, MoveRequest(Move.WON, currency="EUR"), "amount"),
        (Stage.OPPORTUNITY, MoveRequest(Move.WON, amount=0, currency="EUR"), "amount"),
        (Stage.OPPORTUNITY, MoveRequest(Move.WON, amount=100), "currency"),
        (Stage.OPPORTUNITY, MoveRequest(Move.LOST, reason="budget cut", amount=100), "currency"),
    ],
)
def test_a_move_missing_what_it_needs_is_a_400_naming_the_field(
    stage: Stage, request_: MoveRequest, field: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        check_move(stage, request_, BANT, ALL_BANT)
    assert [d["field"] for d in refused.value.details] == [field]


def test_lost_may_give_its_amount() -> None:
    lost = MoveRequest(Move.LOST, reason="budget cut", amount=5000, currency="USD")
    assert check_move(Stage.OPPORTUNITY, lost, BANT, ALL_BANT) is Stage.LOST


@pytest.mark.parametrize("framework", ["BANT", "CHAMP", "MEDDIC"])
def test_opportunity_needs_exactly_the_required_criteria_and_names_the_missing_ones(framework: str) -> None:
    active = WORKFLOW.framework(framework)
    required = [c.id for c in active.criteria if c.required]
    optional = frozenset(c.id for c in active.criteria if not c.required)

    with pytest.raises(MoveNotAllowed) as refused:
        check_move(Stage.ACCEPTED, COMPLETE[Move.OPPORTUNITY], active, optional | set(required[1:]))
    assert refused.value.missing == [required[0]]
    assert required[0] in str(refused.value)

    enough = frozenset(required)
    assert check_move(Stage.ACCEPTED, COMPLETE[Move.OPPORTUNITY], active, enough) is Stage.OPPORTUNITY


def test_the_shipped_frameworks_are_the_usual_ones() -> None:
    assert BANT.ids == ("budget", "authority", "need", "timeline")
    assert WORKFLOW.framework("CHAMP").ids == ("challenges", "authority", "money", "prioritization")
    assert WORKFLOW.framework("MEDDIC").ids == (
        "metrics",
        "economic_buyer",
        "decision_criteria",
        "decision_process",
        "identify_pain",
        "champion",
    )
    assert all(c.question.endswith("?") for f in WORKFLOW.frameworks.values() for c in f.criteria)
    assert WORKFLOW.recycle is Recycle.HALVE
    assert WORKFLOW.rejection_reasons


def test_an_unknown_framework_or_a_criterion_listed_twice_fails_when_read() -> None:
    with pytest.raises(ValueError, match="there are BANT, CHAMP, MEDDIC"):
        WORKFLOW.framework("SPIN")
    twice = {"label": "x", "criteria": [{"id": "a", "label": "A", "question": "?"}] * 2}
    with pytest.raises(ValueError, match="twice"):
        Workflow.model_validate({"frameworks": {"X": twice}})


LEAD = LeadScore(
    lead_id="L1",
    behaviour=60.0,
    stage=Stage.SQL,
    weights={"pricing_page": 2.0, "demo_request": 1.0},
    contributions={"pricing_page": (50, 2), "demo_request": (40, 1)},
    fit_points={"work_email": 10},
)


def test_recycling_keeps_halves_or_resets_the_behaviour_points_never_the_fit_or_the_ledger() -> None:
    kept, halved, reset = (recycled(LEAD, policy) for policy in (Recycle.KEEP, Recycle.HALVE, Recycle.RESET))

    assert kept == LEAD
    assert (halved.behaviour, halved.weights) == (30.0, {"pricing_page": 1.0, "demo_request": 0.5})
    assert (reset.behaviour, reset.weights) == (0.0, {})
    assert {halved.fit, reset.fit} == {10}
    assert halved.contributions == reset.contributions == LEAD.contributions


def test_the_first_action_meets_a_running_timer_records_who_on_a_breached_one_and_then_nothing() -> None:
    running = {"state": "running", "due_at": 1, "schedule": "sla-L1-1"}
    breached = {"state": "breached", "due_at": 1, "breached_at": 2}

    met = first_action(running, "rep@example.com", NOW)
    late = first_action(breached, "rep@example.com", NOW)

    assert met == {**running, "state": "met", "acted_at": NOW.timestamp(), "acted_by": "rep@example.com"}
    assert late == {**breached, "acted_at": NOW.timestamp(), "acted_by": "rep@example.com"}
    assert first_action(met, "other@example.com", NOW) is None
    assert first_action(None, "rep@example.com", NOW) is None


def test_answers_merge_over_earlier_ones_and_unknown_criteria_are_refused_naming_them() -> None:
    earlier = {
        "budget": Answer("none", "a@example.com", NOW),
        "challenges": Answer("x", "a@example.com", NOW),
    }

    merged = merged_answers(BANT, earlier, {"budget": "50k", "need": "speed"}, "b@example.com", NOW)

    assert {c: (a.text, a.by) for c, a in merged.items()} == {
        "budget": ("50k", "b@example.com"),
        "need": ("speed", "b@example.com"),
        "challenges": ("x", "a@example.com"),  # another framework's answer is kept
    }
    with pytest.raises(BadRequest, match="champion") as refused:
        merged_answers(BANT, earlier, {"champion": "Bob", "budget": "1"}, "b@example.com", NOW)
    assert [d["field"] for d in refused.value.details] == ["answers.champion"]
    assert BANT.completeness(frozenset(merged)) == 0.5
