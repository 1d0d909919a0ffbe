"""Account scoring: the strongest leads roll up, committee coverage, engaged people, stages, surges, replays,
decay and bounded state. On the tests' own account model (tests/unit/account_model.py)."""

import itertools

import pytest
from leadstream.accounts.model import AccountModel, AccountStage
from leadstream.accounts.score import LeadChange
from leadstream.scoring.model import ScoringModel

from tests.unit.account_model import (
    CHAMPION,
    COOLDOWN,
    DECISION_MAKER,
    ECONOMIC_BUYER,
    ENGAGED,
    KEEP,
    MID_SIZE,
    MQA,
    ROLES,
    SCHOOL,
    SOFTWARE,
    SURGE_GAIN,
    SURGE_PEOPLE,
    TECHNICAL,
    USER,
    WEIGHTS,
    WINDOW,
    Ledger,
    build_account_model,
    build_ledger,
    lead,
)
from tests.unit.builders import T0, day, identify, page, scored
from tests.unit.model import HALF_LIFE_DAYS, PRICING


@pytest.fixture(scope="module")
def accounts() -> AccountModel:
    return build_account_model()


@pytest.fixture
def acme(accounts: AccountModel, model: ScoringModel) -> Ledger:
    return build_ledger(accounts, model)


# -- engagement roll-up ------------------------------------------------------------------------------------


def test_given_many_leads_when_rolled_up_then_only_the_strongest_count_with_their_weights(
    acme: Ledger,
) -> None:
    acme.apply(lead("a", 10), lead("b", 40), lead("c", 20), lead("d", 5))

    card = acme.card(T0)

    assert card.engagement == WEIGHTS[0] * 40 + WEIGHTS[1] * 20
    assert [p.lead_id for p in card.top_people] == ["b", "c"]


def test_given_a_hundred_interns_when_compared_with_two_directors_then_the_directors_account_scores_higher(
    accounts: AccountModel, model: ScoringModel
) -> None:
    interns = build_ledger(accounts, model, "interns.example")
    directors = build_ledger(accounts, model, "directors.example")

    interns.apply(*(lead(f"i{n}", 10, title="Marketing Intern") for n in range(100)))
    directors.apply(lead("d1", 60, title="Sales Director"), lead("d2", 60, title="Marketing Director"))

    assert interns.card(T0).engagement == WEIGHTS[0] * 10 + WEIGHTS[1] * 10
    assert directors.card(T0).score > interns.card(T0).score
    assert interns.card(T0).people == 100


def test_given_a_lead_with_negative_points_when_rolled_up_then_it_takes_nobody_s_place(acme: Ledger) -> None:
    acme.apply(lead("seeker", -10), lead("buyer", 30))

    assert acme.card(T0).engagement == 30
    assert [p.lead_id for p in acme.card(T0).top_people] == ["buyer"]


# -- decay ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, 3, HALF_LIFE_DAYS, 33])
def test_given_an_account_of_one_lead_when_time_passes_then_it_decays_exactly_like_that_lead(
    acme: Ledger, model: ScoringModel, days: float
) -> None:
    scored_lead = scored(model, page("/pricing"), page("/pricing"), identify(email_kind="work"))
    acme.apply(LeadChange.of(scored_lead, version=1, at=T0, title=None))

    behaviour_now = scored_lead.score_at(model, day(days)) - scored_lead.fit

    assert acme.card(day(days)).engagement == pytest.approx(behaviour_now, abs=0.05)
    assert acme.card(day(HALF_LIFE_DAYS)).engagement == pytest.approx(PRICING)  # 2 x PRICING, halved


def test_given_leads_of_different_ages_when_one_is_older_then_it_ranks_by_what_is_left_of_its_points(
    acme: Ledger,
) -> None:
    acme.apply(lead("old", 40, at=T0), lead("new", 30, at=day(HALF_LIFE_DAYS)))

    card = acme.card(day(HALF_LIFE_DAYS))

    assert [p.lead_id for p in card.top_people] == ["new", "old"]
    assert card.engagement == pytest.approx(WEIGHTS[0] * 30 + WEIGHTS[1] * 20)


def test_given_an_engaged_lead_when_its_score_decays_below_the_threshold_then_it_stops_counting(
    acme: Ledger,
) -> None:
    acme.apply(lead("a", 2 * ENGAGED))  # falls to ENGAGED after one half-life

    assert acme.card(T0).engaged_people == 1
    assert acme.state.engaged_at(day(HALF_LIFE_DAYS - 1)) == 1
    assert acme.state.engaged_at(day(HALF_LIFE_DAYS + 1)) == 0
    acme.apply(lead("b", 1, at=day(HALF_LIFE_DAYS + 2)))
    assert acme.card(day(HALF_LIFE_DAYS + 2)).engaged_people == 0


