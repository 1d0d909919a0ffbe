"""Who works a lead and how fast they must act: the assignment rules and the speed-to-lead SLA, as data
(`assignment.yaml`, read by `assignment_file`), and the decisions they make (pure: no I/O).

Owner: a lead that has one keeps it; else the account's owner, if it has one; else the team its country
names (`countries`), else the default team; within a team, the members take turns (round-robin on an
atomic counter the caller passes in as `turn`).

SLA: how long sales has to accept or reject a lead handed to it, in seconds. The most specific setting
wins: the lead's first-touch source, then its channel, then the stage (a hand-raiser counts as the stage
`hand_raiser`), then the default.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# An e-mail as the user pool holds it (lower-case); the format only, no look-up
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,63}$")
TEAM_NAME = r"^[A-Za-z0-9_-]{1,40}$"
DEFAULT_SLA_SECONDS = 300  # five minutes: what the demo site's thank-you page promises
HAND_RAISER = "hand_raiser"  # the SLA's key for a hand-raiser, whatever stage it reached


def email_address(value: str) -> str:
    """`value` as an owner's e-mail (trimmed, lower-case); ValueError if it is not one."""
    address = value.strip().lower()
    if not EMAIL.match(address):
        raise ValueError("is not an e-mail address")
    return address


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Team(_Strict):
    name: str = Field(pattern=TEAM_NAME)
    members: tuple[str, ...] = Field(min_length=1, description="the sales users' e-mails, in turn order")
    # A Secrets Manager secret (name) holding a Slack incoming-webhook URL for the team's managers; unset:
    # escalations go to the stack's own channels
    # (its name starts with leadstream/escalations/: the only secrets SlaFunction may read)
    manager_channel: str | None = Field(
        default=None, pattern=r"^leadstream/escalations/[A-Za-z0-9/_+=.@-]{1,200}$"
    )

    @field_validator("members")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        members = tuple(email_address(m) for m in value)
        if len(set(members)) != len(members):
            raise ValueError("lists a member twice")
        return members


class Sla(_Strict):
    default_seconds: int = Field(default=DEFAULT_SLA_SECONDS, ge=1, le=366 * 24 * 3600)
    stages: dict[str, int] = Field(default_factory=dict, description="stage (or hand_raiser) -> seconds")
    channels: dict[str, int] = Field(default_factory=dict, description="first-touch channel -> seconds")
    sources: dict[str, int] = Field(default_factory=dict, description="first-touch source -> seconds")

    @field_validator("stages", "channels", "sources")
    @classmethod
    def _positive(cls, value: dict[str, int]) -> dict[str, int]:
        if any(seconds < 1 for seconds in value.values()):
            raise ValueError("every SLA is at least one second")
        return value

    def seconds(self, stage: str, hand_raiser: bool, channel: str | None, source: str | None) -> int:
        if source is not None and source.lower() in self.sources:
            return self.sources[source.lower()]
        if channel is not None and channel in self.channels:
            return self.channels[channel]
        if hand_raiser and HAND_RAISER in self.stages:
            return self.stages[HAND_RAISER]
        return self.stages.get(stage, self.default_seconds)

    @field_validator("sources")
    @classmethod
    def _lower(cls, value: dict[str, int]) -> dict[str, int]:
        return {k.lower(): v for k, v in value.items()}


class AssignmentRules(_Strict):
    version: int = Field(ge=1)
    teams: tuple[Team, ...] = Field(min_length=1)
    default_team: str
    countries: dict[str, str] = Field(default_factory=dict, description="ISO 3166 alpha-2 code -> team")
    sla: Sla = Field(default_factory=Sla)

    @field_validator("countries")
    @classmethod
    def _codes(cls, value: dict[str, str]) -> dict[str, str]:
        return {code.strip().upper(): team for code, team in value.items()}

    @model_validator(mode="after")
    def _teams_known(self) -> Self:
        names = [t.name for t in self.teams]
        if len(set(names)) != len(names):
            raise ValueError("two teams have the same name")
        unknown = sorted({self.default_team, *self.countries.values()} - set(names))
        if unknown:
            raise ValueError(f"no team named {', '.join(map(repr, unknown))}")
        return self

    def team(self, name: str) -> Team:
        return next(t for t in self.teams if t.name == name)

    def team_for(self, country: str | None) -> Team:
        """The team a lead without an owner goes to: its country's, else the default."""
        named = self.countries.get(country.strip().upper()) if country else None
        return self.team(named or self.default_team)

    def team_of(self, owner: str | None) -> Team:
        """The team an owner works in (the first listing them), else the default team: whose managers hear
        of a breach."""
        found = next((t for t in self.teams if owner in t.members), None) if owner else None
        return found or self.team(self.default_team)


@dataclass(frozen=True)
class Choice:
    """Where a lead's owner comes from: `owner` already decided (the lead's own, or its account's), or a
    turn in `team` to take (the caller draws it from the team's counter)."""

    owner: str | None
    team: Team
    reason: str  # "kept", "account", "team"


def choose(
    rules: AssignmentRules, current: str | None, account_owner: str | None, country: str | None
) -> Choice:
    """The first rule that names an owner: the lead's own, the account's, else a turn in a team."""
    if current:
        return Choice(current, rules.team_of(current), "kept")
    if account_owner:
        return Choice(account_owner, rules.team_of(account_owner), "account")
    return Choice(None, rules.team_for(country), "team")


def in_turn(team: Team, turn: int) -> str:
    """The member whose turn `turn` is (the counter's value after it was taken: 1, 2, 3, ...)."""
    return team.members[(turn - 1) % len(team.members)]


# --- the SLA timer's state on STATE (`sales.sla`), as the sales workflow agreed it ------------------------


def running(
    transition_id: str, started_at: datetime, seconds: int, schedule: str, hand_raiser: bool = False
) -> dict[str, Any]:
    """A timer just started for the stage change `transition_id` (a hand-raiser's says so: the inbox
    shows it without reading the stage history)."""
    due = started_at + timedelta(seconds=seconds)
    timer: dict[str, Any] = {
        "transition_id": transition_id,
        "state": "running",
        "started_at": round(started_at.timestamp(), 3),
        "due_at": round(due.timestamp(), 3),
        "schedule": schedule,
    }
    if hand_raiser:
        timer["hand_raiser"] = True
    return timer


def breached(sla: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {**sla, "state": "breached", "breached_at": round(now.timestamp(), 3)}


def due_of(transition_id: str, sla: dict[str, Any] | None) -> str:
    """What a timer firing for `transition_id` must do: 'breach' (still running), 'escalate' (breached
    already, by an earlier delivery that may not have finished telling anyone), or 'nothing' (met, or a
    later hand-over replaced it)."""
    if not sla or sla.get("transition_id") != transition_id:
        return "nothing"
    return {"running": "breach", "breached": "escalate"}.get(str(sla.get("state")), "nothing")
