"""ScoreFunction: applies the scoring model to new behaviour events from the leads table stream.

Records are grouped per lead (one read and one write per lead per batch), so this handler reports
partial batch failures itself instead of going record by record through BatchProcessor.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.domain.scoring import DEFAULT_MODEL_PATH, ScoringModel
from leadstream.observability import logger, metrics, tracer
from leadstream.services.scoring import score_batch
from leadstream.settings import ScoringSettings
from leadstream.store import LeadRepository

settings = ScoringSettings.from_env()
model = ScoringModel.load(settings.scoring_model or DEFAULT_MODEL_PATH)
repo = LeadRepository(settings.leads_table, settings.region)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records", [])
    result = score_batch(records, repo, model)
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
