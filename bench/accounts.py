"""What one lead change costs its account, at 1 and at 1,000 members: counted from the AWS calls made.

    .venv/bin/python -m bench.accounts

AccountFunction runs in a Lambda-like process of its own (bench.costs.Worker: its template environment,
tracing and metrics on) against moto in server mode, with every call recorded by botocore hooks
(bench.awscalls: requests, and the units DynamoDB bills for them). An account is filled with members as
the stack fills it: each lead's PROFILE names its account and the membership exists (what ingest writes on
identify), then AccountFunction receives the leads' STATE records in batches of 100 (the template's
BatchSize) and rolls them up. Then one more lead joins and scores, and its one STATE record is measured.

Times are not reported: moto backs a whole table up (a deep copy) for every item of every transaction, so
its time grows with the table; DynamoDB's does not. The bench's moto backs each table up once per
transaction instead (the same rollback), or filling 1,000 members would outlast the functions' timeouts.
"""

import contextlib
import copy
import json
import statistics
import subprocess
import sys
import time
import types
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from moto.dynamodb import models as moto_dynamodb

from bench.costs import Invocation, Worker
from bench.lambdaenv import LocalAws

COMMAND = ".venv/bin/python -m bench.accounts"
SIZES = (1, 20, 1000)  # 20: the board (the strongest leads an account keeps) is full from here on
SAMPLES = 5  # new leads measured per size (the median is reported; they are all the same)
DAY = 86400.0
_sequence = iter(range(10**12, 10**13))


def _state_record(lead: str, version: int, points: float, at: float) -> dict[str, Any]:
    """A STATE record as scoring writes it (an INSERT, through AccountFunction's filter)."""
    image = {
        "pk": {"S": f"LEAD#{lead}"},
        "sk": {"S": "STATE"},
        "version": {"N": str(version)},
        "behaviour": {"N": str(points)},
        "as_of": {"N": str(at)},
        "last_seen": {"N": str(at)},
        "stage": {"S": "MQL"},
        "known": {"BOOL": True},
        "fit": {"M": {"work_email": {"N": "10"}}},
    }
    return {
        "eventID": f"bench-{lead}-{version}",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": int(at),
            "Keys": {"pk": image["pk"], "sk": image["sk"]},
            "NewImage": image,
            "SequenceNumber": str(next(_sequence)),
            "SizeBytes": 300,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/leads/stream/bench",
    }


def _join(local: LocalAws, domain: str, lead: str, title: str, at: float) -> None:
    """What ingest writes when a lead identifies with a work e-mail: its PROFILE and the membership."""
    ddb = local.aws["dynamodb"]
    leads, accounts = local.stack.physical_name("LeadsTable"), local.stack.physical_name("AccountsTable")
    ddb.put_item(
        TableName=leads,
        Item={
            "pk": {"S": f"LEAD#{lead}"},
            "sk": {"S": "PROFILE"},
            "title": {"S": title},
            "account": {"S": domain},
            "accounts": {"SS": [domain]},
        },
    )
    ddb.put_item(
        TableName=accounts,
        Item={
            "pk": {"S": f"ACCOUNT#{domain}"},
            "sk": {"S": f"LEAD#{lead}"},
            "lead_id": {"S": lead},
            "joined_at": {"N": str(at)},
        },
    )


TITLES = ("CFO", "CTO", "VP Marketing", "Engineering Manager", "Software Engineer", "Analyst")


def _fill(local: LocalAws, worker: Worker, domain: str, size: int, at: float) -> None:
    records = []
    for n in range(size):
        lead = f"{domain.split('.')[0]}-{n:05d}"
        _join(local, domain, lead, TITLES[n % len(TITLES)], at)
        records.append(_state_record(lead, 1, 5.0 + (n % 50), at))
    for start in range(0, len(records), 100):
        _check(worker.invoke({"Records": records[start : start + 100]}, costing=False))


def _check(invocation: Invocation) -> None:
    if invocation.response != {"batchItemFailures": []}:
        raise RuntimeError(f"AccountFunction failed records: {invocation.response}")


