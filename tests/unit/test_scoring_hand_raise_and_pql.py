"""Hand-raise rules send a known lead to SQL whatever its score; PQL rules make a PQL of product usage.

A model of these tests' own: the unit model (tests/unit/model.py) with a hand-raise section and a PQL
section, so the rest of the unit tests keep pinning scoring without them.
"""

import pytest
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import LeadScore, Reason, merge, rebuild, unmerged
from leadstream.tracking.events import BehaviourEvent
from pydantic import ValidationError

from tests.unit.builders import T0, day, form, identify, new_lead, page, scored, track
from tests.unit.model import DEMO, DOCUMENT, FORM, FREE_EMAIL, MQL, PRICING, SENIOR, SQL, WORK_EMAIL

DEMO_HAND = "Asked for a demo (hand-raise)"
TALK = "Asked to talk to sales"
PENDING_DAYS = 7
INVITED = "Invited a teammate"
PROJECTS = "Created 3 projects within 5 days"
PROJECTS_TIMES = 3
PROJECTS_DAYS = 5

SIGNALS = {
    **DOCUMENT,
    "hand_raise": [
        {"id": "demo_hand", "label": DEMO_HAND, "match": {"type": "form", "form_id": "demo-request"}},
        {
            "id": "talk",
            "label": TALK,
            "match": {"type": "track", "name": "Contact Sales"},
            "pending_days": PENDING_DAYS,
        },
    ],
    "pql": [
        {"id": "invited", "label": INVITED, "match": {"type": "track", "name": "Teammate Invited"}},
        {
            "id": "projects",
            "label": PROJECTS,
            "match": {"type": "track", "name": "Project Created"},
            "min_times": PROJECTS_TIMES,
            "within_days": PROJECTS_DAYS,
        },
    ],
}


@pytest.fixture(scope="module")
def model() -> ScoringModel:
    return ScoringModel.model_validate(SIGNALS)


def founder_on_free_mail(model: ScoringModel) -> LeadScore:
    return scored(model, form("demo-request", email_kind="free", title="Founder"))


def projects(*days: float) -> list[BehaviourEvent]:
    return [track("Project Created", day(n)) for n in days]


def known(model: ScoringModel) -> LeadScore:
    return scored(model, identify(email_kind="work"))


# --- the model ------------------------------------------------------------------------------------------


def test_a_hand_raise_rule_may_not_share_an_id_with_a_behaviour_rule() -> None:
    clash = {**SIGNALS, "hand_raise": [{"id": "demo", "label": "x", "match": {"type": "form"}}]}

    with pytest.raises(ValidationError, match="repeated: \\['demo'\\]"):
        ScoringModel.model_validate(clash)


def test_a_pql_rule_needs_at_least_one_event_and_a_positive_window() -> None:
    rule = {"id": "p", "label": "p", "match": {"type": "track"}}
    for bad in ({"min_times": 0}, {"within_days": 0}):
        with pytest.raises(ValidationError):
            ScoringModel.model_validate({**SIGNALS, "pql": [{**rule, **bad}]})


def test_the_rules_labels_are_the_models_labels(model: ScoringModel) -> None:
    assert (model.label("demo_hand"), model.label("projects")) == (DEMO_HAND, PROJECTS)


# --- hand-raisers ---------------------------------------------------------------------------------------


def test_a_free_mail_founder_requesting_a_demo_becomes_an_sql_as_a_hand_raiser_with_its_fit_shown(
    model: ScoringModel,
) -> None:
    lead = founder_on_free_mail(model)

    score = DEMO + FREE_EMAIL + SENIOR
    assert MQL <= score < SQL  # its score alone makes an MQL, which reaches nobody
    assert lead.stage is Stage.SQL
    [transition] = lead.transitions
    assert (transition.from_stage, transition.to_stage, transition.score) == (Stage.LEAD, Stage.SQL, score)
    assert transition.hand_raiser is True
    assert transition.reasons[0] == Reason("demo_hand", DEMO_HAND, 0)
    assert transition.reasons[1:] == (
        Reason("demo", "Asked for a demo", DEMO),
        Reason("free_email", "Free address", FREE_EMAIL),
        Reason("senior", "Senior title", SENIOR),
    )
    assert transition.fit == (
        Reason("free_email", "Free address", FREE_EMAIL),
        Reason("senior", "Senior title", SENIOR),
    )
    assert transition.model_version == model.version


def test_a_hand_raiser_whose_score_makes_an_sql_anyway_is_a_plain_sql(model: ScoringModel) -> None:
    lead = scored(model, identify(email_kind="work"), page("/pricing"), form("demo-request"))

    assert WORK_EMAIL + PRICING + DEMO >= SQL
    [transition] = lead.transitions
    assert transition.to_stage is Stage.SQL
    assert transition.hand_raiser is False
    assert Reason("demo_hand", DEMO_HAND, 0) not in transition.reasons


