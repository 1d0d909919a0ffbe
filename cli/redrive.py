"""`python -m cli redrive <queue> [--dry-run]`: what a failures queue holds, and its replay.

    python -m cli redrive PublishFailuresQueue --dry-run     what is parked: count, oldest, why
    python -m cli redrive PublishFailuresQueue               replay it; only what still fails stays

A message is deleted only once its work succeeded; the exit status is 1 while anything stays parked.

- NotifyFailuresQueue: each message holds a reference to a stage change (transition and lead ids, no personal
  data); it is handed to NotifySalesFunction again, which reads the card from the leads table (idempotent on
  the transition id and channel: a channel that already succeeded is not repeated). A person erased since
  has nothing left to send: the message is dropped, and the command says so.
- PublishFailuresQueue: a message names only a stream range, which the stream forgets after 24 hours. The
  work is re-derived from durable state instead: every stage change not yet published (the TRANS# items in
  the sparse `Unpublished` index) goes through PublishFunction again (idempotent on the transition id: a
  change already on the bus is not published twice). The messages are deleted once none is left.
- ScoreFailuresQueue: a message names a stream range and when its records arrived. The events stored in
  that window (their `rcv`, a minute either side) name the leads concerned (a merged lead: the lead that
  absorbed it); each is rebuilt from all its stored events, in this process, against the leads table
  (scoring.rebuild). Finding them is one Scan of the leads table for all the messages together, with a
  filter: it reads, and is billed for, the whole table (eventually consistent: about 131,000 read units per
  GB, a few cents on demand), and reports its progress on stderr. A message is deleted once every lead it
  concerns was rebuilt; a window whose events are all gone (expired, or the person erased) has nothing left
  to rebuild, and is deleted saying so.
- AccountFailuresQueue: a message names a stream range of either table. Every lead's current STATE and every
  account's PROFILE go through AccountFunction again (a member mark makes a change already counted a no-op),
  then every account event (ATRANS#) still `unpublished` through PublishFunction. One Scan of each table.
- ArchiveFailuresQueue: a message names a stream range and when its records arrived. The history items
  stored in that window (a minute either side) are found in the leads table: behaviour events by when they
  were stored (`rcv`), stage changes by when they happened or were published (or not yet published),
  merges by when they were made or undone, hand-overs by when they happened. One Scan of the leads table for
  all the messages together (billed for the whole table, progress on stderr). They go through
  ArchiveFunction again as the stream records they were (a merge undone as its MODIFY too), with sequence
  numbers of this run, so no object written before is overwritten; a record archived already is the same
  record again, which readers drop (its identity). The messages are deleted once all of it succeeded.
- ShadowFailuresQueue (shadow mode on): a message names a stream range, as ScoreFailuresQueue's. The leads
  concerned are found the same way (one Scan of the leads table for the events stored in its window); each
  person goes through ShadowFunction again, named by a record of each of their leads (it rescores a person
  from all their stored events: idempotent). A message is deleted once each of its people succeeded.
- ExpireFailuresQueue: a message names TTL deletions of STATE items, which are gone. The leads concerned are
  the partitions without a STATE whose newest item is over a day old; each is handed to ExpireFunction as
  the TTL's REMOVE record. One Scan of the leads table.

Locally the functions run in this process against make run's AWS; with --stack they are invoked in Lambda.
The score rebuild runs in this process either way, with the scoring model of this checkout.
"""

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

import boto3
from botocore.exceptions import ClientError
from leadstream.scoring.model_file import load_model
from leadstream.scoring.rebuild import Rebuild
from leadstream.scoring.repository import ScoreRepository
from leadstream.tracking.repository import EventRepository

from cli import target as targets

