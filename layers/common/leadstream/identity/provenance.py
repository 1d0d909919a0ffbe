"""Who may change what about a person (pure: no I/O): the rank of a call, the rule for a profile's fields,
and when a call may not join a person's lead (README "Trust model").

A call's rank says how far it is believed. A browser source's key sits in web pages, so anyone can send
with it: its calls rank lowest. A form is one the person submitted (posted with the same public key, but
with a person behind it). A server source's key is a secret on the customer's servers; sales is an
operator. Each profile field remembers the rank and source that set it:

- a call may set a field that is empty, or overwrite one set at a rank at most its own: a browser adds
  missing facts but never overwrites what a form, a server or sales set;
- a lead is *established* at the highest rank that identified it; a call never joins the sender's lead to
  a lead established above its own rank (nor hands such a lead over): it is recorded as a pending claim,
  and the sender's events stay on its own lead. A later call of enough rank that ties the same device to
  the person (a form from that device, a server identify with that anonymousId) joins them as usual.

Ranks only rise (a field or a lead is only ever set again at its rank or above), so a write conditional on
"no provenance, or a rank at most mine" keeps the rule however many writers race.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from leadstream.identity.resolution import Resolution


class Rank(IntEnum):
    BROWSER = 1  # a browser source's public key: the snippet, analytics.js, mobile apps
    FORM = 2  # a form the person submitted
    SERVER = 3  # a server source's secret key
    SALES = 4  # an operator (reserved: no writer yet)

    @property
    def label(self) -> str:
        return self.name.lower()


# The contact details a rank protects. `account` and `email_kind` follow `email` (they are derived from it).
FIELDS = ("email", "name", "title", "company", "phone")


@dataclass(frozen=True)
class Stamp:
    """Who set a profile field: the source, its rank, when."""

    source_id: str | None
    rank: Rank
    at: datetime


@dataclass(frozen=True)
class Decision:
    """What one call does to a profile."""

    changes: dict[str, str]  # field -> value to write (set, overwritten, or the same value vouched higher)
    kept: tuple[str, ...]  # fields the call gave otherwise that a higher rank set: left as they are
    establish: bool  # the lead is now established at the call's rank (or it is the first identify)

    @property
    def writes(self) -> bool:
        return bool(self.changes) or self.establish

    def applies(self, field: str, given: Mapping[str, str | None]) -> bool:
        """Whether the profile holds the call's value of `field` after it (written now, or already so)."""
        return given.get(field) is not None and field not in self.kept


def decide(
    values: Mapping[str, str | None],
    stamps: Mapping[str, Stamp],
    established: Rank | None,
    given: Mapping[str, str | None],
    rank: Rank,
) -> Decision:
    """`values`/`stamps`: the profile's fields and their provenance as read (a field without a stamp was set
    before provenance was kept: any call may change it); `established`: the rank the lead was identified
    at, None before its first identify; `given`: the call's fields (None: not given)."""
    changes: dict[str, str] = {}
    kept: list[str] = []
    for field in FIELDS:
        value = given.get(field)
        if value is None:
            continue
        stamp = stamps.get(field)
        if stamp is not None and stamp.rank > rank:
            if values.get(field) != value:
                kept.append(field)
            continue
        if values.get(field) == value and stamp is not None and stamp.rank == rank:
            continue  # nothing new: the same value, vouched for as much
        changes[field] = value
    return Decision(changes, tuple(kept), established is None or rank > established)


def refused_joins(
    resolution: Resolution, device_root: str, established: Mapping[str, Rank], rank: Rank
) -> tuple[str, ...]:
    """The roots a call of `rank` names but may not join the sender's lead to (pending claims), or () when
    it may settle as resolved. `device_root`: the root of the sender's own lead; `established`: each root's
    rank (absent: identified by browsers only, or never). It may join leads established at most at its
    rank; a lead established above it is neither joined nor handed over to another, unless it already is
    the sender's own."""

    def above(lead: str) -> bool:
        return established.get(lead, Rank.BROWSER) > rank

    others = joined(resolution, device_root)
    if any(above(r) for r in others) or (above(device_root) and resolution.lead_id != device_root):
        return others
    return ()


def joined(resolution: Resolution, device_root: str) -> tuple[str, ...]:
    """The roots other than the sender's own that a resolution joins: those whose rank matters."""
    return tuple(r for r in (resolution.lead_id, *resolution.merges) if r != device_root)


def confirmed_cause(rank: Rank) -> str:
    """A merge that confirms a pending claim, in the words an operator reads."""
    return f"claim confirmed by {'a server key' if rank is Rank.SERVER else rank.label}"
