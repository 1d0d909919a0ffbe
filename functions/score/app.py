"""ScoreFunction: applies the scoring model to new behaviour events from the leads table stream.

Records are grouped per lead (one read for the batch, one write per lead), so this handler reports
partial batch failures itself instead of going record by record through BatchProcessor.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.accounts.model_file import load_account_model
from leadstream.accounts.repository import AccountLedger, AccountRepository
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import ScoreSettings
from leadstream.predictive.accounts import AccountFacts
from leadstream.predictive.model_file import live_predictor
from leadstream.scoring.batch import score_batch
from leadstream.scoring.model_file import load_model
from leadstream.scoring.repository import ScoreRepository
from leadstream.tracking.repository import EventRepository

settings = ScoreSettings.from_env()
model = load_model(settings.scoring_model)
# the predictive likelihood (PredictiveModelFile), checked now: a broken or mismatched artifact fails the
# cold start naming the problem; none configured, none computed. Leads' accounts are read only for an
# artifact with account features.
predict = live_predictor(
    settings.predictive_model,
    model,
    lambda: AccountFacts(
        AccountLedger(settings.accounts_table, settings.leads_table),
        AccountRepository(settings.accounts_table),
        load_account_model(settings.account_model),
    ),
)
events = EventRepository(settings.leads_table)
scores = ScoreRepository(settings.leads_table)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = list(DynamoDBStreamEvent(event).records)
    result = score_batch(records, events, scores, model, predict)
    metrics.add_metric(name="LeadsScored", unit=MetricUnit.Count, value=result.leads_scored)
    metrics.add_metric(name="ReplayedRecordsSkipped", unit=MetricUnit.Count, value=result.records_skipped)
    metrics.add_metric(name="StageChanges", unit=MetricUnit.Count, value=result.transitions)
    logger.info(
        "scored batch",
        records=len(records),
        leads=result.leads_scored,
        skipped=result.records_skipped,
        failed=len(result.failed_sequence_numbers),
    )
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in result.failed_sequence_numbers]}