def test_an_anonymous_visitor_asking_for_sales_is_not_sent_until_it_identifies(model: ScoringModel) -> None:
    anonymous = scored(model, track("Contact Sales"))

    assert anonymous.known is False
    assert anonymous.stage is Stage.LEAD
    assert anonymous.transitions == ()

    lead = scored(model, identify(day(2), email_kind="free"), state=anonymous)

    [transition] = lead.transitions
    assert (transition.to_stage, transition.at, transition.hand_raiser) == (Stage.SQL, day(2), True)
    assert transition.reasons[0] == Reason("talk", TALK, 0)
    assert lead.signals == {}


def test_an_anonymous_hand_raise_that_identifies_after_its_pending_days_is_not_sent(
    model: ScoringModel,
) -> None:
    anonymous = scored(model, track("Contact Sales"))

    lead = scored(model, identify(day(PENDING_DAYS + 1), email_kind="work"), state=anonymous)

    assert lead.stage is Stage.LEAD
    assert lead.transitions == ()
    assert lead.signals == {}


def test_an_anonymous_demo_request_goes_to_sales_when_a_later_form_gives_its_email(
    model: ScoringModel,
) -> None:
    anonymous = scored(model, form("demo-request"))  # no e-mail on it: nobody to call
    assert (anonymous.stage, anonymous.known) == (Stage.MQL, False)

    lead = scored(model, form("newsletter", day(1), email_kind="work"), state=anonymous)

    assert [(t.from_stage, t.to_stage, t.hand_raiser) for t in lead.transitions] == [
        (Stage.MQL, Stage.SQL, True)
    ]


@pytest.mark.parametrize("stage", [Stage.SQL, Stage.ACCEPTED, Stage.OPPORTUNITY, Stage.DISQUALIFIED])
def test_a_lead_at_sql_or_beyond_is_not_moved_by_a_hand_raise(model: ScoringModel, stage: Stage) -> None:
    lead = scored(
        model, form("demo-request", email_kind="free"), state=LeadScore("L1", stage=stage, known=True)
    )

    assert lead.stage is stage
    assert lead.transitions == ()
    assert lead.signals == {}  # used up: it does not wait for a later event


def test_a_rejected_lead_that_asks_again_goes_back_to_sales(model: ScoringModel) -> None:
    rejected = LeadScore("L1", stage=Stage.REJECTED, known=True, transition_count=3)

    lead = scored(model, track("Contact Sales"), state=rejected)

    assert [(t.id, t.from_stage, t.to_stage, t.hand_raiser) for t in lead.transitions] == [
        ("L1:SQL:4", Stage.REJECTED, Stage.SQL, True)
    ]


# --- PQLs -----------------------------------------------------------------------------------------------


def test_a_single_product_event_makes_a_known_lead_a_pql(model: ScoringModel) -> None:
    lead = scored(model, track("Teammate Invited", day(1)), state=known(model))

    [transition] = lead.transitions
    assert (transition.from_stage, transition.to_stage, transition.at) == (Stage.LEAD, Stage.PQL, day(1))
    assert transition.reasons[0] == Reason("invited", INVITED, 0)
    assert transition.hand_raiser is False


def test_an_mql_reaching_a_pql_rule_moves_sideways_to_pql(model: ScoringModel) -> None:
    mql = scored(model, identify(email_kind="work"), page("/pricing"), page("/pricing"))
    assert mql.stage is Stage.MQL

    lead = scored(model, track("Teammate Invited"), state=mql)

    assert [(t.from_stage, t.to_stage) for t in lead.transitions] == [(Stage.MQL, Stage.PQL)]


def test_usage_reaching_the_threshold_within_the_window_makes_a_pql_at_that_event(
    model: ScoringModel,
) -> None:
    almost = scored(model, *projects(0, 2), state=known(model))
    assert almost.stage is Stage.LEAD

    lead = scored(model, *projects(PROJECTS_DAYS - 0.5), state=almost)

    [transition] = lead.transitions
    assert (transition.to_stage, transition.at) == (Stage.PQL, day(PROJECTS_DAYS - 0.5))
    assert transition.reasons[0] == Reason("projects", PROJECTS, 0)


def test_usage_spread_wider_than_the_window_makes_no_pql(model: ScoringModel) -> None:
    lead = scored(model, *projects(0, 3, PROJECTS_DAYS + 1), state=known(model))

    assert lead.stage is Stage.LEAD
    assert lead.transitions == ()
    # only the latest min_times - 1 are kept: the state stays as small however much the lead uses the app
    assert lead.usage == {"projects": (day(3), day(PROJECTS_DAYS + 1))}


def test_an_old_event_arriving_late_counts_in_the_window_it_happened_in(model: ScoringModel) -> None:
    lead = scored(model, *projects(0, PROJECTS_DAYS - 1), state=known(model))
    assert lead.stage is Stage.LEAD

    late = scored(model, *projects(1), state=lead)  # sent by an app that was offline

    assert [t.to_stage for t in late.transitions] == [Stage.PQL]


