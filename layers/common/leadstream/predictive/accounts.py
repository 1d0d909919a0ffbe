"""Reading leads' account features (predictive.features.account_features) from the tables: the same reader
serves training (the CLI) and the live score (ScoreFunction, only when the artifact names an account
feature: two more reads per batch, the batch's leads' PROFILEs and their accounts').

The lead's PROFILE names its account (the one named last); the account's PROFILE holds the traits group
calls gave it. Firmographics rarely change, so training reads them as they are now, not as of each person's
snapshot; nothing in them tells an outcome.
"""

from collections.abc import Iterable

from leadstream.accounts.model import AccountModel
from leadstream.accounts.repository import AccountLedger, AccountRepository
from leadstream.predictive.features import account_features


class AccountFacts:
    """Leads' account features, read from the tables: one BatchGetItem of the leads' PROFILEs, one of their
    accounts' PROFILEs."""

    def __init__(self, ledger: AccountLedger, accounts: AccountRepository, model: AccountModel) -> None:
        self.ledger, self.accounts, self.model = ledger, accounts, model

    def of_leads(self, lead_ids: Iterable[str]) -> dict[str, dict[str, float]]:
        """lead -> its account's features, for the leads whose PROFILE names an account (others: none)."""
        named = {lead: accounts.latest for lead, accounts in self.ledger.lead_accounts(lead_ids).items()}
        domains = {lead: domain for lead, domain in named.items() if domain}
        traits = self.accounts.traits(domains.values())
        return {
            lead: account_features(self.model, domain, traits.get(domain, {}))
            for lead, domain in domains.items()
        }
