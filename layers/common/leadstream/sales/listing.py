"""Lists for the sales API (pure: no I/O): the lead filters, a list's rows, its opaque cursor, and the merge
of index partitions newest first.

A list without a stage reads one index partition per stage sales works and merges them by the sort key;
the cursor holds each partition's position (the last entry a page used, or "done"), so the next page
reads each from where it stopped and every lead comes exactly once. Sorting by score or by SLA deadline
cannot use an index order (scores decay at their own pace; deadlines are not a key), so those orders read
every match (at most MAX_SORTED), fix the moment scores are computed at in the cursor, and page by the last
row's (value, lead).
"""

import base64
import binascii
import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from leadstream.contracts.events import CardLikelihood, CardReason
from leadstream.platform.errors import BadRequest
from leadstream.predictive.live import card_likelihood
from leadstream.predictive.model import Likelihood
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.score import LeadScore

DEFAULT_LIMIT, MAX_LIMIT = 25, 100
MAX_SORTED = 2000  # leads a list sorted by score (or of one account) may read; more: narrow the filters
# the stages a sales user works: a list without a stage reads these (`lead` only when asked for)
SALES_STAGES = tuple(s for s in Stage if s is not Stage.LEAD)
DONE = "done"

Position = tuple[int, str]  # (sort value, lead id or domain): where a list stands in one partition


class Sort(StrEnum):
    UPDATED = "updated"  # newest change first
    SCORE = "score"  # highest score now first
    DUE = "due"  # the soonest speed-to-lead deadline first (running or breached), then the others


NO_DEADLINE = 1e15  # (epoch seconds) after every real deadline: where a lead without a clock sorts by due


def deadline(sales: Mapping[str, Any]) -> float:
    """The lead's speed-to-lead deadline (epoch seconds) while someone must act: running or breached."""
    sla = sales.get("sla") or {}
    due = sla.get("due_at")
    if sla.get("state") in ("running", "breached") and due is not None:
        return float(due)
    return NO_DEADLINE


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class LeadRow(_Answer):
    """One lead in a list: who, where it stands, why, and who works it. Personal data: never logged."""

    lead_id: str
    name: str | None = None
    title: str | None = None
    company: str | None = None
    account: str | None = Field(default=None, description="the account's domain")
    stage: str
    score: float = Field(description="fit + engagement, now")
    likelihood: CardLikelihood | None = Field(
        default=None, description="the predictive likelihood to close (null: none configured or computed)"
    )
    reasons: list[CardReason] = Field(default_factory=list, description="the top reasons (points earned)")
    owner: str | None = Field(default=None, description="the owner's e-mail")
    sla_state: Literal["running", "met", "breached"] | None = None
    sla_due_at: datetime | None = None
    hand_raiser: bool = Field(
        default=False, description="handed to sales by a hand-raise rule (a demo request), whatever its score"
    )
    channel: str | None = Field(default=None, description="of the first touch")
    campaign: str | None = Field(default=None, description="of the first touch")
    last_seen: datetime | None = None
    updated_at: datetime = Field(description="when the lead last changed (scored, moved, assigned)")


class LeadList(_Answer):
    leads: list[LeadRow]
    cursor: str | None = Field(description="pass it as ?cursor= for the next page; null: this was the last")
    as_of: datetime = Field(description="when the scores were computed")


class Listable(Protocol):
    """What a list reads of a lead (scoring.repository.Listed)."""

    @property
    def lead(self) -> LeadScore: ...

    @property
    def updated(self) -> int: ...

    @property
    def sales(self) -> dict[str, Any]: ...

    @property
    def position(self) -> Position: ...

    @property
    def likelihood(self) -> Likelihood | None: ...


