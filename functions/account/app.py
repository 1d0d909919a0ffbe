"""AccountFunction: rolls lead changes (STATE records of the leads table stream) up into their accounts, and
applies an account's traits (its PROFILE, from the accounts table stream).

Records are grouped per account (one read for the batch, one transaction per account), so this handler
reports partial batch failures itself instead of going record by record through BatchProcessor.
"""

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from leadstream.accounts.batch import roll_up
from leadstream.accounts.model_file import load_account_model
from leadstream.accounts.repository import AccountLedger
from leadstream.platform.settings import AccountSettings
from leadstream.platform.stream import BatchReport, batch_handler
from leadstream.scoring.model_file import load_model
from leadstream.scoring.repository import ScoreRepository

settings = AccountSettings.from_env()
model = load_account_model(settings.account_model)
leads_model = load_model(settings.scoring_model)  # account engagement decays with the leads' half-life
scores = ScoreRepository(settings.leads_table)
ledger = AccountLedger(settings.accounts_table, settings.leads_table)


def roll_up_accounts(records: list[DynamoDBRecord]) -> BatchReport:
    result = roll_up(records, scores, ledger, model, leads_model)
    return BatchReport(
        result.failed_sequence_numbers,
        facts={
            "lead_changes": result.lead_changes,
            "accounts": result.accounts_updated,
            "events": result.events,
        },
        metrics={
            "AccountLeadChanges": result.lead_changes,
            "AccountsUpdated": result.accounts_updated,
            "AccountEvents": result.events,
        },
    )


lambda_handler = batch_handler("rolled up batch", roll_up_accounts)
