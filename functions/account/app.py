"""AccountFunction: rolls lead changes (STATE records of the leads table stream) up into their accounts, and
applies an account's traits (its PROFILE, from the accounts table stream).

Records are grouped per account (one read for the batch, one transaction per account), so this handler
reports partial batch failures itself instead of going record by record through BatchProcessor.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.accounts.batch import roll_up
from leadstream.accounts.model_file import load_account_model
from leadstream.accounts.repository import AccountLedger
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import AccountSettings
from leadstream.scoring.model_file import load_model
from leadstream.scoring.repository import ScoreRepository

settings = AccountSettings.from_env()
model = load_account_model(settings.account_model)
leads_model = load_model(settings.scoring_model)  # account engagement decays with the leads' half-life
scores = ScoreRepository(settings.leads_table)
ledger = AccountLedger(settings.accounts_table, settings.leads_table)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = list(DynamoDBStreamEvent(event).records)
    result = roll_up(records, scores, ledger, model, leads_model)
    metrics.add_metric(name="AccountLeadChanges", unit=MetricUnit.Count, value=result.lead_changes)
    metrics.add_metric(name="AccountsUpdated", unit=MetricUnit.Count, value=result.accounts_updated)
    metrics.add_metric(name="AccountEvents", unit=MetricUnit.Count, value=result.events)
    logger.info(
        "rolled up batch",
        records=len(records),
        lead_changes=result.lead_changes,
        accounts=result.accounts_updated,
        events=result.events,
        failed=len(result.failed_sequence_numbers),
    )
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in result.failed_sequence_numbers]}
