"""Handing a lead to sales (NotifySalesFunction, before it tells anyone): its owner by the assignment rules
and the speed-to-lead timer, recorded on STATE in one conditional write with a 'Lead Assigned' event.

Idempotent under Lambda's retries: a STATE whose timer names this stage change was handed over already.
The timer's schedule is created before STATE records it (a retry finds the schedule there, by its name),
so a recorded timer always has a schedule. A lost race (scoring wrote STATE meanwhile) reads again.
"""

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from leadstream.contracts.events import LEAD_ASSIGNED, LeadAssigned, LeadStageChanged
from leadstream.identity.repository import ProfileRepository
from leadstream.platform.dynamo import moment
from leadstream.platform.errors import ConcurrentUpdate, MergedLead, NotFound
from leadstream.sales.assignment import AssignmentRules, choose, email_address, in_turn, running
from leadstream.sales.outbox import LeadEvents
from leadstream.sales.owners import AuditTrail, Owners
from leadstream.sales.sla import SlaTimers
from leadstream.scoring.replay import StoredScore
from leadstream.scoring.repository import ScoreRepository
from leadstream.scoring.score import LeadScore

SAVE_ATTEMPTS = 5


@dataclass(frozen=True)
class HandedOver:
    owner: str | None
    sla: dict[str, Any] | None  # the timer, as STATE holds it; None: none was started (the lead moved on)
    team: str | None = None


def _unchanged(stored: StoredScore) -> LeadScore:
    """The lead's score as read, written back as it is (no stage change: no TRANS# item again)."""
    return replace(stored.score, transitions=())


class HandOver:
    def __init__(
        self, leads_table: str, accounts_table: str, rules: AssignmentRules, timers: SlaTimers
    ) -> None:
        self.rules, self.timers = rules, timers
        self.scores = ScoreRepository(leads_table)
        self.profiles = ProfileRepository(leads_table)
        self.events = LeadEvents(leads_table)
        self.owners = Owners(accounts_table)

    def _owner(self, stored: StoredScore) -> tuple[str, str]:
        """(owner, team) of a lead: its own, its account's, or the next turn in a team."""
        current = stored.sales.get("owner")
        account_owner, country = None, None
        if not current:
            profile = self.profiles.load(stored.score.lead_id)
            account_owner, country = self.owners.of_account(profile.account if profile else None)
        choice = choose(self.rules, current, account_owner, country)
        if choice.owner is not None:
            return choice.owner, choice.team.name
        return in_turn(choice.team, self.owners.turn(choice.team.name)), choice.team.name

    def run(self, change: LeadStageChanged, now: datetime) -> HandedOver:
        lead_id, transition_id = change.lead_id, change.transition_id
        stored = self.scores.load(lead_id)
        if stored.version is None or stored.erased or stored.merged_into:
            return HandedOver(None, None)  # erased or merged since: its root was handed over on its own
        done = stored.sales.get("sla")
        if done and done.get("transition_id") == transition_id:
            return HandedOver(stored.sales.get("owner"), done)
        owner, team = self._owner(stored)
        timer: dict[str, Any] | None = None
        if stored.score.stage.value == change.to_stage:  # still where it was handed over: the clock runs
            touch = change.card.first_touch
            seconds = self.rules.sla.seconds(
                change.to_stage,
                change.hand_raiser,
                touch.channel if touch else None,
                touch.source if touch else None,
            )
            started = change.changed_at.astimezone(UTC)
            schedule = self.timers.start(lead_id, transition_id, started + timedelta(seconds=seconds), now)
            timer = running(transition_id, started, seconds, schedule, change.hand_raiser)
        for _ in range(SAVE_ATTEMPTS):
            sales = dict(stored.sales)
            also: list[dict[str, Any]] = []
            if not sales.get("owner") and owner:
                sales.update(owner=owner, owner_at=round(now.timestamp(), 3))
                assigned = LeadAssigned(
                    event_id=f"{transition_id}:assigned", lead_id=lead_id, owner=owner, at=now, reason="rule"
                )
                also.append(self.events.put(lead_id, LEAD_ASSIGNED, assigned))
            if timer is not None:
                sales["sla"] = timer
            if not also and sales == stored.sales:
                return HandedOver(sales.get("owner"), sales.get("sla"), team)
            try:
                self.scores.save(replace(stored, sales=sales), _unchanged(stored), also=also)
                return HandedOver(sales.get("owner"), sales.get("sla"), team)
            except ConcurrentUpdate:
                stored = self.scores.load(lead_id)
                if stored.version is None or stored.erased or stored.merged_into:
                    return HandedOver(None, None)
                done = stored.sales.get("sla")
                if done and done.get("transition_id") == transition_id:
                    return HandedOver(stored.sales.get("owner"), done, team)
                if timer is not None and stored.score.stage.value != change.to_stage:
                    self.timers.cancel(timer)  # someone acted while it was being handed over: no clock
                    timer = None
        raise ConcurrentUpdate(f"lead {lead_id} kept changing while it was handed to sales")


@dataclass(frozen=True)
class Reassigned:
    lead_id: str
    owner: str
    previous_owner: str | None
    assigned_at: datetime
    changed: bool


class Reassign:
    """The API's assign action: a user gives a lead another owner ('Lead Assigned', reason 'reassigned'),
    audited. Assigning the owner it has changes nothing."""

    def __init__(self, leads_table: str) -> None:
        self.scores = ScoreRepository(leads_table)
        self.events = LeadEvents(leads_table)
        self.audit = AuditTrail(leads_table)

    def run(self, lead_id: str, owner: str, by: str, now: datetime) -> Reassigned:
        owner = email_address(owner)
        for _ in range(SAVE_ATTEMPTS):
            stored = self.scores.load(lead_id)
            if stored.version is None or stored.erased:
                raise NotFound(f"no lead {lead_id!r}")
            if stored.merged_into:
                raise MergedLead(lead_id, stored.merged_into)
            previous = stored.sales.get("owner")
            if previous == owner:
                at = moment(stored.sales.get("owner_at")) or now
                return Reassigned(lead_id, owner, previous, at, changed=False)
            event_id = f"{lead_id}:assigned:{uuid.uuid4().hex[:16]}"
            assigned = LeadAssigned(
                event_id=event_id,
                lead_id=lead_id,
                owner=owner,
                previous_owner=previous,
                by=by,
                at=now,
                reason="reassigned",
            )
            sales = {**stored.sales, "owner": owner, "owner_at": round(now.timestamp(), 3)}
            also = [
                self.events.put(lead_id, LEAD_ASSIGNED, assigned),
                self.audit.put(
                    lead_id, event_id, "assign", by, now, f"owner {owner} (was {previous or 'none'})"
                ),
            ]
            try:
                self.scores.save(replace(stored, sales=sales), _unchanged(stored), also=also)
            except ConcurrentUpdate:
                continue
            return Reassigned(lead_id, owner, previous, now, changed=True)
        raise ConcurrentUpdate(f"lead {lead_id} kept changing while it was reassigned")
