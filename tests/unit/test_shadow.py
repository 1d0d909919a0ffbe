"""Shadow mode's arithmetic: a candidate model's record of a person from their stored events (what a stream
batch delivered again, events expired, a new candidate and an unmerge do to it), and the report comparing
it with the live model's stage changes."""

import pytest
from leadstream.platform.settings import ShadowSettings
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.model_file import load_model
from leadstream.scoring.score import LeadScore, Transition
from leadstream.shadow.report import WAITING, compare, shadow_report
from leadstream.shadow.score import ShadowScore, candidate_score
from pydantic import ValidationError

from tests.unit.builders import day, identify, page
from tests.unit.model import DOCUMENT, MQL, PRICING, WORK_EMAIL

CANDIDATE_SQL = 50  # the candidate's one change: an SQL at 50 where the test model asks 85


def candidate(version: int = 2, sql: int = CANDIDATE_SQL) -> ScoringModel:
    stages = [{"stage": "MQL", "min_score": MQL}, {"stage": "SQL", "min_score": sql, "requires_known": True}]
    return ScoringModel.model_validate({**DOCUMENT, "version": version, "stages": stages})


def known_pricing_visitor() -> list:
    """A work e-mail and pricing twice: WORK_EMAIL + 2 * PRICING = 55, an SQL for the candidate only."""
    return [identify(day(0), email_kind="work"), page("/pricing", day(0.1)), page("/pricing/plans", day(0.2))]


def test_the_candidate_records_the_sql_it_would_make_with_its_version_and_when():
    events = known_pricing_visitor()
    assert WORK_EMAIL + 2 * PRICING >= CANDIDATE_SQL

    shadow = candidate_score(candidate(), "L1", None, events)

    assert (shadow.model_version, shadow.stage) == (2, Stage.SQL)
    [sql] = shadow.score.transitions
    assert (sql.from_stage, sql.to_stage, sql.model_version, sql.at) == (Stage.LEAD, Stage.SQL, 2, day(0.2))
    assert shadow.reached() == {Stage.SQL: day(0.2)}


def test_the_same_events_again_give_the_same_record():
    events = known_pricing_visitor()
    first = candidate_score(candidate(), "L1", None, events)

    again = candidate_score(candidate(), "L1", first, list(reversed(events)))

    assert again == first


def test_a_new_event_adds_only_the_stage_changes_it_makes():
    first = candidate_score(candidate(sql=100), "L1", None, known_pricing_visitor())
    assert [t.to_stage for t in first.score.transitions] == [Stage.MQL]

    later = candidate_score(
        candidate(sql=100), "L1", first, [*known_pricing_visitor(), page("/pricing", day(1))]
    )

    assert [t.to_stage for t in later.score.transitions] == [Stage.MQL]  # 55 + nothing: pricing is capped
    assert later.score.events == 4


def test_the_stage_never_moves_back_when_the_events_that_made_it_expired():
    first = candidate_score(candidate(), "L1", None, known_pricing_visitor())

    after_expiry = candidate_score(candidate(), "L1", first, [page("/blog/a", day(100))])

    assert after_expiry.stage is Stage.SQL
    assert after_expiry.score.known  # the identify expired; being known did not
    assert after_expiry.score.transitions == first.score.transitions


def test_another_candidate_starts_from_nothing():
    earlier = candidate_score(candidate(version=2), "L1", None, known_pricing_visitor())

    newer = candidate_score(candidate(version=3, sql=100), "L1", earlier, known_pricing_visitor())

    assert newer.model_version == 3
    assert [(t.to_stage, t.model_version) for t in newer.score.transitions] == [(Stage.MQL, 3)]


def test_an_unmerge_starts_the_person_again_from_their_own_events():
    merged = candidate_score(candidate(), "L1", None, known_pricing_visitor())

    split = candidate_score(candidate(), "L1", merged, [page("/pricing", day(0.1))], restart=True)

    assert split.stage is Stage.LEAD  # the e-mail and the second pricing view left with the other lead
    assert split.score.transitions == merged.score.transitions  # what it would have done stays recorded


# --- the report -----------------------------------------------------------------------------------


def moved(n: int, to: Stage, by: str | None = None, frm: Stage = Stage.LEAD) -> Transition:
    return Transition(f"L:{to.value}:{n}", frm, to, day(n), 60.0, by=by, model_version=None if by else 1)


def shadow_at(lead_id: str, *stages: Stage) -> ShadowScore:
    """A candidate's record that moved the person through `stages`."""
    transitions = tuple(moved(n, stage) for n, stage in enumerate(stages, 1))
    stage = stages[-1] if stages else Stage.LEAD
    return ShadowScore(2, LeadScore(lead_id=lead_id, stage=stage, transitions=transitions))


def test_an_sql_the_candidate_would_drop_and_what_sales_made_of_it():
    live = [
        moved(1, Stage.MQL),
        moved(2, Stage.SQL),
        moved(3, Stage.ACCEPTED, "rep@x"),
        moved(4, Stage.OPPORTUNITY, "rep@x"),
    ]

    compared = compare(shadow_at("L1", Stage.MQL), live)

    assert (compared.live_stage, compared.candidate_stage) == (Stage.SQL, Stage.MQL)
    assert (compared.live_sql, compared.candidate_sql, compared.outcome) == (True, False, "opportunity")
    assert compared.live_versions == {1}


def test_the_report_counts_agreement_and_the_sqls_added_and_dropped_by_outcome():
    people = [
        compare(shadow_at("L1", Stage.MQL), [moved(1, Stage.SQL), moved(2, Stage.WON, "rep@x")]),  # dropped
        compare(shadow_at("L2", Stage.SQL), [moved(1, Stage.MQL)]),  # added, nobody acted
        compare(shadow_at("L3", Stage.SQL), [moved(1, Stage.SQL), moved(2, Stage.REJECTED, "rep@x")]),
        compare(shadow_at("L4"), []),  # a visitor both leave at lead
    ]

    report = shadow_report(2, people, live_version=1)

    assert (report.people, report.agree, report.agreement) == (4, 2, 0.5)
    assert report.live_versions == [1]
    assert report.stages["SQL"] == {"live": 2, "candidate": 2}
    assert (report.sqls["dropped"]["won"], report.sqls["dropped"]["leads"]) == (1, ["L1"])
    assert (report.sqls["added"][WAITING], report.sqls["added"]["leads"]) == (1, ["L2"])
    assert report.sqls["both"]["rejected"] == 1
    assert [d["lead_id"] for d in report.disagreements] == ["L1", "L2"]


# --- the candidate's file: a path inside the common layer, checked at cold start ---------------------------


def shadow_settings(path: str) -> ShadowSettings:
    return ShadowSettings.model_validate({"LEADS_TABLE": "leads", "SHADOW_SCORING_MODEL": path})


def test_the_candidate_is_a_file_of_the_layer_and_anything_else_fails_at_cold_start():
    shipped = shadow_settings("leadstream/scoring/candidates/sql_at_60.yaml").shadow_scoring_model
    assert load_model(shipped).version != load_model().version  # a version of its own, beside the live one

    for wrong in ("", "/etc/passwd", "../../template.yaml", "leadstream/scoring/candidates/none.yaml"):
        with pytest.raises(ValidationError, match="common layer"):
            shadow_settings(wrong)
