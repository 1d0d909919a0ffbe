"""Which lead a message belongs to, and what linking its identifiers changes (pure: no I/O).

The leads form a forest: a lead is a root (a person as sales sees them) or merged into a root. Every
identifier names a lead (its link, else its own derived lead), and every lead names its root (its
`merged_into`, followed). A message's identifiers all belong to one person, so after linking them they
must all name one root:

- the winner is the root of the first identifier already linked, known identifiers first (user id, then
  e-mail); with none linked, the root of the sender's own lead (`device_lead`), so a first identify keeps
  the visitor's history and score;
- every identifier not yet linked is linked to the winner (unless it is the winner's own identifier: that
  link is implicit);
- every other root is merged into the winner: only roots are ever merged, and only into a root, so no
  sequence of calls can make a cycle, and a merged root's own members are moved up to the winner (one
  hop, whatever happened before).

A device (anonymous id) belongs to one person at a time: its *holder*, the root its events count for (the
root of its own lead, until it is handed over). A message from the device whose known identifiers (user
id, e-mail) name none of the holder's, while the holder has a known identifier of that kind of its own (a
different e-mail, a different user id), is another person on a shared device: a *hand-over*, not a merge
(`resolve_on_device`). The known identifiers are resolved among themselves (the second person's lead, an
existing one or their e-mail's own), nothing of theirs is linked to the holder, no root is merged into the
other, and from then on the device's events count for the new holder (`holder_at`: by when they were
stored). The first person keeps their history; handing back works the same way.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace

from leadstream.identity.identifiers import Identifier, IdKind, device_lead

MAX_ROOT_HOPS = 8  # merge marks followed to a root (one hop once settled; more only for older data)


@dataclass(frozen=True)
class Resolution:
    lead_id: str  # the root these identifiers belong to (profile, account, score)
    links: tuple[Identifier, ...]  # identifiers to link to it
    merges: tuple[str, ...]  # other roots to merge into it, in a stable order
    because: tuple[IdKind, ...] = ()  # for each merge, the kind of identifier that joins it to the winner
    # for each merge, the keys of the identifiers linked to the winner that named that root (an unmerge
    # unlinks them)
    moved: tuple[tuple[str, ...], ...] = ()
    hands_over: str | None = None  # a device lead whose later events count for `lead_id` (a hand-over)


Handed = tuple[tuple[float, str], ...]  # a device lead's hand-overs: (since when stored, to which lead)


def holder_at(handed: Handed, stored_at: float | None) -> str | None:
    """The lead a device's event stored at `stored_at` (epoch seconds) counts for by the device's
    hand-overs, oldest first; None when it came before any (or has no time): the device lead's own root."""
    current = None
    for since, lead in handed:
        if stored_at is None or stored_at < since:
            break
        current = lead
    return current


def head(ident: Identifier, linked: Mapping[str, str]) -> str:
    """The lead an identifier names: the one it is linked to, else its own."""
    return linked.get(ident.key) or ident.derived_lead_id()


def resolve(
    ids: list[Identifier], linked: Mapping[str, str], roots: Mapping[str, str], own: str | None = None
) -> Resolution:
    """`ids` in the order `identifiers()` gives them; `linked`: identifier key -> lead, for those linked;
    `roots`: lead -> its root, for the lead each identifier names and for the sender's own lead. `own`:
    the lead that stands for the sender (default: the sender's own lead, `device_lead`)."""
    if not ids:
        raise ValueError("at least one identifier is needed")
    sender = own or device_lead(ids)
    first_linked = next((linked[i.key] for i in ids if i.key in linked), None)
    winner = roots[first_linked or sender]
    links = tuple(i for i in ids if i.key not in linked and i.derived_lead_id() != winner)
    # the sender's own lead holds this message's events: its root joins too, even when its link is elsewhere
    others = dict.fromkeys([*(roots[head(i, linked)] for i in ids), roots[sender]])
    merges = tuple(r for r in others if r != winner)
    chooser = next((i for i in ids if i.key in linked), ids[0])  # the identifier that named the winner

    def because(merged: str) -> IdKind:
        naming = next((i for i in ids if roots[head(i, linked)] == merged), chooser)
        return naming.kind if naming.kind is not IdKind.ANONYMOUS else chooser.kind

    moved = tuple(tuple(i.key for i in links if roots[head(i, linked)] == r) for r in merges)
    return Resolution(winner, links, merges, tuple(because(r) for r in merges), moved)


def known(ids: list[Identifier]) -> list[Identifier]:
    return [i for i in ids if i.kind is not IdKind.ANONYMOUS]


def claims(ids: list[Identifier], linked: Mapping[str, str], roots: Mapping[str, str], holder: str) -> bool:
    """Whether one of the message's known identifiers already names the device's holder (its person)."""
    return any(roots[head(i, linked)] == holder for i in known(ids))


def from_device(ids: list[Identifier]) -> bool:
    """A message from a device (an anonymous id) that names a person (a user id or an e-mail)."""
    return bool(known(ids)) and any(i.kind is IdKind.ANONYMOUS for i in ids)


def resolve_on_device(
    ids: list[Identifier],
    linked: Mapping[str, str],
    roots: Mapping[str, str],
    holder: str,
    holder_kinds: frozenset[IdKind],
) -> Resolution:
    """`resolve` for a message that may come from a shared device. `holder`: the root the sender's device
    counts for now (`roots` has it); `holder_kinds`: the kinds of known identifier the holder has of its
    own (asked for only when the message claims none of the holder's: see `claims`).

    - another person (none of the message's known identifiers is the holder's, and the holder has a
      different one of the same kind): the known identifiers resolved among themselves, and the device
      handed over to their root;
    - the holder's person on a device handed over to them: resolved with the holder standing for the
      device (its own lead's root, the person it was handed over from, is not joined);
    - otherwise as `resolve` (a device never handed over, or handed back to its own lead's root)."""
    if not from_device(ids):
        return resolve(ids, linked, roots)
    names = known(ids)
    if not claims(ids, linked, roots, holder) and any(i.kind in holder_kinds for i in names):
        taken = resolve(names, linked, roots)
        return taken if taken.lead_id == holder else replace(taken, hands_over=device_lead(ids))
    if holder == roots[device_lead(ids)]:
        return resolve(ids, linked, roots)
    return resolve(names, linked, roots, own=holder)
