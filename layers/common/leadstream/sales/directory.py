"""The stack's sales users by e-mail (Cognito: ListUsers filtered on email, then the user's groups): who
someone acting from outside the API (Slack) is in Leadstream, and what their role lets them do.

Answers are cached a minute per container, found or not: a double click asks Cognito once, and a user
removed from the pool or a group loses the right to act within a minute.
"""

import time

from botocore.exceptions import BotoCoreError, ClientError

from leadstream.platform import aws
from leadstream.platform.errors import StoreUnavailable
from leadstream.sales.access import Caller, roles_of

MAX_AGE_SECONDS = 60


class SalesDirectory:
    def __init__(self, user_pool_id: str) -> None:
        self.pool = user_pool_id
        self._found: dict[str, tuple[float, Caller | None]] = {}

    def user(self, email: str) -> Caller | None:
        """The pool's enabled user with this e-mail (their `sub`, groups as roles, e-mail); None if there is
        none. StoreUnavailable when Cognito cannot be asked."""
        email = email.strip().lower()
        hit = self._found.get(email)
        if hit and time.monotonic() - hit[0] < MAX_AGE_SECONDS:
            return hit[1]
        found = self._lookup(email) if _filterable(email) else None
        self._found[email] = (time.monotonic(), found)
        return found

    def _lookup(self, email: str) -> Caller | None:
        cognito = aws.client("cognito-idp")
        try:
            users = cognito.list_users(UserPoolId=self.pool, Filter=f'email = "{email}"', Limit=2)["Users"]
            if len(users) != 1 or not users[0].get("Enabled", True):
                return None  # nobody, or (the pool's e-mail is unique) something to refuse rather than guess
            user = users[0]
            attributes = {a["Name"]: a.get("Value", "") for a in user.get("Attributes", [])}
            if attributes.get("email", "").lower() != email:  # the filter is exact; make sure
                return None
            groups = cognito.admin_list_groups_for_user(UserPoolId=self.pool, Username=user["Username"])
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"looking up a sales user failed ({type(exc).__name__})") from exc
        names = [str(g["GroupName"]) for g in groups["Groups"]]
        return Caller(attributes.get("sub") or user["Username"], roles_of(names), email)


def _filterable(email: str) -> bool:
    """An address that can go into a ListUsers filter as it is (no quote or backslash to escape)."""
    return (
        3 <= len(email) <= 254 and "@" in email and not any(c in email for c in '"\\') and email.isprintable()
    )
