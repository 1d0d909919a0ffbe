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
"""

from collections.abc import Mapping
from dataclasses import dataclass

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


def head(ident: Identifier, linked: Mapping[str, str]) -> str:
    """The lead an identifier names: the one it is linked to, else its own."""
    return linked.get(ident.key) or ident.derived_lead_id()


def resolve(ids: list[Identifier], linked: Mapping[str, str], roots: Mapping[str, str]) -> Resolution:
    """`ids` in the order `identifiers()` gives them; `linked`: identifier key -> lead, for those linked;
    `roots`: lead -> its root, for the lead each identifier names and for the sender's own lead."""
    if not ids:
        raise ValueError("at least one identifier is needed")
    first_linked = next((linked[i.key] for i in ids if i.key in linked), None)
    winner = roots[first_linked or device_lead(ids)]
    links = tuple(i for i in ids if i.key not in linked and i.derived_lead_id() != winner)
    # the sender's own lead holds this message's events: its root joins too, even when its link is elsewhere
    others = dict.fromkeys([*(roots[head(i, linked)] for i in ids), roots[device_lead(ids)]])
    merges = tuple(r for r in others if r != winner)
    chooser = next((i for i in ids if i.key in linked), ids[0])  # the identifier that named the winner

    def because(merged: str) -> IdKind:
        naming = next((i for i in ids if roots[head(i, linked)] == merged), chooser)
        return naming.kind if naming.kind is not IdKind.ANONYMOUS else chooser.kind

    moved = tuple(tuple(i.key for i in links if roots[head(i, linked)] == r) for r in merges)
    return Resolution(winner, links, merges, tuple(because(r) for r in merges), moved)
