"""The LeadCard as the sales API builds it (pure): the score split into fit and engagement decayed to the
moment it is read, the full ledger, and the timeline newest first and bounded."""

from dataclasses import replace

from leadstream.identity.profile import Profile
from leadstream.sales.card import ACTIVITY_LIMIT, lead_card
from leadstream.scoring.model import ScoringModel

from tests.unit.builders import day, form, page, scored
from tests.unit.model import DEMO, HALF_LIFE_DAYS, PRICING, SENIOR, WORK_EMAIL


def test_engagement_decays_to_the_moment_the_card_is_read_and_fit_does_not(model: ScoringModel) -> None:
    lead = scored(model, page("/pricing"), form("demo-request", email_kind="work", title="VP Sales"))

    now = lead_card(model, lead, None, [], [], [], None, day(0)).score
    later = lead_card(model, lead, None, [], [], [], None, day(HALF_LIFE_DAYS)).score

    assert (now.engagement, now.fit) == (PRICING + DEMO, WORK_EMAIL + SENIOR)
    assert later.engagement == (PRICING + DEMO) / 2
    assert later.engagement_at_last_activity == PRICING + DEMO
    assert later.fit == WORK_EMAIL + SENIOR
    assert later.total == later.engagement + later.fit
    counting = {entry.rule_id: entry.counting for entry in later.ledger if entry.kind == "behaviour"}
    assert counting == {"pricing": 0.5, "demo": 0.5}  # occurrences fade as their points do


def test_the_ledger_lists_every_rule_that_fired_with_its_points_and_times(model: ScoringModel) -> None:
    lead = scored(
        model, *(page("/pricing", day(i / 100)) for i in range(2)), page("/blog/a"), page("/"), page("/x")
    )

    ledger = lead_card(model, lead, None, [], [], [], None, day(1)).score.ledger

    assert [(e.rule_id, e.points, e.times) for e in ledger] == [
        ("pricing", 2 * PRICING, 2),
        ("blog", 4, 1),
        ("page", 2, 2),
    ]


def test_the_timeline_is_newest_first_across_merged_leads_and_bounded(model: ScoringModel) -> None:
    events = [("L1", page(f"/p{i}", day(i))) for i in range(0, ACTIVITY_LIMIT + 10, 2)]
    events += [("L2", page(f"/q{i}", day(i))) for i in range(1, ACTIVITY_LIMIT + 10, 2)]
    lead = scored(model)

    card = lead_card(model, lead, Profile("L1", name="Jane"), [], events, ["L2"], None, day(100))

    assert card.activity_stored == len(events)
    assert len(card.activity) == ACTIVITY_LIMIT
    assert [a.at for a in card.activity] == sorted((a.at for a in card.activity), reverse=True)
    assert (card.activity[0].path, card.activity[0].lead_id) == (f"/q{ACTIVITY_LIMIT + 9}", "L2")
    assert (card.merged_leads, card.contact.name) == (["L2"], "Jane")


def test_the_card_names_the_model_that_scored_the_lead_and_marks_a_rescored_stage_change(
    model: ScoringModel,
) -> None:
    lead = scored(model, page("/pricing"))
    rescored = model.model_copy(update={"version": model.version + 1})
    again = scored(rescored, page("/pricing"), form("demo-request", email_kind="work"))
    moved = replace(again.transitions[-1], rescored=True)

    card = lead_card(model, again, None, [moved], [], [], None, day(1))

    assert lead_card(model, lead, None, [], [], [], None, day(1)).model_version == model.version
    assert card.model_version == model.version + 1
    assert card.score.model_version == model.version  # the live model's, which the card's decay uses
    assert card.stage_history[-1].rescored
    assert card.stage_history[-1].model_version == model.version + 1