QUEUES = {
    "ScoreFailuresQueue": "ScoreFunction",
    "PublishFailuresQueue": "PublishFunction",
    "NotifyFailuresQueue": "NotifySalesFunction",
    "AccountFailuresQueue": "AccountFunction",
    "ExpireFailuresQueue": "ExpireFunction",
    "ArchiveFailuresQueue": "ArchiveFunction",
    "ShadowFailuresQueue": "ShadowFunction",
}
# A lead with no STATE whose newest item is older than this is one whose STATE the TTL deleted (a new lead
# has its STATE within seconds; a lead whose scoring is parked has events that keep it for months).
SETTLED = timedelta(days=1)
TTL_SERVICE = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
# When a lead's item was written, or until when an event keeps its lead (privacy.expiry's WRITTEN_AT too)
TIMES = ("lead_expires", "updated_at", "linked_at", "joined_at", "at", "merged_at")
ROLL_UP_BATCH = 100  # stream records per AccountFunction invocation (its event source's BatchSize)
ARCHIVE_BATCH = 1000  # stream records per ArchiveFunction invocation (its event source's BatchSize)
# A history item's times that tell when the table stored it (or just before): per kind of sort key
ARCHIVE_TIMES = {
    "EVT#": ("rcv",),
    "TRANS#": ("at", "published_at"),
    "MERGE#": ("merged_at", "undone_at"),
    "HELD#": ("at",),
}
HOLD_SECONDS = 300  # a message received for a replay stays invisible this long (then it comes back)
WINDOW_MARGIN = timedelta(minutes=1)  # around a parked range's arrival times: an event is stored just before
# What NotifySalesFunction is handed (the rule's InputTransformer): a stage change's ids, nothing personal.
NOTIFY_REFERENCE = ("transition_id", "lead_id", "from_stage", "to_stage", "changed_at")

Invoke = Callable[[str, dict[str, Any]], Any]  # (function logical id, event) -> response; raises on error


class ReplayFailed(Exception):
    """The function failed, or reported records as failed."""


@dataclass(frozen=True)
class Parked:
    message_id: str
    receipt: str
    sent_at: float  # epoch seconds
    body: dict[str, Any]
    attributes: dict[str, str]

    def reason(self) -> str:
        context = self.body.get("requestContext") or {}
        condition = context.get("condition") or self.attributes.get("ERROR_CODE") or "unknown"
        error = (self.body.get("responsePayload") or {}).get("errorMessage") or self.attributes.get(
            "ERROR_MESSAGE", ""
        )
        batch = self.body.get("DDBStreamBatchInfo")
        if batch:
            error = (
                f"{batch.get('batchSize')} record(s) of shard {batch.get('shardId')}, "
                f"{batch.get('startSequenceNumber')}..{batch.get('endSequenceNumber')}"
            )
        return f"{condition}: {error}" if error else str(condition)


def receive_all(sqs: Any, url: str, hold: int) -> list[Parked]:
    """Every message visible now, each held invisible for `hold` seconds."""
    found: dict[str, Parked] = {}
    while True:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=hold,
            AttributeNames=["SentTimestamp"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in found]
        if not fresh:
            return sorted(found.values(), key=lambda p: p.sent_at)
        for m in fresh:
            try:
                body = json.loads(m["Body"])
            except ValueError:
                body = {"raw": m["Body"]}
            found[m["MessageId"]] = Parked(
                m["MessageId"],
                m["ReceiptHandle"],
                int(m.get("Attributes", {}).get("SentTimestamp", "0")) / 1000,
                body if isinstance(body, dict) else {"raw": body},
                {k: v.get("StringValue", "") for k, v in m.get("MessageAttributes", {}).items()},
            )


def release(sqs: Any, url: str, parked: list[Parked]) -> None:
    """Messages not dealt with are visible again at once (for the next run, or Lambda's own tools)."""
    for p in parked:
        with contextlib.suppress(ClientError):  # it comes back after HOLD_SECONDS anyway
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=p.receipt, VisibilityTimeout=0)


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def describe(queue: str, parked: list[Parked], out: TextIO, now: float | None = None) -> None:
    now = time.time() if now is None else now
    if not parked:
        print(f"{queue}: nothing parked", file=out)
        return
    print(f"{queue}: {len(parked)} parked, oldest {_age(now - parked[0].sent_at)} ago", file=out)
    reasons: dict[str, int] = {}
    for p in parked:
        reasons[p.reason()] = reasons.get(p.reason(), 0) + 1
    for reason, count in sorted(reasons.items(), key=lambda r: -r[1]):
        print(f"  {count} x {reason}", file=out)


