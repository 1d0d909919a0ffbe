"""Training the predictive score on hand-made histories: who is an example and with which label, the moment
each is judged (never after the outcome), the split by time, the guard against too little data, and an
artifact that ranks better than the rules score where the data say so."""

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from leadstream.accounts.model import AccountFitRule
from leadstream.accounts.model_file import load_account_model
from leadstream.archive.history import PersonHistory, StageChange, replay
from leadstream.predictive import training
from leadstream.predictive.features import features
from leadstream.predictive.model import PredictiveModel
from leadstream.predictive.training import NotEnoughOutcomes, examples, split, train
from leadstream.scoring.lifecycle import Stage
from leadstream.tracking.events import BehaviourEvent, EventType

from cli.model.train import document
from tests.unit.model import build_model

START = datetime(2026, 3, 1, 9, tzinfo=UTC)
HORIZON = timedelta(days=30)
MODEL = build_model()


def page(n: int, at: datetime, path: str = "/pricing") -> BehaviourEvent:
    return BehaviourEvent(f"m-{n}", EventType.PAGE, at, path=path)


def identify(n: int, at: datetime, title: str = "Analyst") -> BehaviourEvent:
    return BehaviourEvent(f"m-{n}", EventType.IDENTIFY, at, fit_traits={"email_kind": "work", "title": title})


def moved(lead: str, to: Stage, at: datetime, by: str | None = "anna@example.com") -> StageChange:
    return StageChange(lead, Stage.SQL, to, at, by=by)


def person(
    lead: str, known: datetime | None, *changes: tuple[Stage, datetime], pages: int = 1
) -> PersonHistory:
    events = [page(i, (known or START) - timedelta(hours=1 + i), "/blog/a") for i in range(pages)]
    if known is not None:
        events.append(identify(99, known))
    events.sort(key=lambda e: e.at)
    return PersonHistory(lead, {lead}, events, [moved(lead, stage, at) for stage, at in changes])


def labelled(*people: PersonHistory, end: datetime) -> dict[str, bool]:
    return {e.lead_id: e.positive for e in examples(MODEL, people, HORIZON, end).examples}


def test_the_label_is_opportunity_or_won_within_the_horizon_of_becoming_known():
    end = START + timedelta(days=100)
    found = labelled(
        person(
            "opportunity",
            START,
            (Stage.ACCEPTED, START + timedelta(days=3)),
            (Stage.OPPORTUNITY, START + timedelta(days=20)),
        ),
        person("won", START, (Stage.WON, START + timedelta(days=29))),
        person("too-late", START, (Stage.OPPORTUNITY, START + timedelta(days=31))),
        person("never", START),
        person("anonymous", None),
        end=end,
    )

    assert found == {"opportunity": True, "won": True, "too-late": False, "never": False}


def test_people_inside_their_horizon_with_nothing_decided_are_left_out_not_taken_for_negatives():
    end = START + timedelta(days=10)  # everyone became known less than a horizon ago
    people = [
        person("waiting", START),
        person("accepted", START, (Stage.ACCEPTED, START + timedelta(days=2))),  # work in progress
        person("rejected", START, (Stage.REJECTED, START + timedelta(days=2))),  # sales said no
        person("quick", START, (Stage.OPPORTUNITY, START + timedelta(days=5))),
    ]

    found = examples(MODEL, people, HORIZON, end)

    assert {e.lead_id: e.positive for e in found.examples} == {"rejected": False, "quick": True}
    assert (found.known, found.waiting) == (4, 2)


