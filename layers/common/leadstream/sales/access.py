"""Who may use the sales API: the signed-in user's roles are their user-pool groups (pure: no I/O).

API Gateway's JWT authorizer has checked the token (signature, issuer, audience, expiry) before the
function runs, and hands over its claims with every value a string: an array claim such as
`cognito:groups` arrives as "[sales admin]". A list is accepted too (a function invoked directly).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from leadstream.platform.errors import Forbidden, Unauthorized

GROUPS_CLAIM = "cognito:groups"


class Role(StrEnum):
    SALES = "sales"
    MARKETING = "marketing"  # read-only
    ADMIN = "admin"


READERS = frozenset(Role)  # everyone with a role may read leads and accounts
ACTORS = frozenset({Role.SALES, Role.ADMIN})  # who may act on them (issue 9's actions)
_ROLE_NAMES = frozenset(r.value for r in Role)


def roles_of(groups: list[str]) -> frozenset[Role]:
    """The roles a user's groups give (groups that are no role are ignored)."""
    return frozenset(Role(g) for g in groups if g in _ROLE_NAMES)


@dataclass(frozen=True)
class Caller:
    subject: str  # the user's `sub`: an opaque id, safe to log
    roles: frozenset[Role]
    # the user's e-mail (an ID token's `email` claim; an access token has none): who acts, owners, audit.
    # Personal data: never logged (log `subject`)
    email: str | None = None


def _groups(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    text = str(value or "").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [g for g in text.replace(",", " ").split() if g]


def caller(claims: Mapping[str, Any] | None) -> Caller:
    """The signed-in user of a request, from its token's claims. Unauthorized without any (a route the
    authorizer does not guard, or an event that did not come through API Gateway)."""
    if not claims or not claims.get("sub"):
        raise Unauthorized("sign in: send Authorization: Bearer <token> (python -m cli token prints one)")
    roles = frozenset(Role(g) for g in _groups(claims.get(GROUPS_CLAIM)) if g in _ROLE_NAMES)
    email = claims.get("email")
    return Caller(str(claims["sub"]), roles, str(email).lower() if email else None)


def require(who: Caller, allowed: frozenset[Role], action: str) -> None:
    if not who.roles & allowed:
        names = ", ".join(sorted(allowed))
        raise Forbidden(f"{action} needs one of the roles {names}; this user has none of them")
