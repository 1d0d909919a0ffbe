"""ScoreFunction: applies the scoring model to new behaviour events from the leads table stream.

Records are grouped per lead (one read for the batch, one write per lead), so this handler reports
partial batch failures itself instead of going record by record through BatchProcessor.
"""

from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from leadstream.accounts.model_file import load_account_model
from leadstream.accounts.repository import AccountLedger, AccountRepository
from leadstream.platform.settings import ScoreSettings
from leadstream.platform.stream import BatchReport, batch_handler
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
    lambda: (
        AccountFacts(
            AccountLedger(settings.accounts_table, settings.leads_table),
            AccountRepository(settings.accounts_table),
            load_account_model(settings.account_model),
        ).of_leads
    ),
)
events = EventRepository(settings.leads_table)
scores = ScoreRepository(settings.leads_table)


def score(records: list[DynamoDBRecord]) -> BatchReport:
    result = score_batch(records, events, scores, model, predict)
    return BatchReport(
        result.failed_sequence_numbers,
        facts={"leads": result.leads_scored, "skipped": result.records_skipped},
        metrics={
            "LeadsScored": result.leads_scored,
            "ReplayedRecordsSkipped": result.records_skipped,
            "StageChanges": result.transitions,
        },
    )


lambda_handler = batch_handler("scored batch", score)
