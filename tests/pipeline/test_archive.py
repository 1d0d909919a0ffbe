"""Under `make run`, the event archive lands in the local S3 as in the cloud, and the same reader reads it."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from leadstream.archive.reader import ArchiveReader
from leadstream.archive.records import ArchivedRecord
from leadstream.archive.store import ArchiveStore
from leadstream.identity.identifiers import device_lead, identifiers

from local.aws import clients
from local.runner import STACK
from local.template import load_stack
from tests.pipeline.harness import Runner, eventually
from tests.pipeline.test_pipeline import ANON, visitor_journey

pytestmark = pytest.mark.slow


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    run = Runner(tmp_path)
    run.wait_ready()
    yield run
    run.stop()


def archived(run: Runner) -> list[ArchivedRecord]:
    bucket = load_stack(STACK, "eu-west-1", {}, {}).physical_name("ArchiveBucket")
    store = ArchiveStore(bucket, clients(run.endpoint, "eu-west-1")["s3"])
    today = datetime.now(UTC).date()
    return list(ArchiveReader(store).records(today - timedelta(days=1), today))


def test_a_visitors_journey_lands_in_the_local_archive(runner: Runner):
    assert visitor_journey(runner, "form-1") == [200, 200, 303]
    lead = device_lead(identifiers(ANON, None, None))

    def sql_archived() -> list[ArchivedRecord] | None:
        records = archived(runner)
        mine = [r for r in records if r.lead_id == lead]
        return mine if any(r.kind == "transition" and r.fields["to_stage"] == "SQL" for r in mine) else None

    records = eventually(sql_archived)
    assert records, runner.log_path.read_text()
    events = [r for r in records if r.kind == "event"]
    assert [r.fields["path"] for r in events if r.fields["type"] == "page"] == [
        "/demo/",
        "/demo/blog/speed-to-lead.html",
        "/demo/pricing.html",
    ]
    assert events[0].fields["touch"]["channel"] == "email"
    assert any(r.fields["type"] == "form" for r in events)
    assert [r.fields["to_stage"] for r in records if r.kind == "transition"][-1] == "SQL"

    # the website retries every request, each with its message id (a form without one is a new submission
    # in another minute, and a slow machine can cross one): nothing is archived twice
    assert visitor_journey(runner, "form-1") == [200, 200, 303]
    assert len([r for r in archived(runner) if r.lead_id == lead]) == len(records)
