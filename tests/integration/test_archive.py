"""The event archive: ArchiveFunction writes the leads table's history (events, identity changes, stage
changes) to the archive bucket from the table's stream, as template.yaml subscribes it; the archive reader
reads it back; `people erase` takes a person's records out of it."""

import contextlib
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from leadstream.archive.reader import ArchiveReader
from leadstream.archive.records import ArchivedRecord
from leadstream.archive.store import ArchiveStore
from leadstream.platform import aws as aws_clients

from local.template import Stack
from tests.builders import LambdaContext, page_view, stream_records
from tests.integration.conftest import lead_of
from tests.integration.test_privacy import EMAIL, call, cli, jane
from tests.integration.test_scoring_flow import visit_and_request_demo

CTX = LambdaContext()
TODAY = datetime.now(UTC).date()


@pytest.fixture
def history(aws: dict[str, Any], leads_table: str, stack: Stack) -> Any:
    """Every stream record of the leads table so far that ArchiveFunction's template filter lets through
    (a function: each call reads afresh)."""
    subscription = next(sub for sub in stack.streams if sub.function == "ArchiveFunction")

    def read() -> list[dict[str, Any]]:
        return [r for r in stream_records(aws, leads_table) if subscription.matches(r)]

    return read


def read_back(
    bucket: str, since: date = TODAY - timedelta(days=1), until: date = TODAY
) -> list[ArchivedRecord]:
    return list(ArchiveReader(ArchiveStore(bucket)).records(since, until))


def objects(aws: dict[str, Any], bucket: str) -> dict[str, bytes]:
    s3 = aws["s3"]
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def archived(archive: Any, records: list[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = archive.lambda_handler({"Records": records}, CTX)
    return result


@contextlib.contextmanager
def s3_refuses_puts() -> Iterator[None]:
    """S3 answers every PutObject of this process's functions with a 503 (a fault at their one client)."""
    client = aws_clients.client("s3")

    def refuse(**kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "reduce your request rate"}}, "PutObject")

    client.meta.events.register("before-call.s3.PutObject", refuse)
    try:
        yield
    finally:
        client.meta.events.unregister("before-call.s3.PutObject", refuse)


def scored(score: Any, new_records: Any, filters: Any) -> None:
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }


def test_a_visitors_journey_is_archived_and_read_back_in_order(
    archive, track, form, score, new_records, filters, history, bucket, aws
):
    visit_and_request_demo(track, form, "anon-1", EMAIL)
    scored(score, new_records, filters)

    assert archived(archive, history()) == {"batchItemFailures": []}

    records = read_back(bucket)
    lead = lead_of("anon-1")
    events = [r for r in records if r.kind == "event" and r.lead_id == lead]
    assert [r.fields.get("path") for r in events if r.fields["type"] == "page"] == [
        "/",
        "/blog/speed-to-lead",
        "/pricing",
    ]
    assert any(r.fields["type"] == "form" and r.fields["form_id"] == "demo-request" for r in events)
    assert all(r.fields["touch"]["channel"] for r in events if r.fields["type"] == "page")
    transitions = [r for r in records if r.kind == "transition"]
    assert transitions
    assert transitions[-1].fields["to_stage"] == "SQL"
    assert all(t.fields["model"] >= 1 and t.fields["score"] > 0 for t in transitions)
    assert [r.stored for r in records] == sorted(r.stored for r in records)
    # the objects: gzipped JSON lines under events/leadhash=NN/dt=<today>/; no contact details in them
    stored = objects(aws, bucket)
    assert stored
    assert all(f"/dt={TODAY.isoformat()}/" in key and key.endswith(".json.gz") for key in stored)
    text = "".join(gzip.decompress(body).decode() for body in stored.values())
    assert EMAIL not in text
    assert "Jane Doe" not in text
    assert "203.0.113" not in text
    assert sum(len(gzip.decompress(b).decode().splitlines()) for b in stored.values()) == len(records)


def test_merges_are_archived_under_the_lead_merged(
    archive, track, form, score, new_records, filters, history, bucket
):
    jane(track, form, score, new_records, filters)  # her second device's lead is merged into her first's

    assert archived(archive, history()) == {"batchItemFailures": []}

    merges = [r for r in read_back(bucket) if r.kind == "merge"]
    assert (lead_of("anon-2"), lead_of("anon-1")) in {(m.lead_id, m.fields["into"]) for m in merges}


def test_a_batch_delivered_again_rewrites_the_same_objects(
    archive, track, form, score, new_records, filters, history, bucket, aws
):
    visit_and_request_demo(track, form, "anon-1", EMAIL)
    scored(score, new_records, filters)
    batch = history()
    assert archived(archive, batch) == {"batchItemFailures": []}
    first = objects(aws, bucket)

    assert archived(archive, batch) == {"batchItemFailures": []}

    assert objects(aws, bucket) == first  # the same keys, byte for byte
    assert len(read_back(bucket)) == len(batch)