def _succeeded(response: Any) -> None:
    if isinstance(response, dict) and response.get("batchItemFailures"):
        raise ReplayFailed(f"{len(response['batchItemFailures'])} record(s) reported failed")


def arrival_window(body: dict[str, Any]) -> tuple[datetime, datetime] | None:
    """When a parked stream range's records arrived (DDBStreamBatchInfo), a minute wider either side; None
    when the message does not say."""
    batch = body.get("DDBStreamBatchInfo") or {}
    try:
        first = datetime.fromisoformat(batch["approximateArrivalOfFirstRecord"])
        last = datetime.fromisoformat(batch["approximateArrivalOfLastRecord"])
    except (KeyError, TypeError, ValueError):
        return None
    return first - WINDOW_MARGIN, last + WINDOW_MARGIN


def notify_reference(body: dict[str, Any]) -> dict[str, Any]:
    """What NotifySalesFunction takes, from a parked message: Lambda's on-failure record holds it as the
    request; a whole bus event (EventBridge's own dead-letter queue) is narrowed down to it."""
    event = body.get("requestPayload", body)
    if isinstance(event, dict) and isinstance(event.get("detail"), dict):
        event = {k: event["detail"][k] for k in NOTIFY_REFERENCE if k in event["detail"]}
    return event if isinstance(event, dict) else {}


