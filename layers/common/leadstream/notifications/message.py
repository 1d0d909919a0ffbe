"""Telling sales: a short message that reads well on a phone, with the reasons behind the score.

Whatever a visitor typed (name, company, title, e-mail, the UTM parameters of a link) is data, never markup.
`message` builds plain text only: each visitor value is one line (no line breaks, no control or bidi
characters, a bounded length), so no channel can be steered by it. Each channel then escapes for its own
syntax: `for_mrkdwn` for Slack's markup, `for_terminal` for a terminal (local runner, command line).
"""

import unicodedata
from typing import Any, Protocol

from leadstream.contracts.events import AccountCard, CardLikelihood, CardTouch, LeadStageChanged

# SNS rejects an e-mail Subject with a line break or control character, or of 100 characters or more.
SUBJECT_LIMIT = 99
NAME_LIMIT = 40  # of the subject: who, and where, so that the score still fits on a phone's lock screen
COMPANY_LIMIT = 30
FIELD_LIMIT = 120  # a line of the body: title, company
EMAIL_LIMIT = 254  # the longest e-mail address there is
TOUCH_LIMIT = 60  # source, medium, campaign of a visit
DRIVER_LIMIT = 40  # a predictive driver's label
ELLIPSIS = "…"

# Bidirectional embeddings, overrides, isolates and marks: they reorder what a reader sees ("Trojan Source").
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class Notifier(Protocol):
    """A way of reaching sales (notifiers.py has them); `name` keys its idempotency record (one per
    transition and notifier). `subject` is one line and `text` plain lines, both already safe as plain
    text; a notifier escapes them for its own markup."""

    name: str

    def send(self, subject: str, text: str, payload: dict[str, Any]) -> None: ...


def _width(char: str) -> int:
    """Characters as services count them (UTF-16 code units: an emoji beyond the BMP counts two)."""
    return 2 if ord(char) > 0xFFFF else 1


def shortened(text: str, limit: int) -> str:
    """`text` in at most `limit` characters (UTF-16 units); an ellipsis ends it when it was cut."""
    if sum(_width(c) for c in text) <= limit:
        return text
    kept, used = [], _width(ELLIPSIS)
    for char in text:
        used += _width(char)
        if used > limit:
            break
        kept.append(char)
    return "".join(kept).rstrip() + ELLIPSIS


def _unsafe(char: str) -> bool:
    """Control characters (C0, DEL, C1), lone surrogates (no encoder takes them) and bidi controls."""
    return char in BIDI_CONTROLS or unicodedata.category(char) in {"Cc", "Cs"}


def one_line(value: object, limit: int = FIELD_LIMIT) -> str:
    """Text someone else typed, as one line of plain text: line breaks, tabs and other spaces become one
    space, control and bidi characters are dropped, and it is cut to `limit` characters."""
    text = "".join(" " if char.isspace() else "" if _unsafe(char) else char for char in str(value))
    return shortened(" ".join(text.split()), limit)