def test_given_fit_above_the_threshold_and_negative_points_when_they_fade_then_the_lead_becomes_engaged(
    acme: Ledger,
) -> None:
    acme.apply(lead("a", -10, fit=ENGAGED + 5))  # 15 now; -10 fades to -5 after one half-life

    assert acme.state.engaged_at(T0) == 0
    assert acme.state.engaged_at(day(HALF_LIFE_DAYS + 1)) == 1


def test_given_engaged_people_when_they_went_quiet_then_they_do_not_make_an_mqa(acme: Ledger) -> None:
    acme.apply(lead("a", 25), lead("b", 22))  # engaged, far from an MQA
    assert acme.state.stage is AccountStage.ENGAGED

    acme.apply(lead("c", MQA, at=day(5 * HALF_LIFE_DAYS)))  # the score of an MQA, but one engaged person

    assert acme.card(day(5 * HALF_LIFE_DAYS)).score >= MQA
    assert acme.card(day(5 * HALF_LIFE_DAYS)).engaged_people == 1
    assert acme.state.stage is AccountStage.ENGAGED


# -- buying committee ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("CFO", "economic_buyer"),
        ("Chief Financial Officer", "economic_buyer"),
        (
            "vp finance",
            "economic_buyer",
        ),  # the first role that matches wins, before the decision maker's 'vp'
        ("CTO & Co-founder", "technical_evaluator"),
        ("Head of Engineering", "technical_evaluator"),
        ("Solutions Architect", "technical_evaluator"),
        ("Director", "decision_maker"),  # 'cto' is inside 'Director', but not as a word
        ("VP Sales", "decision_maker"),
        ("VPN Engineer", "user"),  # not a VP
        ("Marketing Manager", "champion"),
        ("Intern", None),
        ("", None),
    ],
)
def test_a_job_title_gives_a_committee_role_by_whole_words(
    accounts: AccountModel, title: str, role: str | None
) -> None:
    assert accounts.role_of(title) == role


def test_given_members_with_committee_titles_then_the_account_covers_those_roles_and_earns_their_points(
    acme: Ledger,
) -> None:
    acme.apply(lead("a", 5, title="CFO"), lead("b", 5, title="CTO"), lead("c", 0, title="CFO"))

    card = acme.card(T0)

    assert card.roles == {
        "economic_buyer": 2,
        "technical_evaluator": 1,
        "decision_maker": 0,
        "champion": 0,
        "user": 0,
    }
    assert card.coverage == pytest.approx(2 / ROLES)
    assert card.score == pytest.approx(5 + WEIGHTS[1] * 5 + ECONOMIC_BUYER + TECHNICAL)


def test_given_a_member_when_their_title_changes_then_they_move_to_the_new_role(acme: Ledger) -> None:
    acme.apply(lead("a", 5, title="CTO"))

    acme.apply(lead("a", 5, title="Data Analyst", version=2))

    card = acme.card(T0)
    assert card.roles["technical_evaluator"] == 0
    assert card.roles["user"] == 1
    assert card.score == pytest.approx(5 + USER)


def test_given_a_member_when_they_leave_then_their_role_points_and_engagement_go_with_them(
    acme: Ledger,
) -> None:
    acme.apply(lead("a", 40, title="Head of Engineering"), lead("b", 10, title="Marketing Manager"))

    acme.apply(LeadChange.left("a", version=2, at=T0))

    card = acme.card(T0)
    assert card.people == 1
    assert card.roles["technical_evaluator"] == 0
    assert card.engaged_people == 0
    assert card.score == pytest.approx(10 + CHAMPION)


# -- fit -----------------------------------------------------------------------------------------------------


def test_given_group_traits_then_fit_rules_on_industry_employees_and_domain_count(
    accounts: AccountModel, model: ScoringModel
) -> None:
    school = build_ledger(accounts, model, "cs.stanford.edu")

    school.describe(1, industry="Computer Software", employees="101-250")

    assert school.card(T0).fit == SOFTWARE + MID_SIZE + SCHOOL
    school.describe(2, employees="5,000+")
    assert school.card(T0).fit == SOFTWARE + SCHOOL


def test_given_traits_when_an_older_update_arrives_after_a_newer_one_then_it_is_ignored(acme: Ledger) -> None:
    acme.describe(2, industry="Software", name="Acme")

    assert acme.describe(1, industry="Retail", name="Old name") == []
    assert acme.card(T0).fit == SOFTWARE
    assert acme.card(T0).name == "Acme"