def test_a_person_is_judged_before_sales_first_moved_their_lead_on_what_live_state_held_then():
    known = START
    accepted = known + timedelta(days=2)
    history = PersonHistory(
        "p",
        {"p"},
        [
            page(1, known - timedelta(hours=1)),
            identify(2, known),
            page(3, accepted + timedelta(hours=1)),  # after sales called: must not count
            page(4, accepted + timedelta(hours=2), "/careers"),
        ],
        [
            StageChange("p", Stage.LEAD, Stage.SQL, known, by=None, model=1),  # scoring's own: no cut
            moved("p", Stage.ACCEPTED, accepted),
            moved("p", Stage.OPPORTUNITY, accepted + timedelta(days=1)),
        ],
    )

    (found,) = examples(MODEL, [history], HORIZON, START + timedelta(days=60)).examples

    assert found.positive
    assert found.at == accepted - training.MOMENT
    assert found.at < history.first_reached(training.POSITIVE)  # type: ignore[operator]
    assert found.values == features(MODEL, replay(MODEL, history, until=found.at), found.at)
    assert "rule:jobs" not in found.values
    assert not [name for name in found.values if name.startswith("stage:") and Stage(name[6:]).by_people]


def test_without_a_move_by_sales_a_person_is_judged_some_days_after_becoming_known():
    history = person("p", START, pages=3)

    (found,) = examples(MODEL, [history], HORIZON, START + timedelta(days=60)).examples

    assert found.at == START + timedelta(days=training.SNAPSHOT_DAYS)


def test_the_earlier_people_train_and_the_later_ones_evaluate_whatever_order_they_come_in():
    people = [person(f"p{i:02d}", START + timedelta(days=i)) for i in range(10)]
    random.Random(3).shuffle(people)

    earlier, later = split(examples(MODEL, people, HORIZON, START + timedelta(days=200)).examples)

    assert [e.lead_id for e in earlier] == [f"p{i:02d}" for i in range(7)]
    assert [e.lead_id for e in later] == ["p07", "p08", "p09"]


def population(size: int, positives_every: int = 3, seed: int = 7) -> list[PersonHistory]:
    """`size` people known a day apart; a hidden propensity decides how often they view pricing and
    whether sales takes them to an opportunity: the rules score sees pricing only up to its cap, and a
    senior title earns fit points but does not buy here."""
    rng = random.Random(seed)
    people = []
    for i in range(size):
        known = START + timedelta(days=i)
        propensity = rng.random()
        events = [identify(0, known, rng.choice(("Head of Sales", "Analyst")))]
        views = int(propensity * 8 + rng.random() * 2)
        events += [page(1 + v, known + timedelta(days=1, hours=v)) for v in range(views)]
        events += [
            page(50 + v, known + timedelta(hours=2, minutes=v), "/blog/x") for v in range(rng.randint(0, 3))
        ]
        changes = []
        if rng.random() < propensity**1.5 and i % positives_every != 1:
            changes.append(
                moved(f"p{i:03d}", Stage.OPPORTUNITY, known + timedelta(days=training.SNAPSHOT_DAYS + 1))
            )
        events.sort(key=lambda e: e.at)
        people.append(PersonHistory(f"p{i:03d}", {f"p{i:03d}"}, events, changes))
    return people


def test_too_few_positive_outcomes_are_refused_with_how_many_more_are_needed():
    people = [person(f"n{i:02d}", START + timedelta(days=i)) for i in range(40)]
    # 19 positives among the earliest: the training period holds 19 of them
    for history in people[:19]:
        history.changes.append(moved(history.lead_id, Stage.WON, history.known_at + timedelta(days=20)))  # type: ignore[operator]

    with pytest.raises(NotEnoughOutcomes) as refused:
        train(MODEL, people, 30, START + timedelta(days=200))

    message = str(refused.value)
    assert "has 19 positive outcomes" in message
    assert "at least 20 are needed, 1 more" in message
    assert "simulator" in message