def test_a_pql_rule_does_not_move_an_sql_nor_a_rejected_lead(model: ScoringModel) -> None:
    for stage in (Stage.SQL, Stage.REJECTED, Stage.PQL):
        lead = scored(model, track("Teammate Invited"), state=LeadScore("L1", stage=stage, known=True))

        assert (lead.stage, lead.transitions) == (stage, ())


def test_a_product_event_that_also_lifts_the_score_past_sql_makes_an_sql(model: ScoringModel) -> None:
    close = scored(model, identify(email_kind="work"), page("/pricing"), page("/pricing"), form())
    assert close.score_at(model, T0) == WORK_EMAIL + 2 * PRICING + FORM < SQL

    lead = scored(model, form("demo-request"), track("Teammate Invited"), state=close)

    assert [t.to_stage for t in lead.transitions] == [Stage.SQL]
    assert lead.stage is Stage.SQL


def test_an_anonymous_users_pql_waits_until_it_identifies(model: ScoringModel) -> None:
    anonymous = scored(model, *projects(0, 1, 2))
    assert (anonymous.stage, anonymous.transitions) == (Stage.LEAD, ())

    lead = scored(model, identify(day(3), email_kind="work"), state=anonymous)

    assert [(t.to_stage, t.at, t.reasons[0]) for t in lead.transitions] == [
        (Stage.PQL, day(3), Reason("projects", PROJECTS, 0))
    ]


# --- merges, rebuilds and unmerges keep them --------------------------------------------------------------


def test_an_anonymous_devices_hand_raise_goes_with_it_into_the_known_lead(model: ScoringModel) -> None:
    device = scored(model, track("Contact Sales"), state=new_lead("D1"))
    person = known(model)

    merged = merge(model, person, device)
    lead = scored(model, page("/", day(1)), state=merged)

    assert [(t.to_stage, t.hand_raiser, t.reasons[0].label) for t in lead.transitions] == [
        (Stage.SQL, True, TALK)
    ]


def test_usage_on_two_devices_counts_together_after_a_merge(model: ScoringModel) -> None:
    device = scored(model, *projects(0, 1), state=new_lead("D1"))
    person = scored(model, *projects(2), state=known(model))
    assert person.stage is Stage.LEAD

    lead = scored(model, page("/", day(2)), state=merge(model, person, device))

    assert [(t.to_stage, t.reasons[0].label) for t in lead.transitions] == [(Stage.PQL, PROJECTS)]


def test_a_rebuild_keeps_a_waiting_hand_raise_whose_event_expired(model: ScoringModel) -> None:
    anonymous = scored(model, track("Contact Sales"), page("/a"))

    rebuilt = rebuild(model, anonymous, [page("/a")])  # the track call is no longer stored
    lead = scored(model, identify(day(1), email_kind="work"), state=rebuilt)

    assert [(t.to_stage, t.hand_raiser) for t in lead.transitions] == [(Stage.SQL, True)]


def test_a_rebuild_counts_usage_once_and_makes_no_second_pql(model: ScoringModel) -> None:
    events = [identify(email_kind="work"), *projects(0, 1, 2)]
    lead = scored(model, *events)
    assert lead.stage is Stage.PQL

    again = rebuild(model, lead, events)

    assert (again.stage, again.transitions) == (Stage.PQL, ())
    assert again.usage == lead.usage


def test_a_rebuild_makes_the_pql_its_events_reach(model: ScoringModel) -> None:
    events = [identify(email_kind="work"), *projects(0, 1, 2)]
    counted_without_usage = LeadScore("L1", stage=Stage.MQL, known=True, transition_count=1)

    lead = rebuild(model, counted_without_usage, events)

    assert [(t.id, t.from_stage, t.to_stage) for t in lead.transitions] == [
        ("L1:PQL:2", Stage.MQL, Stage.PQL)
    ]


def test_an_unmerge_that_leaves_an_mqls_own_usage_reaching_a_pql_rule_tells_sales(
    model: ScoringModel,
) -> None:
    own = [identify(email_kind="work"), page("/pricing"), page("/pricing"), track("Teammate Invited", day(1))]
    was_mql = LeadScore("L1", stage=Stage.MQL, known=True, transition_count=2)

    lead = unmerged(model, was_mql, own)

    assert [(t.id, t.from_stage, t.to_stage) for t in lead.transitions] == [
        ("L1:PQL:3", Stage.MQL, Stage.PQL)
    ]


def test_a_longer_threshold_counts_each_event_applied_on_its_own(model: ScoringModel) -> None:
    five = ScoringModel.model_validate(
        {**SIGNALS, "pql": [{**SIGNALS["pql"][1], "min_times": 5, "within_days": PROJECTS_DAYS}]}
    )
    lead = known(five)
    for n in range(4):  # one event per update, as the stream delivers them
        lead = scored(five, *projects(n), state=lead)
        assert lead.stage is Stage.LEAD
    assert lead.usage == {"projects": (day(0), day(1), day(2), day(3))}

    lead = scored(five, *projects(4), state=lead)

    assert [t.to_stage for t in lead.transitions] == [Stage.PQL]
