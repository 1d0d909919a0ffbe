"""Rebuilding a lead's score from its stored events, when the stream can no longer tell what was missed.

ScoreFunction scores each event once, as its stream record arrives. A record it gave up on is parked, and
the stream forgets it after 24 hours; the event itself stays in the table (`EVT#`, with `rcv`, when it was
stored). A rebuild scores the lead again from scratch from every event still stored under it and under
the leads merged into it, in the order they happened, and writes STATE as ScoreFunction does (conditional
on `version`; a lost race is read and rebuilt again). The stage never moves back; a stage reached for the
first time is a transition through the TRANS# outbox, published once like any other.

What expired events gave (fit traits, being a known contact, the first touch, counts) carries over from
STATE; their behaviour points had faded to almost nothing by then. The events the stream may still
deliver are recorded in `rebuilt` (see `replay`), so ScoreFunction does not count them twice.

An unmerge (`identity.unmerge`) rescores both sides of a merge undone: the lead split off (`restored`: as
`lead`, from its own STATE, frozen when it was merged, and with its retention clock running again) and
the lead that kept the merge (`split_from`: from scratch, without the leads that left; see
`score.unmerged`).

A shared device's hand-overs (its lead's STATE `handed`) are honoured as ScoreFunction honours them: a
device lead's events stored while another person held the device are theirs, and the events of the
devices handed over to this lead (its `lent`, and its merged leads') count while it held them.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from leadstream.identity.resolution import holder_at
from leadstream.platform.errors import ConcurrentUpdate
from leadstream.scoring.batch import MAX_MERGE_HOPS, targets_of
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.replay import STREAM_RETENTION, StoredScore, message_key, padded
from leadstream.scoring.repository import ScoreRepository
from leadstream.scoring.score import LeadScore, rebuild, unmerged
from leadstream.tracking.events import BehaviourEvent
from leadstream.tracking.repository import EventRepository

MAX_ATTEMPTS = 5  # writes lost to ScoreFunction (or identity) before the lead is left for the next run


@dataclass(frozen=True)
class Rebuilt:
    lead_id: str
    events: int  # events counted (the lead's own and its merged leads')
    transitions: int  # stages reached for the first time


@dataclass(frozen=True)
class Gathered:
    """A lead's stored events as a rebuild counts them (`Rebuild.gather`)."""

    stored: StoredScore  # the lead's own STATE
    merged: dict[str, StoredScore]  # the leads merged into it, by id
    events: list[tuple[BehaviourEvent, datetime | None]]  # each with when it was stored (None: older items)


