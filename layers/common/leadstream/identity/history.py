"""How a person's leads became one: every merge recorded on their root and on the leads merged into it."""

from leadstream.identity.identifiers import Identifier, IdKind, normalise_email
from leadstream.identity.merges import Merge
from leadstream.identity.repository import IdentityRepository
from leadstream.identity.resolution import MAX_ROOT_HOPS


def merge_history(identities: IdentityRepository, email: str) -> tuple[str, list[Merge]]:
    """(the person's root lead, their merges oldest first) for the person with this e-mail."""
    ident = Identifier(IdKind.EMAIL, normalise_email(email))
    lead = identities.linked([ident]).get(ident.key) or ident.derived_lead_id()
    for _ in range(MAX_ROOT_HOPS):
        up = identities.marks([lead])[lead].merged_into
        if up is None:
            break
        lead = up
    members = identities.marks([lead])[lead].members
    merges = [m for each in [lead, *sorted(members)] for m in identities.merges(each)]
    return lead, sorted(merges, key=lambda m: m.at)
