"""Rewrites the stream and bus samples in events/ from the API samples, so that they tell one story:

    .venv/bin/python -m local.samples

The API samples (a page view, a batch, an identify, the demo-request form of one visitor) are sent to the
functions against a fresh local AWS; what they store is events/score_stream.json (the records ScoreFunction
receives), what scoring then writes is events/publish_stream.json (the records PublishFunction receives),
and what that publishes is events/lead_stage_changed.json (the bus event, as any subscriber receives it)
and events/notify_sales.json (what NotifySalesFunction receives for it: the rule's reference to it). Replaying
the three in order against a running `make run` is one stage change: one notification. The STATE records
scoring writes are also events/account_stream.json (what AccountFunction receives: the lead rolled up into
its account), and everything the archive keeps of the story is events/archive_stream.json (what
ArchiveFunction receives), and the events and merge of the story are events/shadow_stream.json (what
ShadowFunction receives when a candidate model runs in shadow: the stack here runs the example candidate,
SHADOW_SAMPLE_MODEL). Last, the lead's
STATE is deleted as the TTL would delete it a year later: events/expire_stream.json (the record
ExpireFunction receives, which deletes the rest of the lead). Run it after a change to what the functions
store or to the scoring model; tests/integration/test_sample_events.py says when the samples are out of
date.
"""

import json
import logging
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from local.aws import clients, delivery_queue_name, provision
from local.environment import REGION, local_overrides
from local.events import as_delivered, as_ttl_removal, stream_records, target_input
from local.moto_server import LocalAws
from local.runner import AWS_HOST, STACK, create_demo_source
from local.template import ACCOUNT, REPO, Stack, load_stack
from local.workers import Worker

EVENTS = REPO / "events"
# In the order the visitor made them; the function that serves each.
API_SAMPLES = (
    ("TrackFunction", "track_page.json"),
    ("TrackFunction", "track_batch.json"),
    ("TrackFunction", "track_identify.json"),
    ("FormFunction", "form_urlencoded.json"),
)
STREAM_LABEL = "2026-11-24T04:53:00.000"  # the samples' stream, created just before their requests
SHADOW_SAMPLE_MODEL = "leadstream/scoring/candidates/sql_at_60.yaml"  # the shadow sample's candidate
_IDS = uuid.UUID("3b0c51c4-5c1e-4e8a-9d7e-6f0a8f0d2c11")  # namespace of the samples' made-up ids


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def _records(
    aws: dict[str, Any], stack: Stack, function: str, seen: set[str], by_ttl: bool = False
) -> list[dict[str, Any]]:
    """New records of the leads table's stream that `function`'s subscription lets through (`by_ttl`: as
    if the TTL made them), with the ids, times and stream ARN of the samples (the same on every run)."""
    table = stack.physical_name("LeadsTable")
    subscription = next(s for s in stack.streams if s.function == function and s.table == "LeadsTable")
    found = []
    for record in stream_records(aws, table):
        sequence = record["dynamodb"]["SequenceNumber"]
        if by_ttl and record["eventName"] == "REMOVE":
            record = as_ttl_removal(record)
        if sequence in seen or not subscription.matches(record):
            continue
        seen.add(sequence)
        keys = record["dynamodb"]["Keys"]
        record["eventID"] = uuid.uuid5(_IDS, f"{keys['pk']['S']}/{keys['sk']['S']}/{sequence}").hex
        if "NewImage" in record["dynamodb"]:
            image = record["dynamodb"]["NewImage"]
            at = image.get("at") or image.get("as_of") or image.get("merged_at")
        else:  # the TTL deletes an item when it expires
            at = record["dynamodb"]["OldImage"]["expires_at"]
        record["dynamodb"]["ApproximateCreationDateTime"] = int(float(at["N"]))
        record["eventSourceARN"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/{STREAM_LABEL}"
        found.append(record)
    return found


def _bus_events(aws: dict[str, Any], stack: Stack, queues: dict[str, str]) -> list[dict[str, Any]]:
    """The events on the bus that the 'lead became SQL' rule matched."""
    rule = next(r for r in stack.rules if r.function == "NotifySalesFunction")
    url = queues[delivery_queue_name(stack, rule.name)]
    events = []
    while messages := aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            event = as_delivered(json.loads(message["Body"]), REGION)
            event["id"] = str(uuid.uuid5(_IDS, event["detail"]["transition_id"]))
            event["time"] = event["detail"]["changed_at"][:19] + "Z"
            events.append(event)
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return events


def write(name: str, event: dict[str, Any]) -> None:
    (EVENTS / name).write_text(json.dumps(event, indent=2) + "\n")
    print(f"wrote events/{name}")


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as scratch:
        moto = LocalAws(ip_address=AWS_HOST, port=0, verbose=False)
        moto.start()
        try:
            host, port = moto.get_host_and_port()
            endpoint = f"http://{host}:{port}"
            overrides = local_overrides(region=REGION, notifications_file=Path(scratch) / "notes.jsonl")
            parameters = {
                "StageName": "local",
                "LocalAwsEndpoint": endpoint,
                "ShadowScoringModel": SHADOW_SAMPLE_MODEL,
            }
            stack = load_stack(STACK, REGION, parameters, overrides)
            aws = clients(endpoint, REGION)
            queues = provision(stack, aws)
            create_demo_source(stack, endpoint, ())
            workers = {name: Worker(stack.functions[name]) for name in stack.functions}
            try:
                for function, name in API_SAMPLES:
                    status = workers[function].invoke(json.dumps(sample(name)))["statusCode"]
                    if status >= 400:
                        print(f"events/{name} was refused by {function} ({status})", file=sys.stderr)
                        return 1
                seen: set[str] = set()
                scoring = {"Records": _records(aws, stack, "ScoreFunction", seen)}
                write("score_stream.json", scoring)
                workers["ScoreFunction"].invoke(json.dumps(scoring))
                rolling_up = {"Records": _records(aws, stack, "AccountFunction", seen)}
                write("account_stream.json", rolling_up)
                workers["AccountFunction"].invoke(json.dumps(rolling_up))
                publishing = {"Records": _records(aws, stack, "PublishFunction", seen)}
                write("publish_stream.json", publishing)
                workers["PublishFunction"].invoke(json.dumps(publishing))
                # everything so far that the archive keeps: the events, the merge, the stage changes
                write("archive_stream.json", {"Records": _records(aws, stack, "ArchiveFunction", set())})
                # and what a candidate in shadow rescores: the events and the merge
                write("shadow_stream.json", {"Records": _records(aws, stack, "ShadowFunction", set())})
                [changed] = _bus_events(aws, stack, queues)
                write("lead_stage_changed.json", changed)
                rule = next(r for r in stack.rules if r.function == "NotifySalesFunction")
                write("notify_sales.json", target_input(rule, changed, REGION))
                lead = "LEAD#" + changed["detail"]["lead_id"]
                key = {"pk": {"S": lead}, "sk": {"S": "STATE"}}
                aws["dynamodb"].delete_item(TableName=stack.physical_name("LeadsTable"), Key=key)
                expiring = {"Records": _records(aws, stack, "ExpireFunction", seen, by_ttl=True)}
                write("expire_stream.json", expiring)
            finally:
                for worker in workers.values():
                    worker.stop()
        finally:
            moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
