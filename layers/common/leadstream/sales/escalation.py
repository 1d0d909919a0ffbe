"""A speed-to-lead deadline passed (SlaFunction, when the lead's schedule fires): if the timer of that
stage change still runs, it is breached: STATE's `sla` says so and a 'Lead SLA Breached' event goes in the
same conditional write (the OUT# outbox). Who is then told, and how, is the caller's (exactly once per
channel, with Once).

A timer someone stopped (accept or reject: `met`), a later hand-over's timer, a deadline not reached yet,
an erased or merged lead: nothing. A timer breached already (the schedule delivered twice, or an earlier
delivery failed after the write) is not breached again; the caller escalates once more, which Once makes a
no-op where it was done.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from leadstream.contracts.events import LEAD_SLA_BREACHED, LeadSlaBreached
from leadstream.platform.dynamo import moment
from leadstream.platform.errors import ConcurrentUpdate
from leadstream.sales.assignment import breached, due_of
from leadstream.sales.outbox import LeadEvents
from leadstream.scoring.repository import ScoreRepository

SAVE_ATTEMPTS = 5
EARLY = 1.0  # seconds: a timer firing this much before its deadline (clocks, rounding) is on time


@dataclass(frozen=True)
class Overdue:
    """A breached timer, for the escalation: whose lead, which stage, when it was due and breached."""

    lead_id: str
    transition_id: str
    owner: str | None
    stage: str
    started_at: datetime
    due_at: datetime
    breached_at: datetime
    newly: bool  # breached by this call (False: an earlier delivery breached it)


def stage_of(transition_id: str) -> str:
    """The stage of a transition id `<lead>:<stage>:<n>`."""
    parts = transition_id.rsplit(":", 2)
    return parts[1] if len(parts) == 3 else ""


def _overdue(lead_id: str, transition_id: str, owner: Any, sla: dict[str, Any], newly: bool) -> Overdue:
    started, due, at = (moment(sla.get(k)) for k in ("started_at", "due_at", "breached_at"))
    if started is None or due is None or at is None:
        raise ValueError(f"the SLA timer of {transition_id} lacks its times")
    return Overdue(
        lead_id,
        transition_id,
        str(owner) if owner else None,
        stage_of(transition_id),
        started,
        due,
        at,
        newly,
    )


class Deadlines:
    def __init__(self, leads_table: str) -> None:
        self.scores = ScoreRepository(leads_table)
        self.events = LeadEvents(leads_table)

    def passed(self, lead_id: str, transition_id: str, now: datetime) -> Overdue | None:
        """The deadline of `transition_id`'s timer passed: breach it if it still runs. None: nothing to do."""
        for _ in range(SAVE_ATTEMPTS):
            stored = self.scores.load(lead_id)
            if stored.version is None or stored.erased or stored.merged_into:
                return None
            sla = stored.sales.get("sla")
            what = due_of(transition_id, sla)
            if what == "nothing" or sla is None:
                return None
            owner = stored.sales.get("owner")
            if what == "breach" and now.timestamp() < float(sla["due_at"]) - EARLY:
                return None  # not due: a schedule never fires early, so this is someone invoking it by hand
            if what == "escalate":
                return _overdue(lead_id, transition_id, owner, sla, newly=False)
            late = breached(sla, now)
            found = _overdue(lead_id, transition_id, owner, late, newly=True)
            event = LeadSlaBreached(
                event_id=f"{transition_id}:breached",
                lead_id=lead_id,
                transition_id=transition_id,
                owner=found.owner,
                stage=found.stage,
                started_at=found.started_at,
                due_at=found.due_at,
                breached_at=found.breached_at,
            )
            try:
                self.scores.save(
                    replace(stored, sales={**stored.sales, "sla": late}),
                    replace(stored.score, transitions=()),
                    also=[self.events.put(lead_id, LEAD_SLA_BREACHED, event)],
                )
            except ConcurrentUpdate:
                continue
            return found
        raise ConcurrentUpdate(f"lead {lead_id} kept changing while its SLA breach was recorded")