@dataclass(frozen=True)
class LeadFilters:
    stages: tuple[Stage, ...] = ()  # none: SALES_STAGES
    min_score: float | None = None
    account: str | None = None
    channel: str | None = None
    campaign: str | None = None
    owner: str | None = None  # an e-mail (`me` already replaced by the caller's)
    sla: str | None = None
    updated_since: datetime | None = None

    @property
    def wanted(self) -> tuple[Stage, ...]:
        return self.stages or SALES_STAGES

    @property
    def since_ms(self) -> int | None:
        return None if self.updated_since is None else int(self.updated_since.timestamp() * 1000)

    def matches(self, lead: LeadScore, sales: Mapping[str, Any], updated: int, score_now: float) -> bool:
        """Whether a lead worth listing passes every filter (the index queries pre-filter; this decides)."""
        touch = lead.first_touch
        sla = sales.get("sla") or {}
        return (
            lead.stage in self.wanted
            and (self.min_score is None or score_now >= self.min_score)
            and (self.channel is None or (touch is not None and touch.channel.value == self.channel))
            and (self.campaign is None or (touch is not None and touch.campaign == self.campaign))
            and (self.owner is None or sales.get("owner") == self.owner)
            and (self.sla is None or sla.get("state") == self.sla)
            and (self.since_ms is None or updated >= self.since_ms)
        )

    def digest(self, sort: Sort) -> str:
        """A short fingerprint of the query: a cursor is good only for the query that made it."""
        doc = {
            "stages": [s.value for s in self.stages],
            "min_score": self.min_score,
            "account": self.account,
            "channel": self.channel,
            "campaign": self.campaign,
            "owner": self.owner,
            "sla": self.sla,
            "since": self.since_ms,
            "sort": sort.value,
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]


def row(lead: Listable, score_now: float, reasons: Iterable[CardReason], contact: Any | None) -> LeadRow:
    """A list's row of a lead; `contact` is its Profile (name, title, company, account), if it has one."""
    score, sales, touch = lead.lead, lead.sales, lead.lead.first_touch
    sla = sales.get("sla") or {}
    due = sla.get("due_at")
    return LeadRow(
        lead_id=score.lead_id,
        name=getattr(contact, "name", None),
        title=getattr(contact, "title", None),
        company=getattr(contact, "company", None),
        account=getattr(contact, "account", None) or score.company,
        stage=score.stage.value,
        score=round(score_now, 1),
        likelihood=card_likelihood(lead.likelihood),
        reasons=list(reasons),
        owner=sales.get("owner"),
        sla_state=sla.get("state"),
        sla_due_at=datetime.fromtimestamp(float(due), UTC) if due is not None else None,
        hand_raiser=bool(sla.get("hand_raiser")),
        channel=touch.channel.value if touch else None,
        campaign=touch.campaign if touch else None,
        last_seen=score.last_seen,
        updated_at=datetime.fromtimestamp(lead.updated / 1000, UTC),
    )