def test_given_an_engaged_account_when_its_fit_improves_then_the_stage_moves_on_the_traits_update(
    acme: Ledger,
) -> None:
    acme.apply(lead("a", 45), lead("b", ENGAGED))
    assert acme.state.stage is AccountStage.ENGAGED
    assert acme.card(T0).score + SOFTWARE + MID_SIZE >= MQA

    events = acme.describe(1, industry="Software", employees=str(500))

    assert [(e.to_stage, e.change_id) for e in events] == [("MQA", "acme.com:MQA:traits@1")]
    assert acme.state.stage is AccountStage.MQA


# -- stages --------------------------------------------------------------------------------------------------


def test_given_two_engaged_people_and_enough_points_then_the_account_becomes_an_mqa_once(
    acme: Ledger,
) -> None:
    acme.apply(lead("a", MQA, title="CFO"))
    assert [e.to_stage for e in acme.stage_changes()] == ["engaged"]

    acme.apply(lead("b", ENGAGED, title="CTO"), lead("b", 2 * ENGAGED, version=2))

    changes = acme.stage_changes()
    assert [(c.from_stage, c.to_stage) for c in changes] == [("account", "engaged"), ("engaged", "MQA")]
    assert changes[1].change_id == "acme.com:MQA:b@1"
    assert changes[1].card.stage == "MQA"
    assert changes[1].card.engaged_people == 2


def test_given_an_mqa_when_its_people_go_quiet_or_leave_then_the_stage_does_not_move_back(
    acme: Ledger,
) -> None:
    acme.apply(lead("a", MQA, title="CFO"), lead("b", MQA))
    assert acme.state.stage is AccountStage.MQA

    acme.apply(LeadChange.left("a", 2, day(1)), lead("b", 1, at=day(100), version=2))

    assert acme.state.stage is AccountStage.MQA
    assert acme.card(day(100)).score < MQA
    assert [e.to_stage for e in acme.stage_changes()] == ["engaged", "MQA"]


def test_given_one_lead_with_every_point_when_alone_then_the_account_is_engaged_but_not_an_mqa(
    acme: Ledger,
) -> None:
    acme.apply(lead("a", 10 * MQA, title="CFO"))

    assert acme.state.stage is AccountStage.ENGAGED


# -- surge ---------------------------------------------------------------------------------------------------


def test_given_a_sharp_rise_in_a_week_when_it_keeps_rising_then_the_account_surges_once(acme: Ledger) -> None:
    acme.apply(lead("a", 5, at=day(-30)))

    acme.apply(*(lead("a", 5 + 10 * n, at=day(n), version=n + 2) for n in range(6)))

    surges = acme.surges()
    assert len(surges) == 1
    assert surges[0].engagement_gain >= SURGE_GAIN
    assert surges[0].window_days == WINDOW
    assert surges[0].surge_id == f"acme.com:surge:a@{surges[0].surge_id.rpartition('@')[2]}"


def test_given_a_surge_when_the_cooldown_has_passed_and_it_rises_again_then_it_surges_again(
    acme: Ledger,
) -> None:
    acme.apply(lead("a", SURGE_GAIN))
    assert len(acme.surges()) == 1

    acme.apply(lead("a", 3 * SURGE_GAIN, at=day(COOLDOWN - 1), version=2))
    assert len(acme.surges()) == 1
    acme.apply(lead("b", 4 * SURGE_GAIN, at=day(COOLDOWN + 1)))

    assert len(acme.surges()) == 2


def test_given_slow_steady_growth_then_there_is_no_surge(acme: Ledger, model: ScoringModel) -> None:
    points = 0.0
    for week in range(8):  # a lead earns a third of a surge every week, on top of what is left of before
        points = model.decay(points, day(WINDOW * (week - 1)), day(WINDOW * week)) + SURGE_GAIN / 3
        acme.apply(lead("a", points, at=day(WINDOW * week), version=week + 1))

    assert acme.surges() == []


def test_given_a_rise_when_it_is_under_half_the_engagement_of_a_week_ago_then_only_a_small_account_surges(
    accounts: AccountModel, model: ScoringModel
) -> None:
    small, large = (
        build_ledger(accounts, model, "small.example"),
        build_ledger(accounts, model, "large.example"),
    )
    small.apply(lead("a", 40, at=day(-2 * COOLDOWN)))
    large.apply(lead("a", 400, at=day(-2 * COOLDOWN)))

    for account in (small, large):
        account.events.clear()
        account.apply(lead("c", 4 * SURGE_GAIN, title="Analyst"))

    assert len(small.surges()) == 1
    assert large.surges() == []


def test_given_several_people_engaging_in_a_week_then_the_account_surges_on_people(
    accounts: AccountModel, model: ScoringModel
) -> None:
    big = build_ledger(accounts, model)
    big.apply(lead("top", 400, at=day(-COOLDOWN - 1)))  # a big account: new people add little engagement
    big.events.clear()

    big.apply(*(lead(f"p{n}", 2 * ENGAGED, at=day(n)) for n in range(SURGE_PEOPLE)))

    assert len(big.surges()) == 1
    assert big.surges()[0].engaged_people_gain == SURGE_PEOPLE


