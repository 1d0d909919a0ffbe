"""What the event archive costs: S3 PUTs per stream batch and bytes stored per event, gzipped, measured.

    .venv/bin/python -m bench.archive [--visitors 120]

The stack runs as in bench.costs (every function in a Lambda-like process of its own, against moto in
server mode, wired as template.yaml wires them). Visitors browse as the cost bench's do (1 to 8 page
views each, from search, a paid campaign, a newsletter or direct); every 4th identifies with a work
e-mail, every 8th then requests a demo (scoring moves them, identity merges a second device of every 16th).
The other stream consumers run as the records arrive; ArchiveFunction gets the history at the end, in full
batches (its BatchSize, 1,000 records: a busy stack's case; a quiet one writes smaller batches a minute
apart). Counted from what was
archived: the objects and their gzipped bytes, ArchiveFunction's PutObject calls per batch, and the records
of each kind, read back with the archive reader.
"""

import argparse
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from leadstream.archive.reader import ArchiveReader
from leadstream.archive.store import ArchiveStore

from bench.costs import Pipeline, Workers, _contact, page_view, start_workers
from bench.lambdaenv import LocalAws

COMMAND = ".venv/bin/python -m bench.archive"
# S3 Standard list prices, us-east-1 (as docs/performance.md prices everything): per 1,000 PUTs, per GB-month
PUT_PER_1000 = 0.005
GB_MONTH = 0.023


def _send(pipeline: Pipeline, path: str, body: dict[str, Any]) -> None:
    """A request as a website sends it: retried (the same body, so the same messageId) after a 503, which
    a slow machine's moto causes now and then."""
    for attempt in range(3):
        try:
            pipeline.request("POST", path, body)
            return
        except RuntimeError as exc:
            if "answered 503" not in str(exc) or attempt == 2:
                raise


class ArchivingLater(Pipeline):
    """The pipeline, with ArchiveFunction's records held back: `settle` runs everything else as it arrives
    (small batches: scoring keeps up, as deployed), `archive` hands the history to ArchiveFunction in
    batches of its BatchSize, as a busy stream does. A batch a function fails is delivered again, as Lambda
    does (every consumer is idempotent)."""

    def __init__(self, local: LocalAws, workers: Workers) -> None:
        super().__init__(local, workers)
        self.held: list[dict[str, Any]] = []

    def stream(self, function: str, records: list[dict[str, Any]], batch_size: int) -> None:
        if function == "ArchiveFunction":
            self.held += records
        else:
            super().stream(function, records, batch_size)

    def deliver(self, function: str, batch: list[dict[str, Any]]) -> None:
        for attempt in range(3):
            try:
                self.invoke(function, {"Records": batch})
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def archive(self) -> int:
        size = next(s.batch_size for s in self.stack.streams if s.function == "ArchiveFunction")
        held, self.held = self.held, []
        for start in range(0, len(held), size):
            self.deliver("ArchiveFunction", held[start : start + size])
        return len(held)


def journeys(pipeline: Pipeline, visitors: int) -> None:
    for number in range(visitors):
        visitor = f"visitor-{uuid.uuid4()}"
        for view in range(1 + number % 8):
            _send(pipeline, "/v1/page", page_view(visitor, number, view))
        if number % 4 == 0:
            contact = _contact(number)
            identify = {"type": "identify", "anonymousId": visitor, "traits": contact}
            _send(pipeline, "/v1/identify", identify)
            if number % 16 == 0:  # a second device of theirs: identity merges it
                other = f"visitor-{uuid.uuid4()}"
                _send(pipeline, "/v1/page", page_view(other, number, 1))
                _send(pipeline, "/v1/identify", {"anonymousId": other, "traits": contact})
        if number % 8 == 0:
            form = {**_contact(number), "anonymousId": visitor, "pagePath": "/request-demo"}
            _send(pipeline, "/v1/forms/demo-request", form)
        pipeline.settle()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=120)
    args = parser.parse_args(argv)

    local = LocalAws()
    try:
        local.fresh()
        workers = start_workers(local, lambda line: print(line, file=sys.stderr))
        try:
            pipeline = ArchivingLater(local, workers)
            journeys(pipeline, args.visitors)
            pipeline.settle()
            pipeline.archive()
            ledger = pipeline.take()
        finally:
            workers.stop()
        bucket = local.stack.physical_name("ArchiveBucket")
        s3 = local.aws["s3"]
        sizes = [o["Size"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        today = datetime.now(UTC).date()
        store = ArchiveStore(bucket, s3)
        records = list(ArchiveReader(store).records(today - timedelta(days=1), today))
    finally:
        local.stop()

    batches = [i for i in ledger if i.function == "ArchiveFunction"]
    puts = sum(1 for i in batches for c in i.calls if c["service"] == "s3" and c["op"] == "PutObject")
    gets = sum(
        1 for i in batches for c in i.calls if c["service"] == "dynamodb" and c["op"] == "BatchGetItem"
    )
    billed_ms = sum(i.billed_ms for i in batches)
    kinds = Counter(r.kind for r in records)
    stored = sum(sizes)
    per_record = stored / len(records)
    per_million_puts = puts / len(records) * 1_000_000
    print(f"{COMMAND} --visitors {args.visitors}")
    print(f"records archived: {len(records)} ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))})")
    print(
        f"ArchiveFunction batches: {len(batches)}, PutObject calls: {puts} ({puts / len(batches):.1f} each)"
    )
    print(
        f"ArchiveFunction: {billed_ms / len(batches):.0f} ms billed a batch, "
        f"{gets / len(batches):.1f} BatchGetItem a batch (the tombstone check)"
    )
    print(f"objects: {len(sizes)}, {stored} bytes gzipped: {per_record:.1f} bytes a record")
    print(
        f"per 1M records: {per_million_puts:,.0f} PUTs (${per_million_puts / 1000 * PUT_PER_1000:.3f}), "
        f"{per_record:.0f} MB stored (${per_record / 1000 * GB_MONTH:.4f} a month)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