def _measure(local: LocalAws, worker: Worker, domain: str, n: int, at: float) -> dict[str, float]:
    lead = f"{domain.split('.')[0]}-new-{n}"
    _join(local, domain, lead, "Director of Engineering", at)
    invocation = worker.invoke({"Records": [_state_record(lead, 1, 40.0, at)]})
    _check(invocation)
    ops = Counter(c["op"] for c in invocation.calls if c["service"] == "dynamodb")
    return {
        "requests": float(sum(ops.values())),
        "BatchGetItem": float(ops["BatchGetItem"]),
        "TransactWriteItems": float(ops["TransactWriteItems"]),
        "read units": sum(units for c in invocation.calls for _t, _k, units in c["reads"]),
        "write units": sum(units for c in invocation.calls for _t, _k, units in c["writes"]),
    }


@contextlib.contextmanager
def _each_table_backed_up_once() -> Iterator[None]:
    """moto's TransactWriteItems deep-copies a table once per item it writes there (for the rollback):
    within one call, the copies of one table are the same, so make each once."""
    original = moto_dynamodb.DynamoDBBackend.transact_write_items

    def transact(self: Any, transact_items: list[dict[str, Any]]) -> None:
        copies: dict[int, Any] = {}

        def once(value: Any, memo: Any = None) -> Any:
            if id(value) not in copies:
                copies[id(value)] = copy.deepcopy(value)
            return copies[id(value)]

        vars(moto_dynamodb)["copy"] = types.SimpleNamespace(deepcopy=once)
        try:
            original(self, transact_items)
        finally:
            vars(moto_dynamodb)["copy"] = copy

    moto_dynamodb.DynamoDBBackend.transact_write_items = transact  # type: ignore[method-assign]
    try:
        yield
    finally:
        moto_dynamodb.DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]


Row = dict[str, float]


def measure(progress: Callable[[str], None] = lambda message: None) -> dict[int, Row]:
    """Per account size: the median cost of one new lead's change, in requests and units."""
    rows: dict[int, Row] = {}
    with _each_table_backed_up_once():
        local = LocalAws()
        try:
            local.fresh()
            worker = Worker(local.stack, local.stack.functions["AccountFunction"], local.scratch_dir("logs"))
            try:
                at = time.time() - DAY
                for size in SIZES:
                    progress(f"accounts: {size} members")
                    domain = f"size{size}.example"
                    _fill(local, worker, domain, size, at)
                    worker.invoke({"Records": [_state_record("warm-up", 1, 1.0, at)]}, costing=False)
                    samples = [_measure(local, worker, domain, n, at + 60 * (n + 1)) for n in range(SAMPLES)]
                    rows[size] = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
            finally:
                worker.stop()
        finally:
            local.stop()
    return rows


def section(rows: dict[int, Row]) -> list[str]:
    lines = [
        "## Accounts: one lead change, at 1 and at 1,000 members",
        "",
        f"`{COMMAND}` (also part of `make bench`). AccountFunction in its Lambda-like process; an account "
        "filled as the stack fills it (each lead's PROFILE names the account, the membership exists, "
        "AccountFunction rolls the leads' STATE records up in batches of 100); then one more lead joins and "
        f"its one STATE record is measured ({SAMPLES} leads per size, median). Requests and units counted "
        "by the botocore hooks, as above. From 20 members the account's board (its strongest leads, "
        "`engagement.keep`) is full and its STATE stops growing.",
        "",
        "| members | DynamoDB requests | BatchGetItem | TransactWriteItems | read units | write units |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size, row in rows.items():
        lines.append(
            f"| {size:,} | {row['requests']:g} | {row['BatchGetItem']:g} | {row['TransactWriteItems']:g} "
            f"| {row['read units']:g} | {row['write units']:g} |"
        )
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    as_json = "--json" in (sys.argv[1:] if argv is None else argv)
    started = time.perf_counter()
    rows = measure(lambda message: print(message, file=sys.stderr, flush=True))
    if as_json:  # for make bench, which runs this in a process of its own
        print(json.dumps({str(size): row for size, row in rows.items()}))
        return 0
    print(f"bench.accounts: {time.perf_counter() - started:.0f} s\n")
    print("\n".join(section(rows)))
    return 0


def measure_apart() -> dict[int, Row]:
    """`measure` in a process of its own (`--json`): its local AWS is not the one this process's cached
    clients already point at. Progress on stderr, as it goes."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.accounts", "--json"], stdout=subprocess.PIPE, check=True, text=True
    )
    return {int(size): row for size, row in json.loads(done.stdout.strip().splitlines()[-1]).items()}


if __name__ == "__main__":
    sys.exit(main())
