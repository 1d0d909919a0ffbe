"""The sales actions on a lead, as one use case each: accept, reject, progress (opportunity, won, lost),
disqualify, qualify, note. The rules are `sales.workflow`'s; this module reads, decides with them, and
writes each action's effect together with its audit record, all or nothing.

A move is one write of the lead's STATE under its version (`ScoreRepository.save`), in a transaction with
its TRANS# item (PublishFunction publishes it as 'Lead Stage Changed') and its AUDIT# record. Another
writer first (scoring, another rep) makes it read again and decide again, a few times. Qualifying merges
the answers under the QUAL item's version, with a 'Lead Qualified' event (an OUT# item); a note is a new
item. Each goes with its audit record.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from leadstream.contracts.events import LEAD_QUALIFIED, LeadQualified
from leadstream.platform.errors import ConcurrentUpdate, MergedLead, MoveNotAllowed, NotFound
from leadstream.sales.outbox import LeadEvents
from leadstream.sales.records import Answers, AuditRecord, SalesRecords, StoredNote, new_id
from leadstream.sales.workflow import (
    Framework,
    Move,
    MoveRequest,
    Workflow,
    check_move,
    first_action,
    merged_answers,
    recycled,
)
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.replay import StoredScore
from leadstream.scoring.repository import ScoreRepository
from leadstream.scoring.score import Transition

ATTEMPTS = 5  # reads and decisions again when another writer came first


@dataclass(frozen=True)
class Actor:
    """Who acts (a signed-in sales user's e-mail: personal data, never logged) and the request's id."""

    email: str
    request_id: str | None = None


# Called after a first accept or reject stopped a running speed-to-lead timer, with the timer as written
# (its `schedule` names the Scheduler schedule to cancel: `sales.sla.stopper`).
OnFirstAction = Callable[[dict[str, Any]], None]


class LeadActions:
    def __init__(
        self,
        leads_table: str,
        model: ScoringModel,
        workflow: Workflow,
        framework: Framework,
        root: Callable[[str], str],
        on_first_action: OnFirstAction | None = None,
    ) -> None:
        """`root(merged_into)`: the lead a merged lead's history lives on now (its 308's target)."""
        self.model, self.workflow, self.framework = model, workflow, framework
        self.root, self.on_first_action = root, on_first_action
        self.scores = ScoreRepository(leads_table)
        self.records = SalesRecords(leads_table)
        self.events = LeadEvents(leads_table)

    def _lead(self, lead_id: str) -> StoredScore:
        stored = self.scores.load(lead_id)
        if stored.merged_into:
            raise MergedLead(lead_id, self.root(stored.merged_into))
        if stored.erased or stored.version is None:
            raise NotFound(f"no lead {lead_id!r}")
        return stored

    def move(
        self,
        lead_id: str,
        request: MoveRequest,
        actor: Actor,
        now: datetime,
        handover: str | None = None,
    ) -> Transition:
        """Moves the lead as `request` asks; the transition made. MoveNotAllowed, BadRequest, NotFound and
        MergedLead refuse it (nothing written). `handover`: only while that stage change (a Slack message's)
        is still the lead's latest; MoveNotAllowed otherwise."""
        for _ in range(ATTEMPTS):
            stored = self._lead(lead_id)
            latest = f"{lead_id}:{stored.score.stage.value}:{stored.score.transition_count}"
            if handover is not None and handover != latest:
                raise MoveNotAllowed(
                    f"this message is about an earlier stage change of the lead, which is "
                    f"{stored.score.stage.value} now (its LeadCard has the latest)",
                    stored.score.stage.value,
                    [],
                )
            answered: frozenset[str] = frozenset()
            if request.move is Move.OPPORTUNITY:
                answered = frozenset(self.records.answers(lead_id).answers)
            lead = stored.score
            target = check_move(lead.stage, request, self.framework, answered)
            if request.move is Move.REJECT:
                lead = recycled(lead, self.workflow.recycle)
            count = lead.transition_count + 1
            transition = Transition(
                f"{lead_id}:{target.value}:{count}",
                lead.stage,
                target,
                now,
                round(lead.score_at(self.model, now), 1),
                tuple(lead.reasons(self.model)),
                by=actor.email,
                reason=(request.reason or "").strip() or None,
                amount=request.amount,
                currency=request.currency,
            )
            sales = stored.sales
            timer = first_action(sales.get("sla"), actor.email, now) if request.move in _FIRST else None
            if timer is not None:
                sales = {**sales, "sla": timer}
            audit = AuditRecord(
                new_id(),
                request.move.value,
                actor.email,
                now,
                f"{lead.stage.value} -> {target.value}",
                actor.request_id,
            )
            moved = replace(lead, stage=target, transition_count=count, transitions=(transition,))
            try:
                self.scores.save(
                    replace(stored, sales=sales), moved, also=[self.records.put_audit(lead_id, audit)]
                )
            except ConcurrentUpdate:
                continue
            if timer is not None and timer.get("state") == "met" and self.on_first_action is not None:
                self.on_first_action(timer)
            return transition
        raise ConcurrentUpdate(f"lead {lead_id} kept changing while it was being moved; try again")

    def qualify(self, lead_id: str, given: Mapping[str, str], actor: Actor, now: datetime) -> Answers:
        """Merges `given` answers (criterion -> text) into the lead's; the answers now. BadRequest naming
        criteria the active framework does not have (nothing written)."""
        for _ in range(ATTEMPTS):
            self._lead(lead_id)
            read = self.records.answers(lead_id)
            answers = merged_answers(self.framework, read.answers, given, actor.email, now)
            outcome = f"answered {', '.join(sorted(given))}"
            audit = AuditRecord(new_id(), "qualify", actor.email, now, outcome, actor.request_id)
            answered = frozenset(c for c in self.framework.ids if c in answers)
            told = LeadQualified(
                event_id=new_id(),
                lead_id=lead_id,
                framework=self.framework.name,
                criteria=sorted(given),
                answered=[c for c in self.framework.ids if c in answered],
                missing_required=self.framework.missing_required(answered),
                completeness=self.framework.completeness(answered),
                by=actor.email,
                qualified_at=now,
            )
            actions = [
                self.records.put_answers(lead_id, self.framework.name, answers, read),
                self.records.put_audit(lead_id, audit),
                self.events.put(lead_id, LEAD_QUALIFIED, told),
            ]
            try:
                self.records.write(lead_id, actions)
            except ConcurrentUpdate:
                continue
            return Answers(self.framework.name, answers, (read.version or 0) + 1)
        raise ConcurrentUpdate(f"lead {lead_id}'s answers kept changing; try again")

    def note(self, lead_id: str, text: str, actor: Actor, now: datetime) -> StoredNote:
        """Adds a note to the lead; the note."""
        self._lead(lead_id)
        note = StoredNote(new_id(), text, actor.email, now)
        audit = AuditRecord(new_id(), "note", actor.email, now, f"noted {note.id}", actor.request_id)
        self.records.write(
            lead_id, [self.records.put_note(lead_id, note), self.records.put_audit(lead_id, audit)]
        )
        return note


_FIRST = frozenset({Move.ACCEPT, Move.REJECT})  # the actions that stop the speed-to-lead timer
