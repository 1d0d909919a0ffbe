"""Who owns a lead and how long sales has to act: the assignment rules and SLA as data, the choices they
make, the timer's schedule, and what the owner and the managers read when it is missed."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from leadstream.contracts.events import CardTouch, LeadCard, LeadStageChanged
from leadstream.notifications.message import escalation, message
from leadstream.sales.assignment import AssignmentRules, breached, choose, due_of, in_turn, running
from leadstream.sales.assignment_file import load_rules
from leadstream.sales.sla import at_expression, schedule_name
from pydantic import ValidationError

RULES: dict[str, Any] = {
    "version": 1,
    "teams": [
        {"name": "emea", "members": ["Anna@Example.com", "ben@example.com", "carl@example.com"]},
        {"name": "americas", "members": ["dora@example.com"], "manager_channel": "leadstream/escalations/us"},
    ],
    "default_team": "emea",
    "countries": {"us": "americas"},
    "sla": {
        "default_seconds": 300,
        "stages": {"SQL": 240, "hand_raiser": 60, "PQL": 900},
        "channels": {"paid search": 120},
        "sources": {"G2": 30},
    },
}
AT = datetime(2026, 11, 30, 9, 0, 0, tzinfo=UTC)


def rules(**changes: Any) -> AssignmentRules:
    return AssignmentRules.model_validate({**RULES, **changes})


def test_a_lead_that_has_an_owner_keeps_it_whatever_its_account_or_country() -> None:
    choice = choose(rules(), "dora@example.com", "boss@example.com", "DE")

    assert (choice.owner, choice.team.name, choice.reason) == ("dora@example.com", "americas", "kept")


def test_the_accounts_owner_comes_before_the_team() -> None:
    choice = choose(rules(), None, "boss@example.com", "US")

    assert (choice.owner, choice.reason) == ("boss@example.com", "account")


def test_without_owners_the_country_names_the_team_else_the_default_team() -> None:
    assert choose(rules(), None, None, "us").team.name == "americas"
    assert choose(rules(), None, None, "FR").team.name == "emea"
    assert choose(rules(), None, None, None).team.name == "emea"
    assert choose(rules(), None, None, None).owner is None  # a turn in the team decides


def test_round_robin_gives_each_member_a_turn_in_order() -> None:
    team = rules().team("emea")

    owners = [in_turn(team, turn) for turn in range(1, 8)]

    assert owners == [
        "anna@example.com",  # e-mails are kept as the user pool holds them: lower-case
        "ben@example.com",
        "carl@example.com",
        "anna@example.com",
        "ben@example.com",
        "carl@example.com",
        "anna@example.com",
    ]


def test_the_most_specific_sla_wins_source_then_channel_then_stage_then_default() -> None:
    sla = rules().sla

    assert sla.seconds("SQL", False, "paid search", "g2") == 30
    assert sla.seconds("SQL", True, "paid search", "google") == 120
    assert sla.seconds("SQL", True, "direct", None) == 60  # a hand-raiser
    assert sla.seconds("SQL", False, "direct", None) == 240
    assert sla.seconds("PQL", False, None, None) == 900
    assert sla.seconds("MQL", False, None, None) == 300


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"default_team": "apac"}, "no team named 'apac'"),
        ({"countries": {"JP": "apac"}}, "no team named 'apac'"),
        (
            {"teams": [{"name": "emea", "members": ["a@example.com", "A@example.com"]}]},
            "lists a member twice",
        ),
        ({"teams": [{"name": "emea", "members": ["not an e-mail"]}]}, "is not an e-mail address"),
        ({"teams": [{"name": "emea", "members": []}]}, "at least 1 item"),
        ({"sla": {"stages": {"SQL": 0}}}, "at least one second"),
        (
            {
                "teams": [
                    {"name": "emea", "members": ["a@example.com"], "manager_channel": "prod/db-password"}
                ]
            },
            "should match pattern",
        ),
    ],
)
def test_invalid_rules_are_refused_naming_the_problem(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        rules(**changes)


def test_the_shipped_rules_load_with_a_five_minute_sla() -> None:
    shipped = load_rules()

    assert shipped.sla.seconds("SQL", False, None, None) == 300
    assert shipped.team(shipped.default_team).members


def test_a_timer_is_breached_once_and_only_the_one_of_that_hand_over() -> None:
    timer = running("L1:SQL:3", AT, 300, "sla-x")

    assert timer["due_at"] == (AT + timedelta(seconds=300)).timestamp()
    assert due_of("L1:SQL:3", timer) == "breach"
    assert due_of("L1:SQL:2", timer) == "nothing"  # an older hand-over's schedule, replaced since
    assert due_of("L1:SQL:3", breached(timer, AT)) == "escalate"  # delivered again: tell, do not breach
    assert due_of("L1:SQL:3", {**timer, "state": "met"}) == "nothing"
    assert due_of("L1:SQL:3", None) == "nothing"


def test_the_schedule_is_named_by_its_hand_over_within_schedulers_rules() -> None:
    name = schedule_name("Leddcfb3c0f1dab586802:SQL:2")

    assert name == schedule_name("Leddcfb3c0f1dab586802:SQL:2")  # a retry finds the same schedule
    assert name != schedule_name("Leddcfb3c0f1dab586802:SQL:3")
    assert len(name) <= 64
    assert name.replace("-", "").isalnum()


def test_the_schedule_fires_at_the_deadline_to_the_second_and_never_in_the_past() -> None:
    due = AT + timedelta(seconds=300, milliseconds=200)

    assert at_expression(due, AT) == "at(2026-11-30T09:05:01)"  # rounded up: never before the deadline
    assert at_expression(AT - timedelta(hours=1), AT) == "at(2026-11-30T09:00:01)"


def change(hand_raiser: bool = False) -> LeadStageChanged:
    card = LeadCard(
        lead_id="L1",
        name="Jane <!channel> Doe",
        email="jane@acme.com",
        title="VP Marketing",
        company="Acme",
        score=92,
        stage="SQL",
        first_touch=CardTouch(channel="paid search", source="google"),
    )
    return LeadStageChanged(
        transition_id="L1:SQL:1",
        lead_id="L1",
        from_stage="MQL",
        to_stage="SQL",
        changed_at=AT,
        card=card,
        hand_raiser=hand_raiser,
    )


def test_the_notification_names_the_owner_first() -> None:
    _subject, text = message(change(), owner="anna@example.com")

    assert text.splitlines()[0] == "Owner: anna@example.com"
    assert "Owner" not in message(change())[1]


def test_the_escalation_names_the_lead_the_owner_the_sla_and_how_late() -> None:
    subject, text = escalation(change(), "anna@example.com", allowed=300, late=125, to_managers=True)
    reminder, _ = escalation(change(), "anna@example.com", allowed=300, late=125, to_managers=False)

    assert subject == "SLA breached: SQL Jane <!channel> Doe at Acme waiting 7 min 5 s"
    assert reminder.startswith("Reminder: SQL Jane")
    lines = text.splitlines()
    assert lines[0] == "Owner: anna@example.com"
    assert lines[1] == "Nobody accepted or rejected this SQL within 5 min: 2 min 5 s late."
    assert "Lead L1" in lines
    assert escalation(change(), None, 60, 1, True)[1].splitlines()[0] == "Owner: nobody"
