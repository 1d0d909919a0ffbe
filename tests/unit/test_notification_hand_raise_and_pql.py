"""A hand-raiser's and a PQL's notification say what sent them, and a hand-raiser's shows its fit honestly."""

from datetime import UTC, datetime
from typing import Any

from leadstream.contracts.events import CardReason, LeadCard, LeadStageChanged
from leadstream.notifications.message import message


def change(to_stage: str, hand_raiser: bool = False, **card: Any) -> LeadStageChanged:
    return LeadStageChanged(
        transition_id=f"L1:{to_stage}:1",
        lead_id="L1",
        from_stage="lead",
        to_stage=to_stage,
        changed_at=datetime(2026, 11, 24, tzinfo=UTC),
        hand_raiser=hand_raiser,
        card=LeadCard(lead_id="L1", name="Sam Founder", stage=to_stage, **card),
    )


def test_a_hand_raisers_notification_says_so_and_splits_its_score_into_engagement_and_fit() -> None:
    subject, text = message(
        change(
            "SQL",
            hand_raiser=True,
            score=62,
            reasons=[
                CardReason(label="Requested a demo", points=0),
                CardReason(label="Requested a demo", points=40),
                CardReason(label="Free e-mail address", points=-25),
            ],
            engagement=77,
            fit=-15,
            fit_reasons=[
                CardReason(label="Free e-mail address", points=-25),
                CardReason(label="Senior job title", points=10),
            ],
        )
    )

    assert subject == "New SQL (hand-raiser): Sam Founder (score 62)"
    assert text.splitlines() == [
        "Hand-raiser: Requested a demo (sent to sales whatever its score)",
        "Why: Requested a demo (+40), Free e-mail address (-25)",
        "Score 62 = engagement 77 + fit -15 (Free e-mail address -25, Senior job title +10)",
    ]


def test_a_pqls_notification_names_the_usage_that_made_it_one() -> None:
    subject, text = message(
        change(
            "PQL",
            score=12,
            reasons=[CardReason(label="Created 5 projects within 14 days", points=0)],
            engagement=2,
            fit=10,
            fit_reasons=[CardReason(label="Work e-mail address", points=10)],
        )
    )

    assert subject == "New PQL: Sam Founder (score 12)"
    assert text.splitlines() == [
        "Product usage: Created 5 projects within 14 days",
        "Score 12 = engagement 2 + fit +10 (Work e-mail address +10)",
    ]


def test_an_sql_its_score_made_shows_no_split_line_and_no_sender() -> None:
    _, text = message(
        change("SQL", score=92, reasons=[CardReason(label="Requested a demo", points=40)], fit=10)
    )

    assert text.splitlines() == ["Why: Requested a demo (+40)"]
