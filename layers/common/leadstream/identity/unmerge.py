"""Undoing a wrong merge (`python -m cli people unmerge`): the lead merged becomes a root again, with its
identifiers, its members and its score, and the lead that kept the merge is rescored without it.

What a merge recorded (`Merge.links`, `Merge.members`: hashed keys and lead ids) says what to hand back:

1. the links the merging call made to the winner that named the merged lead are removed (each only while
   it still names the winner), so those identifiers name the merged lead again (their own lead);
2. the merged lead and the members that came along with it are put back in one transaction, each only
   while it points where it was read to point (a call that moved one meanwhile: nothing is written, the
   operator runs the command again);
3. both are rescored from their stored events (`scoring.rebuild`): the lead split off from its own STATE,
   frozen when it was merged; the lead that kept the merge from scratch, without the leads that left, so
   a stage only the merge had given is taken back, unannounced (sales heard of it once); when the lead
   it joined was merged on since, its own (frozen) score is recomputed without it too, so that undoing
   that later merge restores it as it was;
4. the merge's record is marked undone (when, by whom, why), last: a record marked undone is an unmerge
   finished, and the command run again changes nothing.

Every step is conditional and can run again, so a command cut short is finished by running it again.
Accounts follow from the two STATE writes, through the stream (AccountFunction): the winner's contribution
drops to its own, the lead split off counts with its own score.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from leadstream.identity.history import lead_history, root_of
from leadstream.identity.merges import Merge, Undone
from leadstream.identity.repository import IdentityRepository
from leadstream.platform.errors import CannotUnmerge, ConcurrentUpdate
from leadstream.scoring.rebuild import Rebuild, Rebuilt

MEMBERS_PER_RESTORE = 90  # a transaction holds 100 items: the lead, its members, the MEMBERS items


@dataclass(frozen=True)
class Unmerged:
    merge: Merge
    root: str  # the root that kept the merge
    links: int = 0  # identifier links handed back
    members: int = 0  # leads moved back under the lead split off
    restored: Rebuilt | None = None  # the lead split off, rescored
    kept: Rebuilt | None = None  # the root that kept the merge, rescored
    already: bool = False  # it had been undone before: nothing changed


class Unmerge:
    def __init__(
        self,
        identities: IdentityRepository,
        rebuild: Rebuild,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.identities = identities
        self.rebuild = rebuild
        self.clock = clock

    def find(self, lead: str, merged: str) -> Merge:
        """The merge of `merged` recorded in the history of the person `lead` belongs to (the latest not
        undone, else the latest)."""
        root, merges = lead_history(self.identities, lead)
        found = [m for m in merges if m.lead_id == merged]
        if not found:
            raise CannotUnmerge(
                f"no merge of lead {merged} is recorded for lead {root} "
                "(`people merges <email>` lists a person's merges and how to undo each)"
            )
        pending = [m for m in found if m.undone is None]
        return (pending or found)[-1]

    def run(
        self, merge: Merge, by: str, reason: str, say: Callable[[str], None] = lambda _: None
    ) -> Unmerged:
        lead = merge.lead_id
        if not merge.undoable:
            raise CannotUnmerge(
                f"the merge of lead {lead} into {merge.into} was recorded before merges kept what undoing "
                "them needs (the links it made, the members that came along): it cannot be undone"
            )
        root = root_of(self.identities, merge.into)
        if merge.undone is not None:
            return Unmerged(merge, root, already=True)
        links = sum(self.identities.unlink(key, merge.into) for key in merge.links)
        say(f"identifier links handed back to lead {lead}: {links} of {len(merge.links)}")
        members = self._restore(merge)
        say(f"lead {lead} is a root again, with {members} member(s) moved back under it")
        own = self.identities.marks([lead])[lead].members
        restored = self.rebuild.restored(lead, own)
        say(f"lead {lead} rescored from {restored.events} event(s)")
        root = root_of(self.identities, merge.into)
        left = {lead, *merge.members, *own}
        kept = self.rebuild.split_from(root, left, self.identities.marks([root])[root].members - left)
        say(f"lead {root} rescored without it, from {kept.events} event(s)")
        if merge.into != root:  # the lead it joined was merged on since: its own score held it too
            self.rebuild.split_from(merge.into, left)
        self.identities.mark_undone(merge.into, lead, Undone(self.clock(), by, reason))
        return Unmerged(merge, root, links, members, restored, kept)

    def _restore(self, merge: Merge) -> int:
        """The merged lead a root again, its members back under it; how many members moved."""
        lead = merge.lead_id
        marks = self.identities.marks([lead, *merge.members])
        parent = marks[lead].merged_into
        away = {
            m: at
            for m in merge.members
            if (at := marks[m].merged_into) is not None and at != lead  # None: unmerged itself since
        }
        first = dict(list(away.items())[:MEMBERS_PER_RESTORE])
        if not self.identities.restore(lead, parent, first):
            raise ConcurrentUpdate(
                f"lead {lead} or one of its members was merged or moved by a call just now: nothing was "
                "changed by this step, run the command again"
            )
        for member, at in list(away.items())[MEMBERS_PER_RESTORE:]:  # a lead with many members: the rest
            self.identities.move(member, at, lead)
        return len(away)