# -- replays, order, cost ------------------------------------------------------------------------------------


def batch() -> list[LeadChange]:
    return [
        lead("a", 30, title="CFO"),
        lead("b", 25, at=day(1), title="CTO"),
        lead("c", 12, at=day(1), title="Engineer"),
        lead("a", 45, at=day(2), title="CFO", version=2),
        lead("d", 50, at=day(2), title="VP Sales"),
        LeadChange.left("c", 2, day(3)),
        lead("e", 8, at=day(3), title="Manager"),
        lead("f", 3, at=day(3)),
    ]


def test_given_a_batch_when_it_is_replayed_then_nothing_changes_and_no_event_is_made_again(
    acme: Ledger,
) -> None:
    acme.apply(*batch())
    state, marks, events = acme.state, dict(acme.marks), list(acme.events)

    assert acme.apply(*batch()) == []

    assert acme.state == state
    assert acme.marks == marks
    assert acme.events == events


def test_given_a_newer_version_when_an_older_one_arrives_late_then_it_is_ignored(acme: Ledger) -> None:
    acme.apply(lead("a", 40, title="CTO", version=2))

    assert acme.apply(lead("a", 5, title="CFO", version=1)) == []

    assert acme.card(T0).roles["technical_evaluator"] == 1
    assert acme.card(T0).engagement == 40


@pytest.mark.parametrize("order", list(itertools.islice(itertools.permutations(range(8)), 0, 40320, 5003)))
def test_given_the_same_changes_when_they_arrive_in_any_order_then_the_account_is_the_same(
    accounts: AccountModel, model: ScoringModel, order: tuple[int, ...]
) -> None:
    in_order = build_ledger(accounts, model)
    shuffled = build_ledger(accounts, model)
    changes = batch()

    in_order.apply(*changes)
    shuffled.apply(*(changes[i] for i in order))

    assert shuffled.card(day(4)) == in_order.card(day(4))
    assert shuffled.marks == in_order.marks


def test_given_a_strong_lead_forgotten_by_the_board_when_it_changes_again_then_it_counts_again(
    acme: Ledger,
) -> None:
    """The one approximation: the board keeps the KEEP strongest; a lead below them is forgotten until its
    next change, even when the board's leads lose their points in between."""
    acme.apply(*(lead(f"s{n}", 50 + n) for n in range(KEEP)), lead("x", 40))
    acme.apply(*(LeadChange.left(f"s{n}", 2, T0) for n in range(KEEP)))
    assert acme.card(T0).engagement == 0  # undercounts: x is forgotten

    acme.apply(lead("x", 40, version=2))

    assert acme.card(T0).engagement == 40


def test_given_a_thousand_leads_when_added_then_the_account_state_stays_as_small_as_with_a_few(
    accounts: AccountModel, model: ScoringModel
) -> None:
    titles = ["CFO", "CTO", "VP Sales", "Marketing Manager", "Engineer", None]
    few = build_ledger(accounts, model, "few.example")
    many = build_ledger(accounts, model, "many.example")

    def changes(n: int) -> list[LeadChange]:
        return [lead(f"L{i}", 5 + i % 60, at=day(i % 5), title=titles[i % len(titles)]) for i in range(n)]

    few.apply(*changes(60))  # every number of points the thousand have
    many.apply(*changes(1000))

    for state in (few.state, many.state):
        assert len(state.board) == KEEP
        assert len(state.roles) <= ROLES
        assert len(state.recent) <= WINDOW + 2
        # one scheduled change per day on which some lead stops being engaged: bounded by the decay
        # horizon of the strongest lead (64 points fall to ENGAGED in under two half-lives), not by people
        assert len(state.engaged_changes) <= 2 * HALF_LIFE_DAYS + 5
    assert many.card(day(5)).people == 1000
    assert len(many.state.engaged_changes) == len(few.state.engaged_changes)


def test_the_card_names_people_by_lead_id_and_title_only(acme: Ledger) -> None:
    acme.apply(lead("L1", 40, title="VP Finance"), lead("L2", 30, title="Director of Sales"))

    card = acme.card(T0)

    assert [(p.lead_id, p.title, p.role) for p in card.top_people] == [
        ("L1", "VP Finance", "economic_buyer"),
        ("L2", "Director of Sales", "decision_maker"),
    ]
    assert "@" not in card.model_dump_json()
    assert card.score == pytest.approx(40 + WEIGHTS[1] * 30 + ECONOMIC_BUYER + DECISION_MAKER)