def for_mrkdwn(text: str) -> str:
    """Plain text inside Slack markup (mrkdwn): `&`, `<` and `>` escaped, so `<!channel>`, `<@U123>` and
    `<https://evil.example|BigCorp>` show as typed instead of pinging or linking."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def for_terminal(text: str) -> str:
    """`text` safe to print in a terminal: every control character (C0 with newline and tab, DEL, C1,
    ESC), line separator and bidi control is shown as an escape (`\\x1b`, `\\n`, `\\u202e`), so none of
    them can move the cursor, recolour, retitle the window or reorder what is shown. Print multi-line
    text line by line."""
    return "".join(_visible(char) if _unsafe(char) or char in "\u2028\u2029" else char for char in text)


def _who(change: LeadStageChanged) -> tuple[str, str]:
    """Who the lead is and where they work, as a subject shows them (cut to fit)."""
    card = change.card
    name, email, company = (one_line(v) if v else "" for v in (card.name, card.email, card.company))
    who = shortened(name, NAME_LIMIT) if name else shortened(email, NAME_LIMIT) if email else ""
    where = f" at {shortened(company, COMPANY_LIMIT)}" if company else ""
    return who or f"Lead {one_line(card.lead_id, 40)}", where


def message(
    change: LeadStageChanged, account: AccountCard | None = None, owner: str | None = None
) -> tuple[str, str]:
    """The subject (one line, under SNS's 100 characters) and the text (plain lines) of a notification;
    with the lead's account, a line on it and one on the account's other most engaged people; with an
    owner, who works the lead (the first line)."""
    card = change.card
    company = one_line(card.company) if card.company else ""
    who, where = _who(change)
    stage = one_line(change.to_stage, 20) + (" (hand-raiser)" if change.hand_raiser else "")
    subject = f"New {stage}: {who}{where} (score {card.score:g})"
    # The rule that sent it whatever its score (a reason of 0 points): a hand-raise, or a PQL's usage.
    sent_by = [one_line(r.label, 80) for r in card.reasons if r.points == 0]
    earned = [r for r in card.reasons if r.points != 0]
    lines = [f"Owner: {one_line(owner, EMAIL_LIMIT)}"] if owner else []
    if sent_by and change.hand_raiser:
        lines.append(f"Hand-raiser: {', '.join(sent_by)} (sent to sales whatever its score)")
    elif sent_by:
        lines.append(f"{'Product usage' if change.to_stage == 'PQL' else 'Sent by'}: {', '.join(sent_by)}")
    if card.title:
        lines.append(one_line(card.title))
    if company and shortened(company, COMPANY_LIMIT) != company:
        lines.append(company)  # in full (up to FIELD_LIMIT): the subject had to cut it
    if card.email:
        lines.append(one_line(card.email, EMAIL_LIMIT))
    if earned:
        why = ", ".join(f"{one_line(r.label, 80)} ({r.points:+d})" for r in earned)
        lines.append(f"Why: {why}")
    if sent_by and card.fit is not None and card.engagement is not None:  # its score did not send it
        fit = ", ".join(f"{one_line(r.label, 80)} {r.points:+d}" for r in card.fit_reasons)
        lines.append(
            f"Score {card.score:g} = engagement {card.engagement:g} + fit {card.fit:+d}"
            + (f" ({fit})" if fit else "")
        )
    if card.likelihood is not None:
        lines.append(likelihood_line(card.likelihood))
    if card.first_touch:
        lines.append(f"First came from {_touch(card.first_touch)}")
    if card.sessions:
        visits = f"{card.sessions} visit{'s' if card.sessions != 1 else ''}, {card.page_views} page views"
        latest = card.last_touch
        changed = latest and card.first_touch and latest != card.first_touch
        lines.append(f"{visits}; latest from {_touch(latest)}" if changed and latest else visits)
    if account is not None:
        lines += _account_lines(account, card.lead_id)
    return one_line(subject, SUBJECT_LIMIT), "\n".join(line for line in lines if line)


def _account_lines(account: AccountCard, lead_id: str) -> list[str]:
    """The account's score and stage, and its other most engaged people (by title: no one else's name or
    e-mail goes out with this lead's notification)."""
    name = one_line(account.name or account.domain, COMPANY_LIMIT)
    people = f"{account.engaged_people} engaged of {account.people} people"
    if account.anonymous_people:
        people += f", {account.anonymous_people} anonymous"
    lines = [
        f"Account {name}: score {account.score:g}, stage {one_line(account.stage, 20)}, {people}, "
        f"buying committee {account.coverage:.0%} covered"
    ]
    others = [p for p in account.top_people if p.lead_id != lead_id]
    if others:
        titles = ", ".join(
            f"{one_line(p.title, 60) if p.title else 'someone'} ({p.points:g})" for p in others
        )
        lines.append(f"Also engaged there: {titles}")
    return lines


def percent(probability: float) -> str:
    """A probability as sales reads it: whole percents, never a flat 0% or 100% for a model's estimate."""
    if probability < 0.005:
        return "<1%"
    if probability > 0.995:
        return ">99%"
    return f"{probability:.0%}"


def likelihood_line(likelihood: CardLikelihood) -> str:
    """'Likelihood to close 34% · Viewed pricing ↑ Free e-mail address ↓': the predictive score and the
    features that moved it most, up or down (their labels come from the model's artifact: plain text too)."""
    drivers = " ".join(
        f"{one_line(d.label, DRIVER_LIMIT)} {'↑' if d.effect > 0 else '↓'}" for d in likelihood.drivers
    )
    line = f"Likelihood to close {percent(likelihood.probability)}"
    return f"{line} · {drivers}" if drivers else line


def _touch(touch: CardTouch) -> str:
    """How a visit came: the source and campaign are a link's UTM parameters, typed by anyone."""
    source = f" via {one_line(touch.source, TOUCH_LIMIT)}" if touch.source else ""
    campaign = f", campaign {one_line(touch.campaign, TOUCH_LIMIT)}" if touch.campaign else ""
    return f"{one_line(touch.channel, TOUCH_LIMIT)}{source}{campaign}"


def deliver(
    change: LeadStageChanged, notifier: Notifier, account: AccountCard | None = None, owner: str | None = None
) -> None:
    subject, text = message(change, account, owner)
    notifier.send(subject, text, {**change.model_dump(mode="json"), **({"owner": owner} if owner else {})})


def duration(seconds: float) -> str:
    """A span as people say it: '45 s', '3 min 5 s', '2 h 10 min', '3 d 4 h'."""
    s = max(0, round(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def escalation(
    change: LeadStageChanged, owner: str | None, allowed: float, late: float, to_managers: bool
) -> tuple[str, str]:
    """An SLA breach as the owner's reminder, or as the managers hear of it: the lead, its owner, the SLA
    (`allowed` seconds) and how `late` it is (seconds past the deadline)."""
    who, where = _who(change)
    stage = one_line(change.to_stage, 20)
    head = "SLA breached" if to_managers else "Reminder"
    subject = f"{head}: {stage} {who}{where} waiting {duration(allowed + late)}"
    lines = [
        f"Owner: {one_line(owner, EMAIL_LIMIT) if owner else 'nobody'}",
        f"Nobody accepted or rejected this {stage} within {duration(allowed)}: {duration(late)} late.",
    ]
    card = change.card
    if card.title:
        lines.append(one_line(card.title))
    if card.email:
        lines.append(one_line(card.email, EMAIL_LIMIT))
    lines.append(f"Lead {one_line(card.lead_id, 64)}")
    return one_line(subject, SUBJECT_LIMIT), "\n".join(lines)
