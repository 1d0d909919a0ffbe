"""Whatever a visitor typed is data, never markup: the notification text, and its escapes per channel."""

from datetime import UTC, datetime
from typing import Any

import pytest
from leadstream.contracts.events import (
    AccountCard,
    CardDriver,
    CardLikelihood,
    CardPerson,
    CardReason,
    CardTouch,
    LeadCard,
    LeadStageChanged,
)
from leadstream.notifications.message import (
    SUBJECT_LIMIT,
    for_mrkdwn,
    for_terminal,
    likelihood_line,
    message,
    one_line,
    shortened,
)

ESC = "\x1b"
RLO = "\u202e"  # right-to-left override: "Trojan Source"


def change(**card: Any) -> LeadStageChanged:
    fields: dict[str, Any] = {
        "lead_id": "L1",
        "name": "Jane Doe",
        "email": "jane@acme.com",
        "company": "Acme",
        "score": 92,
        "stage": "SQL",
        "reasons": [CardReason(label="Requested a demo", points=40)],
        **card,
    }
    return LeadStageChanged(
        transition_id="L1:SQL:1",
        lead_id="L1",
        from_stage="lead",
        to_stage="SQL",
        changed_at=datetime(2026, 11, 24, tzinfo=UTC),
        card=LeadCard(**fields),
    )


def unsafe(text: str) -> list[str]:
    """Characters no plain-text channel should carry: C0 (newline and tab aside), DEL, C1, bidi controls."""
    return [
        c
        for c in text
        if (ord(c) < 0x20 and c not in "\n\t")
        or 0x7F <= ord(c) <= 0x9F
        or c == RLO
        or 0x2066 <= ord(c) <= 0x2069
    ]


def test_slack_markup_a_visitor_typed_is_escaped_so_it_neither_pings_nor_links() -> None:
    subject, text = message(change(name="<!channel> Urgent", company="<https://evil.example|BigCorp>"))

    assert subject == "New SQL: <!channel> Urgent at <https://evil.example|BigCorp> (score 92)"
    slack = for_mrkdwn(f"{subject}\n{text}")
    assert "<" not in slack
    assert ">" not in slack
    assert "&lt;!channel&gt; Urgent at &lt;https://evil.example|BigCorp&gt;" in slack
    assert for_mrkdwn("R&D <@U123>") == "R&amp;D &lt;@U123&gt;"


def test_a_line_break_in_a_name_cannot_add_a_line_or_break_the_e_mail_subject() -> None:
    subject, text = message(
        change(name="Jane\nWhy: Requested a demo (+99)", title="CEO\r\nBcc: all@acme.com", email=None)
    )

    assert "\n" not in subject
    assert "\r" not in subject
    assert subject == "New SQL: Jane Why: Requested a demo (+99) at Acme (score 92)"
    assert text.splitlines() == ["CEO Bcc: all@acme.com", "Why: Requested a demo (+40)"]


def test_control_and_bidi_characters_are_dropped_from_everything_a_visitor_typed() -> None:
    touch = CardTouch(
        channel="email", source=f"news{ESC}]0;owned{ESC}\\letter", campaign=f"spring{RLO}gpj.exe"
    )
    subject, text = message(
        change(
            name=f"Jane{ESC}[31m Doe\x9b2J{RLO}",
            company="Acme\x00\x07\x7f Ltd",
            title="VP\u2028Sales\x85Ops",
            first_touch=touch,
        )
    )

    assert subject == "New SQL: Jane[31m Doe2J at Acme Ltd (score 92)"
    assert "VP Sales Ops" in text.splitlines()
    assert "First came from email via news]0;owned\\letter, campaign springgpj.exe" in text
    assert unsafe(subject) == []
    assert unsafe(text) == []


def test_the_subject_fits_an_e_mail_subject_line_whatever_the_visitor_typed() -> None:
    subject, text = message(change(name="🎉" * 200, company="B" * 500, title="T" * 1000))

    assert len(subject.encode("utf-16-le")) // 2 <= SUBJECT_LIMIT  # SNS: fewer than 100 characters
    assert subject.startswith("New SQL: 🎉")
    assert "…" in subject
    assert subject.endswith(" (score 92)")
    assert all(len(line) <= 254 for line in text.splitlines())
    assert "B" * 100 in text  # the company, cut in the subject, is in the text at more length