class Rebuild:
    """Rebuilds leads with the repositories of the events and the scores (and a clock, for tests)."""

    def __init__(
        self,
        events: EventRepository,
        scores: ScoreRepository,
        model: ScoringModel,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.events = events
        self.scores = scores
        self.model = model
        self.clock = clock

    def targets(self, leads: Iterable[str]) -> dict[str, str | None]:
        """lead -> the lead that scores its events now (itself unless merged; None past MAX_MERGE_HOPS)."""
        wanted = list(dict.fromkeys(leads))
        return targets_of(self.scores, self.scores.load_many(wanted)) if wanted else {}

    def lead(self, lead_id: str, merged: Iterable[str] = ()) -> Rebuilt:
        """Rebuild a lead (not itself merged) with every lead merged into it: those its STATE absorbed, and
        `merged` (leads that point at it and whose events it has not seen yet). Raises ConcurrentUpdate when
        other writers won MAX_ATTEMPTS times."""
        return self._attempts(lead_id, lambda: self._once(lead_id, set(merged), MAX_MERGE_HOPS))

    def restored(self, lead_id: str, merged: Iterable[str] = ()) -> Rebuilt:
        """A lead split off a merge (a root again), rebuilt as `lead` does with the leads merged into it,
        from its own STATE; it expires again with its latest event's `lead_expires` (a merged lead had
        none). A stage it never had is a transition, published once."""
        return self._attempts(
            lead_id, lambda: self._once(lead_id, set(merged), 0, frozenset(), restarting=True)
        )

    def split_from(self, lead_id: str, left: Iterable[str], merged: Iterable[str] = ()) -> Rebuilt:
        """The lead that kept an undone merge, rebuilt from scratch (`score.unmerged`) from its events and
        those of the leads still merged into it (`merged`, and what it absorbed), not those of `left`."""
        gone = frozenset(left)
        return self._attempts(lead_id, lambda: self._once(lead_id, set(merged) - gone, 0, gone))

    def gather(
        self, stored: StoredScore, also: Iterable[str] = (), without: frozenset[str] = frozenset()
    ) -> Gathered:
        """The events that count on the lead of `stored` (not itself merged): its own, those of the leads
        merged into it (those its STATE absorbed, and `also`: leads that point at it and whose events it
        has not seen yet; none of `without`), and those of the devices handed over to it while it held
        them; not those a shared device of its own stored while another person held it. What a rebuild
        scores, and what shadow mode scores a candidate model on."""
        lead_id = stored.score.lead_id
        merged = self._merged(stored, set(also), without)
        devices = {d for s in [stored, *merged.values()] for d in s.lent} - {lead_id, *merged}
        partitions = {lead_id: stored, **merged, **(self.scores.load_many(devices) if devices else {})}
        holders = {lead for s in partitions.values() for _, lead in s.handed}
        targets = self.targets(holders)
        events: list[tuple[BehaviourEvent, datetime | None]] = []
        for lead, state in partitions.items():
            for event, stored_at in self.events.of_lead(lead):
                holder = holder_at(state.handed, stored_at.timestamp() if stored_at else None)
                counts_here = targets[holder] == lead_id if holder is not None else lead not in devices
                if counts_here:  # not stored while another person held the device (or before it was lent)
                    events.append((event, stored_at))
        return Gathered(stored, merged, events)

    def _attempts(self, lead_id: str, once: Callable[[], Rebuilt]) -> Rebuilt:
        for _ in range(MAX_ATTEMPTS):
            try:
                return once()
            except ConcurrentUpdate:
                continue
        raise ConcurrentUpdate(f"lead {lead_id} kept changing while it was being rebuilt")

    def _merged(
        self, target: StoredScore, also: set[str], without: frozenset[str] = frozenset()
    ) -> dict[str, StoredScore]:
        """The leads merged into `target`, transitively through the leads they absorbed in turn (none of
        `without`, nor what only they absorbed)."""
        found: dict[str, StoredScore] = {}
        wanted = (set(target.absorbed) | also) - {target.score.lead_id} - without
        for _ in range(MAX_MERGE_HOPS + 1):
            if not wanted:
                break
            loaded = self.scores.load_many(wanted)
            found.update(loaded)
            wanted = {lead for s in loaded.values() for lead in s.absorbed} - set(found) - without
            wanted.discard(target.score.lead_id)
        return found

    def _once(
        self,
        lead_id: str,
        also: set[str],
        hops: int,
        without: frozenset[str] | None = None,
        restarting: bool = False,
    ) -> Rebuilt:
        """`without` None: a rebuild (`rebuild`, STATE carried over); a set: from scratch without those
        leads (`unmerged`). `restarting`: the lead expires again, with its events."""
        stored = self.scores.load(lead_id)
        if stored.merged_into is not None and hops > 0:  # handed over since: rebuild the lead that has it
            return self._once(stored.merged_into, also | {lead_id}, hops - 1)
        found = self.gather(stored, also, without or frozenset())
        merged = found.merged
        events = []
        now = self.clock()
        recent = (now - STREAM_RETENTION).timestamp()
        rebuilt = dict(stored.rebuilt)
        for event, stored_at in found.events:
            events.append(event)
            at = (stored_at or event.at).timestamp()  # older items have no `rcv`: when it happened
            if at >= recent:
                rebuilt[message_key(event.message_id)] = int(at)
        if not events and (without is None or stored.version is None):
            return Rebuilt(lead_id, 0, 0)
        score: LeadScore = (
            rebuild(self.model, stored.score, events)
            if without is None
            else unmerged(self.model, stored.score, events)
        )
        absorbed = {lead: seq for lead, seq in stored.absorbed.items() if lead not in (without or ())}
        for lead, state in merged.items():  # their scores are in the rebuild: never folded in again
            absorbed.setdefault(lead, padded(state.seq or "0"))
        guards = replace(stored, absorbed=absorbed, rebuilt=rebuilt).pruned(now)
        expires = self.events.kept_until([lead_id, *merged]) if restarting else None
        self.scores.save(guards, score, expires)
        return Rebuilt(lead_id, len(events), len(score.transitions))
