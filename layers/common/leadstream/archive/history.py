"""People's histories from the archive: every behaviour event and stage change of one person, whichever of
their leads it was recorded under. What backtests, rescoring, shadow reports and training build on (pure).

A person may have been several leads: an anonymous device's lead merged into the known one (`merge`,
undone by an `unmerge`), or a shared device's lead handed over to whoever held it (`handover`: the device
lead's events stored from then on are the holder's, until the next hand-over). `histories` follows the
merges and hand-overs of the records it is given, in the order they were stored, and files each event and
stage change under the lead that holds the person at the end: the root of its merges.

`replay` scores one history under a model from nothing, each event once in the order it happened: what
the model would have made of the person, with the stage changes it would have made and when.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leadstream.archive.records import ArchivedRecord
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import LeadScore, apply_events
from leadstream.tracking.attribution import Touch
from leadstream.tracking.events import BehaviourEvent, EventType

MAX_MERGE_HOPS = 64  # a chain of merges longer than this is a loop in damaged records: stop following it


def moment(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class StageChange:
    """One stage change as it happened live: scoring's (`by` None, of model `model`) or a person's."""

    lead_id: str  # the lead it was recorded under
    from_stage: Stage
    to_stage: Stage
    at: datetime
    score: float | None = None
    by: str | None = None
    model: int | None = None
    amount: float | None = None
    hand_raiser: bool = False
    currency: str | None = None  # a won (or lost) deal's amount's
    rescored: bool = False  # recorded by a rescore (where a later model would have moved the lead), not live


@dataclass
class PersonHistory:
    lead_id: str  # the lead that holds the person at the end of the records (the root of its merges)
    leads: set[str] = field(default_factory=set)  # every lead id whose records were filed here
    events: list[BehaviourEvent] = field(default_factory=list)  # each message once, in the order it happened
    # in the order they happened (a rescore's too, marked `rescored`: `reached` leaves them out)
    changes: list[StageChange] = field(default_factory=list)

    def reached(self, stage: Stage) -> datetime | None:
        """When the person first reached `stage` live (None: never)."""
        return next((c.at for c in self.changes if c.to_stage is stage and not c.rescored), None)

    def first_reached(self, stages: Iterable[Stage]) -> datetime | None:
        """When the person first reached any of `stages` live (None: never)."""
        wanted = set(stages)
        return next((c.at for c in self.changes if c.to_stage in wanted and not c.rescored), None)

    @property
    def first_seen(self) -> datetime | None:
        return self.events[0].at if self.events else None

    @property
    def first_touch(self) -> Touch | None:
        """How the person first came: the touch of their first event that has one (as scoring keeps it)."""
        return next((e.touch for e in self.events if e.touch is not None), None)

    @property
    def known(self) -> bool:
        return self.known_at is not None

    @property
    def known_at(self) -> datetime | None:
        """When the person first gave an e-mail (an identify or a form with one): became a known lead."""
        return next(
            (
                e.at
                for e in self.events
                if e.type in (EventType.IDENTIFY, EventType.FORM) and "email_kind" in e.fit_traits
            ),
            None,
        )


def behaviour_event(record: ArchivedRecord) -> BehaviourEvent:
    """An archived `event` record as scoring reads it (the same fields as the table's EVT# item, no IP)."""
    fields = record.fields
    touch = fields.get("touch")
    fit = fields.get("fit")
    touched = Touch.from_dict({str(k): str(v) for k, v in touch.items()}) if isinstance(touch, dict) else None
    return BehaviourEvent(
        message_id=record.item.removeprefix("EVT#"),
        type=EventType(str(fields["type"])),
        at=moment(record.at),
        name=_text(fields.get("name")),
        path=_text(fields.get("path")),
        title=_text(fields.get("title")),
        form_id=_text(fields.get("form_id")),
        fit_traits={str(k): str(v) for k, v in fit.items()} if isinstance(fit, dict) else {},
        touch=touched,
        source_id=_text(fields.get("src")),
        company=_text(fields.get("company")),
    )


def stage_change(record: ArchivedRecord) -> StageChange:
    """An archived `transition` record."""
    fields = record.fields
    amount = fields.get("amount")
    model = fields.get("model")
    score = fields.get("score")
    return StageChange(
        lead_id=record.lead_id,
        from_stage=Stage(str(fields["from_stage"])),
        to_stage=Stage(str(fields["to_stage"])),
        at=moment(record.at),
        score=float(score) if isinstance(score, int | float) else None,
        by=_text(fields.get("by")),
        model=int(model) if isinstance(model, int | float) else None,
        amount=float(amount) if isinstance(amount, int | float) else None,
        hand_raiser=bool(fields.get("hand")),
        currency=_text(fields.get("currency")),
        rescored=bool(fields.get("rescored")),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class _Identities:
    """Merges and hand-overs as the records tell them, in the order they were stored."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}  # merged lead -> the lead it was merged into
        self.holders: dict[str, list[tuple[float, str]]] = {}  # device lead -> (stored from, holder)

    def see(self, record: ArchivedRecord) -> None:
        into = record.fields.get("into")
        if record.kind == "merge" and isinstance(into, str) and into != record.lead_id:
            self.parent[record.lead_id] = into
        elif record.kind == "unmerge" and self.parent.get(record.lead_id) == into:
            del self.parent[record.lead_id]
        elif record.kind == "handover":
            device = record.fields.get("device_lead")
            if isinstance(device, str):
                self.holders.setdefault(device, []).append((record.stored, record.lead_id))

    def holder(self, lead_id: str, stored: float) -> str:
        """Whose a record of `lead_id` stored at `stored` is: a shared device's lead's holder then."""
        held = [holder for since, holder in self.holders.get(lead_id, ()) if since <= stored]
        return held[-1] if held else lead_id

    def root(self, lead_id: str) -> str:
        for _ in range(MAX_MERGE_HOPS):
            into = self.parent.get(lead_id)
            if into is None:
                break
            lead_id = into
        return lead_id


def histories(records: Iterable[ArchivedRecord]) -> dict[str, PersonHistory]:
    """Every person's history in `records` (in the order they were stored, as `ArchiveReader` yields
    them), by the lead that holds the person at the end. Events and stage changes are filed once the
    merges of all the records are known, so a merge stored after a person's events still joins them."""
    identities = _Identities()
    events: list[tuple[str, ArchivedRecord]] = []
    changes: list[tuple[str, ArchivedRecord]] = []
    seen: set[tuple[str, str, str]] = set()
    for record in records:
        if record.identity in seen:
            continue
        seen.add(record.identity)
        if record.kind == "event":
            events.append((identities.holder(record.lead_id, record.stored), record))
        elif record.kind == "transition":
            changes.append((record.lead_id, record))
        else:
            identities.see(record)
    people: dict[str, PersonHistory] = {}

    def person(lead_id: str) -> PersonHistory:
        root = identities.root(lead_id)
        found = people.setdefault(root, PersonHistory(root))
        found.leads.add(lead_id)
        return found

    unique: dict[str, set[str]] = {}
    for lead_id, record in events:
        history = person(lead_id)
        event = behaviour_event(record)
        if event.message_id not in unique.setdefault(history.lead_id, set()):
            unique[history.lead_id].add(event.message_id)
            history.events.append(event)
    for lead_id, record in changes:
        person(lead_id).changes.append(stage_change(record))
    for history in people.values():
        history.events.sort(key=lambda e: (e.at, e.message_id))
        history.changes.sort(key=lambda c: c.at)
    return people


def replay(model: ScoringModel, history: PersonHistory, until: datetime | None = None) -> LeadScore:
    """The person's score under `model` from nothing, from their events up to `until` (all of them when
    None), with every stage change the model would have made (`transitions`, in order)."""
    events = [e for e in history.events if until is None or e.at <= until]
    return apply_events(model, LeadScore(lead_id=history.lead_id), events)
