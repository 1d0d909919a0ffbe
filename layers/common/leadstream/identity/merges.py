"""Why two leads became one: the record each merge leaves on the lead that absorbed it (pure: no I/O)."""

from dataclasses import dataclass
from datetime import datetime

from leadstream.identity.identifiers import IdKind

CAUSES = {IdKind.EMAIL: "same e-mail", IdKind.USER: "same user id", IdKind.ANONYMOUS: "same device"}


@dataclass(frozen=True)
class Undone:
    """An unmerge: when, by whom (the operator), why (their words)."""

    at: datetime
    by: str
    reason: str


@dataclass(frozen=True)
class Merge:
    lead_id: str  # the lead merged
    into: str  # the root it was merged into then
    cause: str  # same e-mail, same user id, alias call, form on a known device
    call: str  # the kind of call that merged them (identify, track, alias, form, ...)
    source_id: str | None  # the source whose key sent it
    at: datetime
    # What undoing it needs (hashed keys and lead ids, nothing personal):
    links: tuple[str, ...] = ()  # identifier keys the call linked to `into` that named the merged lead
    members: tuple[str, ...] = ()  # the leads merged into it before, moved up to `into` with it
    undoable: bool = False  # recorded with the two above (merges recorded before them cannot be undone)
    undone: Undone | None = None


def cause(call: str, joined_by: IdKind) -> str:
    """Why a call merged two leads, in the words an operator reads."""
    if call == "alias":
        return "alias call"
    if call == "form":
        return "form on a known device"
    return CAUSES[joined_by]
