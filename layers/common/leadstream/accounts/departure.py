"""Erased and expired leads leave their accounts' scores, not only their membership lists.

An account's STATE holds what it counted of each member (the board of its strongest leads with their
titles, people per role, engaged people): deleting a membership item does not take a lead out of it. Before
`people erase` or ExpireFunction deletes the memberships, each lead leaves through the same O(1) change
AccountFunction applies when a lead is merged away (`LeadChange.left` against its member mark), in one
transaction per account, conditional on the account's version (re-read on a lost race). A lead the account
no longer counts (its mark says so) changes nothing, so running it twice is harmless.
"""

import random
import time
from collections.abc import Iterable, Mapping
from datetime import datetime

from leadstream.accounts.model import AccountModel
from leadstream.accounts.repository import AccountLedger
from leadstream.accounts.score import AccountEvent, LeadChange, MemberMark, apply_change
from leadstream.platform.errors import ConcurrentUpdate, StoreUnavailable
from leadstream.scoring.model import ScoringModel

ATTEMPTS = 5


class Departures:
    def __init__(self, ledger: AccountLedger, model: AccountModel, leads_model: ScoringModel) -> None:
        self.ledger = ledger
        self.model = model
        self.leads_model = leads_model

    def leave(self, memberships: Mapping[str, Iterable[str]], now: datetime) -> int:
        """Take each account's given leads out of its score. Returns how many accounts changed."""
        wanted = {domain: sorted(set(leads)) for domain, leads in memberships.items() if leads}
        changed = 0
        for domain, leads in sorted(wanted.items()):
            for attempt in range(ATTEMPTS):
                if attempt:
                    time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - jitter, not a secret
                try:
                    changed += self._leave(domain, leads, now)
                    break
                except ConcurrentUpdate:
                    continue
            else:
                raise StoreUnavailable(f"account {domain} kept changing while its leads were taken out")
        return changed

    def _leave(self, domain: str, leads: list[str], now: datetime) -> int:
        states, marks, _claims = self.ledger.load({domain: leads})
        stored = states[domain]
        state, new_marks, events = stored.state, list[MemberMark](), list[AccountEvent]()
        for lead in leads:
            mark = marks[domain, lead]
            if not mark.member:
                continue
            applied = apply_change(
                self.model, self.leads_model, state, mark, LeadChange.left(lead, mark.version + 1, now)
            )
            state = applied.state
            events += applied.events
            if applied.mark is not None:
                new_marks.append(applied.mark)
        if state == stored.state:
            return 0
        self.ledger.save(stored, state, new_marks, events, now)
        return 1


def memberships(
    items: Iterable[tuple[str, dict[str, dict[str, str]]]], accounts: str
) -> dict[str, list[str]]:
    """account domain -> lead ids, from gathered (table kind, item) pairs: the `accounts` kind's
    `ACCOUNT#<domain>` / `LEAD#<id>` membership items."""
    found: dict[str, list[str]] = {}
    for kind, item in items:
        pk, sk = item["pk"]["S"], item["sk"]["S"]
        if kind == accounts and pk.startswith("ACCOUNT#") and sk.startswith("LEAD#"):
            found.setdefault(pk.removeprefix("ACCOUNT#"), []).append(sk.removeprefix("LEAD#"))
    return found