# --- the cursor --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where the previous page stopped: per index partition (label -> position or DONE), or, for a sorted
    list, after which (value, key) and as of which moment (epoch ms)."""

    positions: dict[str, Position | str] = field(default_factory=dict)
    after: tuple[float, str] | None = None
    at: int | None = None


def _bad_cursor(problem: str) -> BadRequest:
    return BadRequest(f"cursor: {problem}", details=[{"field": "cursor", "problem": problem}])


def encode_cursor(cursor: Cursor, digest: str) -> str:
    doc: dict[str, Any] = {"q": digest}
    if cursor.positions:
        doc["p"] = {k: (v if v == DONE else list(v)) for k, v in cursor.positions.items()}
    if cursor.after is not None:
        doc["after"], doc["at"] = list(cursor.after), cursor.at
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


def _position(value: Any) -> Position | str:
    if value == DONE:
        return DONE
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], int)
        and not isinstance(value[0], bool)
        and isinstance(value[1], str)
        and 0 < len(value[1]) <= 300
    ):
        return value[0], value[1]
    raise _bad_cursor("is not one this API gave")


def decode_cursor(text: str | None, digest: str, labels: Sequence[str]) -> Cursor:
    """The cursor a previous page gave (None: the first page). BadRequest naming `cursor` for anything else:
    not ours, damaged, or made for another query."""
    if not text:
        return Cursor()
    if len(text) > 4096:
        raise _bad_cursor("is too long")
    try:
        doc = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _bad_cursor("is not one this API gave") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("q"), str):
        raise _bad_cursor("is not one this API gave")
    if doc["q"] != digest:
        raise _bad_cursor("belongs to a list with other filters or another order: start without it")
    positions = doc.get("p", {})
    if not isinstance(positions, dict) or not set(positions) <= set(labels):
        raise _bad_cursor("is not one this API gave")
    after, at = doc.get("after"), doc.get("at")
    if after is not None:
        ok = (
            isinstance(after, list)
            and len(after) == 2
            and isinstance(after[0], int | float)
            and isinstance(after[1], str)
            and isinstance(at, int)
        )
        if not ok:
            raise _bad_cursor("is not one this API gave")
    return Cursor(
        {label: _position(v) for label, v in positions.items()},
        (float(after[0]), str(after[1])) if after is not None else None,
        at,
    )


# --- merging index partitions --------------------------------------------------------------------------


class Positioned(Protocol):
    @property
    def position(self) -> Position: ...


Fetch = Callable[[str, Position | None], tuple[Sequence[Any], Position | None]]


def newest_first[T: Positioned](
    labels: Sequence[str],
    cursor: Cursor,
    fetch: Callable[[str, Position | None], tuple[Sequence[T], Position | None]],
    limit: int,
    keep: Callable[[T], bool],
) -> tuple[list[T], Cursor | None]:
    """Up to `limit` entries kept by `keep`, newest first across the partitions `labels`, from where
    `cursor` left each. `fetch(label, start)` reads the next entries of a partition after `start` (None:
    from its newest), newest first, and where the following read starts (None: the partition is done).
    The cursor returned holds each partition's last entry used (kept or not); None when all are done."""
    start: dict[str, Position | None] = {}
    for label in labels:
        at = cursor.positions.get(label)
        if at != DONE:
            start[label] = at if isinstance(at, tuple) else None
    used: dict[str, Position | str] = {label: DONE for label in labels if label not in start}
    heads: dict[str, deque[T]] = {label: deque() for label in start}
    ahead: dict[str, Position | None] = dict(start)  # where each partition's next read starts
    exhausted: set[str] = set()
    found: list[T] = []
    while len(found) < limit:
        for label in heads:
            while not heads[label] and label not in exhausted:
                entries, ahead[label] = fetch(label, ahead[label])
                heads[label].extend(entries)
                if ahead[label] is None:
                    exhausted.add(label)
        ready = [label for label in heads if heads[label]]
        if not ready:
            break
        newest = max(ready, key=lambda label: heads[label][0].position)
        entry = heads[newest].popleft()
        used[newest] = entry.position
        if keep(entry):
            found.append(entry)
    for label in heads:
        if not heads[label] and label in exhausted:
            used[label] = DONE
        elif label not in used and start[label] is not None:
            position = start[label]
            assert position is not None
            used[label] = position
    if all(used.get(label) == DONE for label in labels):
        return found, None
    return found, Cursor({label: v for label, v in used.items()})


def every_entry[T](
    labels: Sequence[str], fetch: Callable[[str, Position | None], tuple[Sequence[T], Position | None]]
) -> list[T]:
    """Every entry of the partitions, for a list sorted in memory; BadRequest past MAX_SORTED."""
    entries: list[T] = []
    for label in labels:
        start: Position | None = None
        while True:
            page, start = fetch(label, start)
            entries.extend(page)
            if len(entries) > MAX_SORTED:
                raise BadRequest(
                    f"more than {MAX_SORTED} leads match: narrow the list (stage, updated_since, owner, ...) "
                    "or sort by updated",
                    details=[{"field": "sort", "problem": f"sorting reads at most {MAX_SORTED} leads"}],
                )
            if start is None:
                break
    return entries


def page_sorted[T](
    entries: Iterable[T], key: Callable[[T], tuple[float, str]], after: tuple[float, str] | None, limit: int
) -> tuple[list[T], tuple[float, str] | None]:
    """A page of `entries` in descending (value, key) order after `after`, and the last one's (value, key)
    when more follow (the next page starts after it)."""
    ordered = sorted(entries, key=lambda e: (-key(e)[0], key(e)[1]))
    if after is not None:
        ordered = [e for e in ordered if (-key(e)[0], key(e)[1]) > (-after[0], after[1])]
    page = ordered[:limit]
    return page, (key(page[-1]) if page and len(ordered) > limit else None)
