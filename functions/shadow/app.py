"""ShadowFunction: a candidate scoring model (the ShadowScoringModel parameter) scores the people whose
events the leads table stream brings, beside the live model; what it would do is recorded, never acted on.

Records are grouped per person (each recomputed once per batch), so this handler reports partial batch
failures itself, as ScoreFunction does."""

from datetime import timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from leadstream.platform.observability import logger, metrics, tracer
from leadstream.platform.settings import ShadowSettings
from leadstream.scoring.model_file import load_model
from leadstream.scoring.rebuild import Rebuild
from leadstream.scoring.repository import ScoreRepository
from leadstream.shadow.batch import ShadowScoring
from leadstream.shadow.repository import ShadowRepository
from leadstream.tracking.repository import EventRepository

settings = ShadowSettings.from_env()
candidate = load_model(settings.shadow_scoring_model)
live = load_model(settings.scoring_model)
if candidate.version == live.version:  # its records would be mistaken for the live model's
    raise ValueError(
        f"the candidate model {settings.shadow_scoring_model.name} has the live model's version "
        f"{live.version}: give it a version of its own"
    )
# Reads the live STATE and stored events (the rebuild's repositories; it writes nothing through them)
reader = Rebuild(EventRepository(settings.leads_table), ScoreRepository(settings.leads_table), live)
retention = timedelta(days=settings.lead_retention_days)
shadow = ShadowScoring(reader, ShadowRepository(settings.leads_table), candidate, retention)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = list(DynamoDBStreamEvent(event).records)
    result = shadow.batch(records)
    metrics.add_metric(name="ShadowPeopleScored", unit=MetricUnit.Count, value=result.people)
    metrics.add_metric(name="ShadowStageChanges", unit=MetricUnit.Count, value=result.would_be)
    logger.info(
        "shadow-scored batch",
        records=len(records),
        people=result.people,
        written=result.written,
        would_be=result.would_be,
        candidate=candidate.version,
        failed=len(result.failed_sequence_numbers),
    )
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in result.failed_sequence_numbers]}