def _stream_record(raw: dict[str, Any], n: int, name: str = "INSERT") -> dict[str, Any]:
    """An item as the stream record a function receives for it (INSERT: a TRANS# or ATRANS# item for
    PublishFunction, a lead's STATE or an account's PROFILE for AccountFunction; REMOVE: the old image)."""
    image = "OldImage" if name == "REMOVE" else "NewImage"
    return {
        "eventID": f"redrive-{n}",
        "eventName": name,
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "dynamodb": {
            "Keys": {"pk": raw["pk"], "sk": raw["sk"]},
            image: raw,
            "SequenceNumber": str(n).zfill(21),
            "SizeBytes": len(json.dumps(raw)),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def _ttl_removal(pk: str, expired_at: float, n: int) -> dict[str, Any]:
    """The REMOVE record DynamoDB's TTL sends when it deletes a lead's STATE, for a STATE that expired at
    `expired_at` (epoch seconds)."""
    old = {"pk": {"S": pk}, "sk": {"S": "STATE"}, "expires_at": {"N": str(int(expired_at) + 1)}}
    return _stream_record(old, n, "REMOVE") | {"userIdentity": dict(TTL_SERVICE)}


def _archived_changes(raw: dict[str, Any], spans: list[tuple[float, float]]) -> list[tuple[str, float]]:
    """The stream records (INSERT, or MODIFY for a merge undone) a history item made within `spans`, with
    when the table stored them; a stage change not yet published counts as within (it is recent)."""
    sk = raw["sk"]["S"]
    kind = next((prefix for prefix in ARCHIVE_TIMES if sk.startswith(prefix)), None)
    if kind is None:
        return []
    times = {name: float(raw[name]["N"]) for name in ARCHIVE_TIMES[kind] if "N" in raw.get(name, {})}

    def within(moment: float | None) -> bool:
        return moment is not None and any(a <= moment <= b for a, b in spans)

    if kind == "MERGE#":
        made, undone = times.get("merged_at"), times.get("undone_at")
        inserted = [("INSERT", made)] if within(made) and made is not None else []
        return inserted + ([("MODIFY", undone)] if within(undone) and undone is not None else [])
    moment = next((t for t in times.values() if within(t)), None)
    if moment is None and kind == "TRANS#" and "unpublished" in raw:
        moment = times.get("at", time.time())
    return [("INSERT", moment)] if moment is not None else []


def _archive_record(raw: dict[str, Any], seq: str, name: str, when: float) -> dict[str, Any]:
    """A history item as the stream record ArchiveFunction received for it (stored at `when`)."""
    record = _stream_record(raw, 0, name)
    record["eventID"] = f"redrive-{seq}"
    record["dynamodb"]["SequenceNumber"] = seq
    record["dynamodb"]["ApproximateCreationDateTime"] = when
    return record


@dataclass
class _ScorePlan:
    """Per parked message, the leads to rebuild (target -> the leads found that score on it), or why not."""

    leads: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    stuck: dict[str, str] = field(default_factory=dict)  # message id -> why it cannot be rebuilt now


@dataclass
class Redrive:
    queue: str
    sqs: Any
    url: str
    scores: ScoreRepository
    invoke: Invoke
    rebuild: Rebuild | None = None  # for ScoreFailuresQueue
    err: TextIO = field(default_factory=lambda: sys.stderr)  # the one of the moment (tests capture it)
    dynamodb: Any = None  # a DynamoDB client, for AccountFailuresQueue (scans the leads and accounts tables)
    accounts_table: str = ""

    def _progress(self, done: int, total: int, what: str) -> None:
        print(f"\r{self.queue}: {done}/{total} {what}", end="\n" if done == total else "", file=self.err)

    def run(self, out: TextIO, dry_run: bool = False) -> int:
        """Shows what is parked; unless `dry_run`, replays it. Returns how many messages stay parked."""
        parked = receive_all(self.sqs, self.url, 30 if dry_run else HOLD_SECONDS)
        describe(self.queue, parked, out)
        plan = _ScorePlan()
        if self.queue == "PublishFailuresQueue":
            waiting = list(self.scores.unpublished_items())
            print(f"  {len(waiting)} stage change(s) and lead event(s) not yet published", file=out)
        elif self.queue in ("ScoreFailuresQueue", "ShadowFailuresQueue") and parked:
            plan = self._plan(parked, out)
        if dry_run:
            release(self.sqs, self.url, parked)
            return len(parked)
        if self.queue == "PublishFailuresQueue":
            left = self._publish(parked, out)
        elif self.queue == "ScoreFailuresQueue":
            left = self._rescore(parked, plan, out)
        elif self.queue == "ShadowFailuresQueue":
            left = self._reshadow(parked, plan, out)
        elif self.queue == "AccountFailuresQueue":
            left = self._reroll(parked, out) if parked else []
        elif self.queue == "ExpireFailuresQueue":
            left = self._sweep(parked, out) if parked else []
        elif self.queue == "ArchiveFailuresQueue":
            left = self._rearchive(parked, out) if parked else []
        else:
            left = self._notify(parked, out)
        release(self.sqs, self.url, left)
        print(f"{self.queue}: {len(parked) - len(left)} resolved, {len(left)} still parked", file=out)
        return len(left)

    def _delete(self, p: Parked) -> None:
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=p.receipt)

    def _notify(self, parked: list[Parked], out: TextIO) -> list[Parked]:
        left = []
        for n, p in enumerate(parked, 1):
            try:
                answer = self.invoke(QUEUES[self.queue], notify_reference(p.body))
                _succeeded(answer)
                if isinstance(answer, dict) and answer.get("skipped"):
                    print(f"  {p.message_id}: {answer.get('transition_id')}: {answer['skipped']}", file=out)
                self._delete(p)
            except Exception as exc:
                print(f"  still failing: {p.message_id}: {exc}", file=out)
                left.append(p)
            self._progress(n, len(parked), "replayed")
        return left

    def _plan(self, parked: list[Parked], out: TextIO) -> _ScorePlan:
        """Which leads each parked range concerns: one Scan for the events stored in all their windows."""
        if self.rebuild is None:
            raise ReplayFailed("no rebuild for ScoreFailuresQueue")
        plan = _ScorePlan()
        windows = {p.message_id: arrival_window(p.body) for p in parked}
        known = [w for w in windows.values() if w is not None]
        found: list[tuple[str, datetime]] = []
        if known:
            start, end = min(w[0] for w in known), max(w[1] for w in known)

            def scanned(items: int, events: int) -> None:
                print(
                    f"\r{self.queue}: scanned {items} items, {events} events in the window",
                    end="",
                    file=self.err,
                )

            found = list(self.rebuild.events.stored_between(start, end, scanned))
            print(file=self.err)
        targets = self.rebuild.targets(lead for lead, _ in found)
        for p in parked:
            window = windows[p.message_id]
            if window is None:
                plan.stuck[p.message_id] = "no arrival times (DDBStreamBatchInfo): cannot tell its events"
                print(f"  {p.message_id}: {plan.stuck[p.message_id]}", file=out)
                continue
            concerned: dict[str, set[str]] = {}
            for lead, at in found:
                target = targets.get(lead)
                if window[0] <= at <= window[1] and target is not None:
                    concerned.setdefault(target, set()).update({lead} - {target})
                elif window[0] <= at <= window[1]:
                    plan.stuck[p.message_id] = f"lead {lead} is merged too many times over"
            plan.leads[p.message_id] = concerned
            print(
                f"  {p.message_id}: {len(concerned)} lead(s) to rebuild, events stored "
                f"{window[0]:%Y-%m-%d %H:%M:%S}..{window[1]:%H:%M:%S} UTC",
                file=out,
            )
        return plan

    def _rescore(self, parked: list[Parked], plan: _ScorePlan, out: TextIO) -> list[Parked]:
        """Rebuild every lead concerned once; a message goes when all of its leads were rebuilt."""
        assert self.rebuild is not None  # _plan checked
        nothing = "no event stored in that window is left (expired, or the person erased): nothing to rebuild"
        return self._settle(parked, plan, out, self.rebuild.lead, "leads rebuilt", nothing)

    def _reshadow(self, parked: list[Parked], plan: _ScorePlan, out: TextIO) -> list[Parked]:
        """Each person concerned through ShadowFunction once (a record of each of their leads found: it
        rescores them from all their stored events); a message goes when all of its people succeeded."""

        def shadow(target: str, leads: set[str]) -> None:
            records = [
                _stream_record({"pk": {"S": f"LEAD#{lead}"}, "sk": {"S": "EVT#redrive"}}, i)
                for i, lead in enumerate([target, *sorted(leads)], 1)
            ]
            _succeeded(self.invoke(QUEUES[self.queue], {"Records": records}))

        return self._settle(parked, plan, out, shadow, "people shadow-scored")

    def _settle(
        self,
        parked: list[Parked],
        plan: _ScorePlan,
        out: TextIO,
        each: Callable[[str, set[str]], object],
        what: str,
        nothing: str = "",
    ) -> list[Parked]:
        """`each` once per target of the plan, with the leads that score on it (of all the messages
        together: a person in many ranges is done once); a message goes when all of its targets succeeded.
        `nothing`: what is said of a message none of whose events is left (it goes too)."""
        merged: dict[str, set[str]] = {}
        for concerned in plan.leads.values():
            for target, leads in concerned.items():
                merged.setdefault(target, set()).update(leads)
        failed: set[str] = set()
        for n, target in enumerate(sorted(merged), 1):
            try:
                each(target, merged[target])
            except Exception as exc:
                failed.add(target)
                print(f"  still failing: lead {target}: {exc}", file=out)
            self._progress(n, len(merged), what)
        left = []
        for p in parked:
            if p.message_id in plan.stuck:
                print(f"  still parked: {p.message_id}: {plan.stuck[p.message_id]}", file=out)
                left.append(p)
            elif failed & set(plan.leads[p.message_id]):
                left.append(p)
            else:
                if nothing and not plan.leads[p.message_id]:
                    print(f"  {p.message_id}: {nothing}", file=out)
                self._delete(p)
        return left

    def _replay(self, function: str, work: list[tuple[str, dict[str, Any]]], out: TextIO, what: str) -> int:
        """Each (label, event) through `function`, with progress; how many failed (each said, by label)."""
        failed = 0
        for n, (label, event) in enumerate(work, 1):
            try:
                _succeeded(self.invoke(function, event))
            except Exception as exc:
                failed += 1
                print(f"  still failing: {label}: {exc}", file=out)
            self._progress(n, len(work), what)
        return failed

    def _all_or_nothing(self, parked: list[Parked], resolved: bool) -> list[Parked]:
        """Messages that name stream ranges, not the work itself, go only all together, once it all
        succeeded."""
        if not resolved:
            return parked
        for p in parked:
            self._delete(p)
        return []

    def _scan(
        self, table: str, what: str, condition: str, values: dict[str, Any], **more: Any
    ) -> list[dict[str, Any]]:
        """Every item of `table` the filter lets through (a full Scan, progress on stderr); `more`: further
        Scan parameters (a projection)."""
        if self.dynamodb is None:
            raise ReplayFailed(f"no DynamoDB client to scan {table}")
        found: list[dict[str, Any]] = []
        scanned = 0
        request: dict[str, Any] = {
            "TableName": table,
            "FilterExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
            **more,
        }
        while True:
            page = self.dynamodb.scan(**request)
            scanned += page.get("ScannedCount", 0)
            found += page.get("Items", [])
            print(f"\r{self.queue}: scanned {scanned} items, {len(found)} {what}", end="", file=self.err)
            if "LastEvaluatedKey" not in page:
                print(file=self.err)
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _reroll(self, parked: list[Parked], out: TextIO) -> list[Parked]:
        """The parked ranges name stream records of either table, not their content: every lead's current
        STATE and every account's PROFILE go through AccountFunction again (a lead's change counts once
        per version, so what was rolled up already is a no-op), then every account event not yet on the bus
        through PublishFunction (idempotent on the event id). The messages go once all of it succeeded."""
        profiles = self._scan(
            self.accounts_table,
            "account profiles",
            "begins_with(pk, :account) AND sk = :profile",
            {":account": {"S": "ACCOUNT#"}, ":profile": {"S": "PROFILE"}},
        )
        states = self._scan(
            self.scores.table,
            "lead states",
            # a merged lead's too: its merge takes it out of the accounts it was counted in
            "sk = :state AND attribute_exists(stage) AND attribute_not_exists(erased)",
            {":state": {"S": "STATE"}},
        )
        records = [_stream_record(raw, n) for n, raw in enumerate([*profiles, *states], 1)]
        print(f"  {len(profiles)} account(s) and {len(states)} lead(s) to roll up again", file=out)
        batches = [
            (
                f"records {start + 1}..{start + ROLL_UP_BATCH}",
                {"Records": records[start : start + ROLL_UP_BATCH]},
            )
            for start in range(0, len(records), ROLL_UP_BATCH)
        ]
        failed = self._replay("AccountFunction", batches, out, "roll-up batches")
        waiting = self._scan(  # after the roll-up: the events it recorded are among them
            self.accounts_table,
            "account events not yet published",
            "begins_with(pk, :account) AND unpublished = :one",
            {":account": {"S": "ACCOUNT#"}, ":one": {"S": "1"}},
        )
        events = [
            (f"account event {raw['sk']['S']}", {"Records": [_stream_record(raw, n)]})
            for n, raw in enumerate(waiting, 1)
        ]
        failed += self._replay("PublishFunction", events, out, "account events published")
        return self._all_or_nothing(parked, not failed)

    def _sweep(self, parked: list[Parked], out: TextIO) -> list[Parked]:
        """The parked ranges name TTL deletions of STATE items, which are gone: the leads concerned are found
        as the leads table holds them, partitions without a STATE whose every item is older than SETTLED
        (an event: kept until its `lead_expires`, passed; a partition with no dated item at all is left).
        Each goes through ExpireFunction as the REMOVE record the TTL would have sent, expired as of its
        newest item (idempotent: what is gone stays gone). This also finishes leads whose expiry never ran
        at all."""
        now = time.time()
        partitions: dict[str, dict[str, Any]] = {}
        for raw in self._scan(
            self.scores.table,
            "items of leads",
            "begins_with(pk, :lead)",
            {":lead": {"S": "LEAD#"}},
            ProjectionExpression="pk, sk, " + ", ".join(f"#{n}" for n in TIMES),
            ExpressionAttributeNames={f"#{n}": n for n in TIMES},
        ):
            seen = partitions.setdefault(raw["pk"]["S"], {"state": False, "newest": 0.0})
            seen["state"] |= raw["sk"]["S"] == "STATE"
            times = [float(raw[n]["N"]) for n in TIMES if "N" in raw.get(n, {})]
            seen["newest"] = max([seen["newest"], *times])
        expired = sorted(
            (pk, seen["newest"])
            for pk, seen in partitions.items()
            if not seen["state"] and 0 < seen["newest"] < now - SETTLED.total_seconds()
        )
        print(f"  {len(expired)} expired lead(s) still holding items", file=out)
        removals = [
            (pk.removeprefix("LEAD#"), {"Records": [_ttl_removal(pk, newest, n)]})
            for n, (pk, newest) in enumerate(expired, 1)
        ]
        failed = self._replay("ExpireFunction", removals, out, "expired leads swept")
        return self._all_or_nothing(parked, not failed)

    def _rearchive(self, parked: list[Parked], out: TextIO) -> list[Parked]:
        """The history items stored while the parked ranges arrived, through ArchiveFunction again as the
        stream records they were (see the module's docstring). A message without arrival times stays."""
        windows = {p.message_id: arrival_window(p.body) for p in parked}
        stuck = [p for p in parked if windows[p.message_id] is None]
        for p in stuck:
            print(
                f"  still parked: {p.message_id}: no arrival times (DDBStreamBatchInfo): "
                "cannot tell its records",
                file=out,
            )
        spans = [(w[0].timestamp(), w[1].timestamp()) for w in windows.values() if w is not None]
        if not spans:
            return stuck
        start, end = min(a for a, _ in spans), max(b for _, b in spans)
        found = self._scan(
            self.scores.table,
            "history items in the window",
            "(begins_with(sk, :evt) AND rcv BETWEEN :a AND :b)"
            " OR (begins_with(sk, :trans) AND (#at BETWEEN :a AND :b OR published_at BETWEEN :a AND :b"
            " OR attribute_exists(unpublished)))"
            " OR (begins_with(sk, :merge) AND (merged_at BETWEEN :a AND :b OR undone_at BETWEEN :a AND :b))"
            " OR (begins_with(sk, :held) AND #at BETWEEN :a AND :b)",
            {
                ":evt": {"S": "EVT#"},
                ":trans": {"S": "TRANS#"},
                ":merge": {"S": "MERGE#"},
                ":held": {"S": "HELD#"},
                ":a": {"N": str(start)},
                ":b": {"N": str(end)},
            },
            ExpressionAttributeNames={"#at": "at"},
        )
        run = int(time.time())  # this run's sequence numbers: objects of earlier runs keep theirs
        records: list[dict[str, Any]] = []
        for raw in found:
            for name, when in _archived_changes(raw, spans):
                records.append(_archive_record(raw, f"{run}{len(records) + 1:08d}", name, when))
        print(f"  {len(records)} history record(s) to archive again", file=out)
        batches = [
            (f"records {first + 1}..{first + len(batch)}", {"Records": batch})
            for first in range(0, len(records), ARCHIVE_BATCH)
            if (batch := records[first : first + ARCHIVE_BATCH])
        ]
        failed = self._replay("ArchiveFunction", batches, out, "archive batches")
        return [*stuck, *self._all_or_nothing([p for p in parked if p not in stuck], not failed)]

    def _publish(self, parked: list[Parked], out: TextIO) -> list[Parked]:
        """Every unpublished stage change through PublishFunction; the parked messages go once none is
        left (they name stream ranges, not changes, so they are resolved only all together)."""
        waiting = list(self.scores.unpublished_items())
        changes = [
            (f"{raw['pk']['S']} {raw['sk']['S']}", {"Records": [_stream_record(raw, n)]})
            for n, raw in enumerate(waiting, 1)
        ]
        failed = self._replay("PublishFunction", changes, out, "lead events published")
        done = not failed and not any(True for _ in self.scores.unpublished_items())
        return self._all_or_nothing(parked, done)


# --- the command line ----------------------------------------------------------------------------------


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    redrive = commands.add_parser(
        "redrive",
        help="show and replay what a failures queue holds",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    redrive.add_argument("queue", choices=list(QUEUES))
    redrive.add_argument("--dry-run", action="store_true", help="only show what is parked, and why")


def _local(target: targets.Target) -> tuple[str, Invoke, Callable[[], None]]:
    """The queue URL prefix's stack, and an invoker running the template's functions in this process."""
    from pathlib import Path

    from local.environment import REGION, local_overrides
    from local.runner import STACK
    from local.template import load_stack
    from local.workers import Worker, request_payload

    notifications = Path(__file__).resolve().parent.parent / ".local" / "notifications.jsonl"
    # the parameters make run was started with (--parameter): a ShadowScoringModel gives ShadowFunction
    given = targets.local_addresses().parameters
    stack = load_stack(
        STACK,
        REGION,
        {**given, "StageName": "local", "LocalAwsEndpoint": target.endpoint or ""},
        local_overrides(region=REGION, notifications_file=notifications),
    )
    workers: dict[str, Any] = {}

    def invoke(function: str, event: dict[str, Any]) -> Any:
        if function not in workers:
            workers[function] = Worker(stack.functions[function])
        worker = workers[function]
        return worker.invoke(request_payload(worker.function, event))

    def stop() -> None:
        for worker in workers.values():
            worker.stop()

    return stack.name, invoke, stop


def _deployed(stack_name: str, region: str | None) -> tuple[Callable[[str], str], Invoke]:
    cloudformation = boto3.client("cloudformation", region_name=region)
    lambdas = boto3.client("lambda", region_name=region)

    def physical(logical_id: str) -> str:
        resource = cloudformation.describe_stack_resource(StackName=stack_name, LogicalResourceId=logical_id)
        return str(resource["StackResourceDetail"]["PhysicalResourceId"])

    def invoke(function: str, event: dict[str, Any]) -> Any:
        answer = lambdas.invoke(FunctionName=physical(function), Payload=json.dumps(event).encode())
        payload = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            raise ReplayFailed(f"{function} failed: {(payload or {}).get('errorMessage', payload)}")
        return payload

    return physical, invoke


def run(args: argparse.Namespace, target: targets.Target) -> int:
    endpoint, region = target.endpoint, target.region
    sqs = boto3.client("sqs", region_name=region, endpoint_url=endpoint)
    stop: Callable[[], None] = lambda: None  # noqa: E731
    if args.stack:
        physical, invoke = _deployed(args.stack, region)
        url = physical(args.queue)
    else:
        stack_name, invoke, stop = _local(target)
        url = sqs.get_queue_url(QueueName=f"{stack_name}-{args.queue}")["QueueUrl"]
    try:
        scores = ScoreRepository(target.leads_table)
        rebuild = None
        if args.queue in ("ScoreFailuresQueue", "ShadowFailuresQueue"):  # in this process: the leads table
            rebuild = Rebuild(EventRepository(target.leads_table), scores, load_model())
        dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint)
        redrive = Redrive(
            args.queue,
            sqs,
            url,
            scores,
            invoke,
            rebuild,
            dynamodb=dynamodb,
            accounts_table=target.accounts_table,
        )
        left = redrive.run(sys.stdout, dry_run=args.dry_run)
    finally:
        stop()
    return 1 if left else 0
