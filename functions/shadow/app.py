"""ShadowFunction: a candidate scoring model (the ShadowScoringModel parameter) scores the people whose
events the leads table stream brings, beside the live model; what it would do is recorded, never acted on.

Records are grouped per person (each recomputed once per batch), so this handler reports partial batch
failures itself, as ScoreFunction does."""

from datetime import timedelta

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from leadstream.platform.settings import ShadowSettings
from leadstream.platform.stream import BatchReport, batch_handler
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


def shadow_score(records: list[DynamoDBRecord]) -> BatchReport:
    result = shadow.batch(records)
    return BatchReport(
        result.failed_sequence_numbers,
        facts={
            "people": result.people,
            "written": result.written,
            "would_be": result.would_be,
            "candidate": candidate.version,
        },
        metrics={"ShadowPeopleScored": result.people, "ShadowStageChanges": result.would_be},
    )


lambda_handler = batch_handler("shadow-scored batch", shadow_score)
