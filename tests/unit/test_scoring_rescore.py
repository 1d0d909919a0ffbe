"""Rescoring one person from their archived history under a new model: the new score and model version,
stages reached marked rescored and dated in the past, never a stage moved back."""

from dataclasses import replace
from datetime import timedelta

from leadstream.archive.history import PersonHistory, histories, replay
from leadstream.archive.records import ArchivedRecord
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.rescore import behind, rescored
from leadstream.scoring.score import LeadScore

from tests.unit.model import DOCUMENT, PRICING, WORK_EMAIL, build_model
from tests.unit.test_archive_history import START, identify, page, record

LOWER_MQL = PRICING - 5  # one pricing view is an MQL under the new model


def new_model(mql: float = LOWER_MQL, sql: float = 85, version: int = 2) -> ScoringModel:
    stages = [
        {"stage": "MQL", "min_score": mql},
        {"stage": "SQL", "min_score": sql, "requires_known": True},
    ]
    return ScoringModel.model_validate({**DOCUMENT, "version": version, "stages": stages})


def live(records: list[ArchivedRecord]) -> tuple[LeadScore, PersonHistory]:
    """The person's history and their STATE as the live model (version 1) left it."""
    [person] = histories(records).values()
    score = replay(build_model(), person)
    return replace(score, transitions=()), person


def test_a_stage_the_new_model_reaches_is_a_rescored_transition_dated_when_it_would_have_been_reached():
    current, person = live([identify("ann", 1, 0), page("ann", 2, 30)])
    assert current.stage is Stage.LEAD  # 15 fit + 20 pricing: under the live model's MQL
    assert current.model_version == 1

    after = rescored(new_model(), current, person)

    assert after.stage is Stage.MQL
    assert after.model_version == 2
    [moved] = after.transitions
    assert (moved.from_stage, moved.to_stage) == (Stage.LEAD, Stage.MQL)
    assert moved.rescored
    assert moved.model_version == 2
    assert moved.at == START  # the identify alone (a work e-mail's fit) reached the new MQL
    assert moved.id == "ann:MQL:1"
    assert after.transition_count == 1
    assert after.fit_points == current.fit_points == {"work_email": WORK_EMAIL}


def test_a_lead_the_new_model_scores_lower_keeps_its_stage_and_gets_the_lower_score():
    records = [identify("bo", 1, 0), page("bo", 2, 1), page("bo", 3, 2), page("bo", 4, 3, "/blog/a")]
    current, person = live(records)
    assert current.stage is Stage.MQL
    stricter = ScoringModel.model_validate(
        {**DOCUMENT, "version": 2, "behaviour": [r for r in DOCUMENT["behaviour"] if r["id"] != "pricing"]}
    )

    after = rescored(stricter, current, person)

    now = START + timedelta(minutes=5)
    assert after.score_at(stricter, now) < current.score_at(build_model(), now)
    assert after.stage is Stage.MQL  # the stage never moves back
    assert after.transitions == ()
    assert after.transition_count == current.transition_count


def test_a_rescored_stage_change_is_never_dated_before_the_leads_latest_stage_change():
    records = [
        identify("cy", 1, 0),
        page("cy", 2, 1),
        page("cy", 3, 2),
        record("transition", "cy", "TRANS#1", 2, from_stage="lead", to_stage="MQL", score=55, model=1),
        record(
            "transition", "cy", "TRANS#2", 60, from_stage="MQL", to_stage="rejected", by="rep@example.com"
        ),
    ]
    current, person = live(records)
    current = replace(current, stage=Stage.REJECTED, transition_count=2)

    after = rescored(new_model(mql=10, sql=50), current, person)

    [moved] = after.transitions
    assert (moved.from_stage, moved.to_stage, moved.id) == (Stage.REJECTED, Stage.SQL, "cy:SQL:3")
    assert moved.at == START + timedelta(minutes=60)  # the model had it at SQL earlier; sales had rejected it


def test_rescoring_the_rescored_lead_again_moves_nothing():
    current, person = live([identify("di", 1, 0), page("di", 2, 30)])
    model = new_model()
    first = rescored(model, current, person)

    again = rescored(model, replace(first, transitions=()), person)

    assert again.transitions == ()
    assert replace(again, transitions=()) == replace(first, transitions=())


def test_fit_points_of_events_older_than_the_archive_carry_over_from_state():
    current, _ = live([identify("ed", 1, 0)])
    [person] = histories([page("ed", 2, 30)]).values()  # the identify is older than the archive

    after = rescored(new_model(), current, person)

    assert after.fit_points == {"work_email": WORK_EMAIL}
    assert after.known


def test_a_state_with_a_newer_event_than_the_archive_holds_is_behind():
    current, person = live([identify("fay", 1, 0), page("fay", 2, 30)])
    assert not behind(current, person)

    later = replace(current, last_seen=START + timedelta(minutes=31))
    assert behind(later, person)
