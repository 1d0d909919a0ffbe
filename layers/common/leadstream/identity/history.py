"""How a person's leads became one: every merge recorded on their root and on the leads merged into it."""

from leadstream.identity.identifiers import Identifier, IdKind, normalise_email
from leadstream.identity.merges import Merge
from leadstream.identity.repository import IdentityRepository
from leadstream.identity.resolution import MAX_ROOT_HOPS


def root_of(identities: IdentityRepository, lead: str) -> str:
    """The root a lead belongs to now (its merge marks followed)."""
    for _ in range(MAX_ROOT_HOPS):
        up = identities.marks([lead])[lead].merged_into
        if up is None:
            break
        lead = up
    return lead


def merge_history(identities: IdentityRepository, email: str) -> tuple[str, list[Merge]]:
    """(the person's root lead, their merges oldest first) for the person with this e-mail."""
    ident = Identifier(IdKind.EMAIL, normalise_email(email))
    return lead_history(identities, identities.linked([ident]).get(ident.key) or ident.derived_lead_id())


def lead_history(identities: IdentityRepository, lead: str) -> tuple[str, list[Merge]]:
    """(the root of `lead`, the merges recorded on it and on its members, oldest first)."""
    root = root_of(identities, lead)
    members = identities.marks([root])[root].members
    merges = [m for each in [root, *sorted(members)] for m in identities.merges(each)]
    return root, sorted(merges, key=lambda m: m.at)