def test_training_learns_what_the_rules_miss_and_judges_both_on_the_later_period():
    people = population(240)
    end = START + timedelta(days=400)

    trained = train(MODEL, people, 30, end, version=4)
    model = trained.artifact

    assert trained.train.positives >= training.MIN_POSITIVES
    assert trained.train.examples + trained.evaluate.examples == 240
    assert trained.train.last <= trained.evaluate.first  # type: ignore[operator]
    assert trained.model.auc is not None
    assert trained.rules.auc is not None
    assert trained.model.auc > trained.rules.auc
    assert model.evaluation["auc"] == round(trained.model.auc, 3)
    assert model.evaluation["rules_auc"] == round(trained.rules.auc, 3)
    assert model.evaluation["evaluate_positives"] == trained.evaluate.positives
    assert model.version == 4
    assert model.trained_at == end
    assert model.horizon_days == 30
    magnitudes = [abs(w.weight) for w in model.weights]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert all(w.weight for w in model.weights)
    weights = {w.feature: w for w in model.weights}
    assert weights["rule:pricing"].weight > 0
    assert weights["rule:pricing"].label == "Saw pricing"
    assert weights["page_views"].weight > 0  # past the rule's cap, views still tell
    assert abs(weights["fit:senior"].weight) < weights["rule:pricing"].weight  # points, but it does not buy
    assert not [w for w in model.weights if w.feature.startswith("stage:") and Stage(w.feature[6:]).by_people]


def test_the_same_histories_give_the_same_artifact_byte_for_byte():
    people = population(120, positives_every=99)
    end = START + timedelta(days=300)

    first = document(train(MODEL, people, 30, end).artifact)
    again = document(train(MODEL, list(reversed(people)), 30, end).artifact)

    assert first == again
    assert PredictiveModel.model_validate(__import__("yaml").safe_load(first)).weights


def test_a_stage_a_person_moved_the_lead_to_is_never_a_feature_scorings_own_are():
    scored = replay(MODEL, person("p", START, pages=2))

    assert "stage:MQL" in features(MODEL, replace(scored, stage=Stage.MQL), START)
    for stage in (Stage.ACCEPTED, Stage.REJECTED, Stage.OPPORTUNITY, Stage.WON, Stage.LOST):
        assert not [n for n in features(MODEL, replace(scored, stage=stage), START) if n.startswith("stage:")]


def test_a_training_period_where_everyone_converted_is_refused_too():
    people = [
        person(f"w{i:02d}", START + timedelta(days=i), (Stage.WON, START + timedelta(days=i + 1)))
        for i in range(40)
    ]

    with pytest.raises(NotEnoughOutcomes, match="all 28 people of the training period reached"):
        train(MODEL, people, 30, START + timedelta(days=200))


def test_where_the_company_decides_the_account_features_teach_it_in_the_account_models_words():
    rng = random.Random(11)
    people, by_lead = [], {}
    for i in range(200):
        lead, known = f"c{i:03d}", START + timedelta(days=i)
        target = rng.random() < 0.5  # the company is one we sell to: the lead's own events do not show it
        events = [identify(0, known)] + [
            page(1 + v, known + timedelta(hours=v)) for v in range(rng.randint(1, 4))
        ]
        won = rng.random() < (0.75 if target else 0.15)
        changes = [moved(lead, Stage.WON, known + timedelta(days=20))] if won else []
        people.append(PersonHistory(lead, {lead}, events, changes))
        by_lead[lead] = {"account:fit:target_industry": 1.0} if target else {}
    rule = AccountFitRule(
        id="target_industry", label="We sell to it", trait="industry", contains_any=("x",), points=1
    )
    accounts = training.KnownAccounts(load_account_model().model_copy(update={"fit": (rule,)}), by_lead)
    end = START + timedelta(days=400)

    without = train(MODEL, people, 30, end)
    trained = train(MODEL, people, 30, end, accounts=accounts)

    weights = {w.feature: w for w in trained.artifact.weights}
    assert weights["account:fit:target_industry"].weight > 0
    assert weights["account:fit:target_industry"].label == "Account: We sell to it"
    assert trained.model.auc is not None
    assert without.model.auc is not None
    assert trained.model.auc > without.model.auc + 0.2