def test_a_batch_split_after_it_was_written_is_read_back_once(archive, track, history, bucket):
    for path in ("/", "/pricing", "/docs", "/blog"):
        call(track, "/v1/page", page_view("anon-1", path))
    batch = history()
    assert archived(archive, batch) == {"batchItemFailures": []}

    # Lambda bisects a batch whose invocation failed (a timeout after its objects were written)
    assert archived(archive, batch[:2]) == {"batchItemFailures": []}
    assert archived(archive, batch[2:]) == {"batchItemFailures": []}

    records = read_back(bucket)
    assert [r.fields["path"] for r in records] == ["/", "/pricing", "/docs", "/blog"]


def test_a_record_it_cannot_archive_fails_from_there_and_what_came_before_is_kept(
    archive, track, score, new_records, filters, history, leads_table, aws, bucket
):
    call(track, "/v1/page", page_view("anon-1", "/"))
    call(track, "/v1/page", page_view("anon-1", "/pricing"))
    scored(score, new_records, filters)
    good = history()
    # one the subscription would not have let through: scoring's STATE write
    stray = next(r for r in stream_records(aws, leads_table) if r["dynamodb"]["Keys"]["sk"]["S"] == "STATE")
    batch = [good[0], stray, good[1]]

    result = archived(archive, batch)

    seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
    assert result == {"batchItemFailures": [{"itemIdentifier": s} for s in seqs[1:]]}
    assert [r.fields["path"] for r in read_back(bucket)] == ["/"]
    # the retry starts at the failed record; once it is parked, the rest is archived and nothing twice
    assert archived(archive, [good[1]]) == {"batchItemFailures": []}
    assert [r.fields["path"] for r in read_back(bucket)] == ["/", "/pricing"]


def test_when_s3_fails_the_whole_batch_is_retried_and_nothing_is_lost(archive, track, history, bucket):
    for path in ("/", "/pricing"):
        call(track, "/v1/page", page_view("anon-1", path))
    batch = history()

    with s3_refuses_puts():
        result = archived(archive, batch)

    assert result == {
        "batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in batch]
    }
    assert archived(archive, batch) == {"batchItemFailures": []}  # Lambda's retry
    assert [r.fields["path"] for r in read_back(bucket)] == ["/", "/pricing"]


def test_the_reader_reads_the_days_asked_for(archive, track, history, bucket):
    call(track, "/v1/page", page_view("anon-1", "/"))
    assert archived(archive, history()) == {"batchItemFailures": []}

    assert read_back(bucket, TODAY, TODAY)
    assert read_back(bucket, TODAY - timedelta(days=3), TODAY - timedelta(days=1)) == []
    assert read_back(bucket, TODAY + timedelta(days=1), TODAY + timedelta(days=2)) == []


def test_export_shows_her_archived_records_and_erase_removes_them_and_keeps_everyone_elses(
    archive, track, form, score, new_records, filters, history, bucket, aws, moto_endpoint, capsys
):
    jane(track, form, score, new_records, filters)  # two devices, merged; identified; SQL
    visit_and_request_demo(track, form, "bob-1", "bob@beta.co.uk")
    for n in range(20):  # others, spread over the lead hashes
        call(track, "/v1/page", page_view(f"visitor-{n}", "/"))
    scored(score, new_records, filters)
    assert archived(archive, history()) == {"batchItemFailures": []}
    before = read_back(bucket)
    hers = {lead_of("anon-1"), lead_of("anon-2"), lead_of(user_id="u-1"), lead_of(email=EMAIL)}
    assert {r.lead_id for r in before} & hers
    code, out = cli(moto_endpoint, capsys, "export", EMAIL)
    assert code == 0
    exported = json.loads(out)["items"]["archived_records"]
    assert sorted(e["item"] for e in exported) == sorted(r.item for r in before if r.leads() & hers)

    code, out = cli(moto_endpoint, capsys, "erase", EMAIL, "--yes", "--json")

    assert code == 0
    after = read_back(bucket)
    assert not [r for r in after if r.leads() & hers]
    assert after == [r for r in before if not (r.leads() & hers)]
    assert json.loads(out)["removed"]["archived_records"] == len(before) - len(after)
    assert any(r.lead_id == lead_of("bob-1") and r.kind == "transition" for r in after)


def test_a_record_stored_just_before_her_erase_is_not_archived_after_it(
    archive, track, form, score, new_records, filters, history, bucket, moto_endpoint, capsys
):
    jane(track, form, score, new_records, filters)
    call(track, "/v1/page", page_view("bob", "/"))
    in_flight = history()  # still in the stream when the erase runs: the batching window is a minute

    assert cli(moto_endpoint, capsys, "erase", EMAIL, "--yes")[0] == 0
    assert archived(archive, in_flight) == {"batchItemFailures": []}

    records = read_back(bucket)
    assert {r.lead_id for r in records} == {lead_of("bob")}


def test_the_archive_sample_is_archived_whole(archive, bucket):
    sample = json.loads((Path(__file__).resolve().parents[2] / "events" / "archive_stream.json").read_text())
    stored = {r["dynamodb"]["NewImage"].get("rcv", {}).get("N") for r in sample["Records"]}
    days = sorted(datetime.fromtimestamp(float(s), UTC).date() for s in stored if s)

    assert archived(archive, sample["Records"]) == {"batchItemFailures": []}

    records = read_back(bucket, days[0] - timedelta(days=1), days[-1] + timedelta(days=1))
    assert len(records) == len(sample["Records"])
    assert {r.kind for r in records} == {"event", "merge", "transition"}