def test_a_lead_with_nothing_but_invisible_characters_for_a_name_is_shown_by_e_mail_then_id() -> None:
    assert message(change(name=f"{ESC}{RLO}\n"))[0] == "New SQL: jane@acme.com at Acme (score 92)"
    assert message(change(name="\x00", email=None, company=None))[0] == "New SQL: Lead L1 (score 92)"


def test_a_lone_surrogate_is_dropped_so_every_channel_can_encode_the_text() -> None:
    subject, _ = message(change(name="Jane \ud800Doe"))

    assert subject.encode("utf-8")
    assert "Jane Doe" in subject


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        (f"{ESC}[2J{ESC}]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07"),  # clear screen, retitle window
        ("a\x9b31mb", "a\\x9b31mb"),  # C1 CSI
        ("del\x7f", "del\\x7f"),
        ("two\nlines\r\tand a tab", "two\\nlines\\r\\tand a tab"),
        (f"{RLO}fdp.exe", "\\u202efdp.exe"),
        ("line\u2028sep", "line\\u2028sep"),
        ("Zoë Ångström 日本 🎉 <b>&", "Zoë Ångström 日本 🎉 <b>&"),  # everything printable stays as it is
    ],
)
def test_for_terminal_shows_control_characters_as_escapes(typed: str, shown: str) -> None:
    assert for_terminal(typed) == shown


def test_one_line_collapses_spaces_and_cuts_with_an_ellipsis() -> None:
    assert one_line("  Jane \t\n  Doe  ") == "Jane Doe"
    assert one_line("x" * 10, 5) == "xxxx…"
    assert shortened("🎉🎉🎉", 4) == "🎉…"  # an emoji beyond the BMP counts two, as SNS and Slack count
    assert shortened("short", 5) == "short"


def test_the_account_line_names_its_score_and_stage_and_the_other_people_by_a_title_made_safe() -> None:
    account = AccountCard(
        domain="acme.com",
        name=f"Acme{RLO}\nInc",
        score=120.5,
        stage="MQA",
        engagement=80,
        coverage=0.4,
        engaged_people=2,
        people=5,
        top_people=[
            CardPerson(lead_id="L1", title="Head of Sales", points=60),  # the lead notified about
            CardPerson(lead_id="L2", title=f"CTO{ESC}[31m\nCFO", points=50.5),
            CardPerson(lead_id="L3", title=None, points=9),
        ],
    )

    _subject, text = message(change(title="Head of Sales"), account)

    lines = text.splitlines()
    assert (
        "Account Acme Inc: score 120.5, stage MQA, 2 engaged of 5 people, buying committee 40% covered"
        in lines
    )
    assert "Also engaged there: CTO[31m CFO (50.5), someone (9)" in lines
    assert unsafe(text) == []


def test_the_account_line_counts_the_anonymous_people_too() -> None:
    account = AccountCard(
        domain="acme.com",
        score=40,
        stage="engaged",
        engagement=30,
        coverage=0.2,
        engaged_people=2,
        people=3,
        anonymous_people=1,
    )

    _subject, text = message(change(), account)

    assert "Account acme.com: score 40, stage engaged, 2 engaged of 3 people, 1 anonymous, " in text


def test_the_likelihood_is_one_line_beside_the_reasons_each_driver_up_or_down_as_plain_text():
    likelihood = CardLikelihood(
        probability=0.3449,
        model_version=2,
        drivers=[
            CardDriver(feature="rule:pricing_page", label="Viewed\npricing", effect=1.2),
            CardDriver(feature="fit:free_email", label=f"Free {RLO}e-mail", effect=-0.4),
        ],
    )

    _, text = message(change(likelihood=likelihood))
    lines = text.splitlines()

    line = "Likelihood to close 34% · Viewed pricing ↑ Free e-mail ↓"
    assert line in lines
    assert lines.index(line) == lines.index("Why: Requested a demo (+40)") + 1
    assert "Likelihood" not in message(change())[1]  # none configured: no line


def test_a_likelihood_is_never_said_as_a_flat_0_or_100_percent():
    def said(p: float) -> str:
        return likelihood_line(CardLikelihood(probability=p, model_version=1))

    assert [said(0.001), said(0.5), said(0.999)] == [
        "Likelihood to close <1%",
        "Likelihood to close 50%",
        "Likelihood to close >99%",
    ]
