"""The report items: what the source-quality and speed-to-lead reports read on a request, kept up to date
by PublishFunction as it publishes a lead's stage change (TRANS#) or other event (OUT#), so that no
request scans the leads table.

AccountsTable (two partitions of their own, next to the accounts):
REPORT#QUALITY / <day>#<channel>#<campaign>    one day's counters of a first-touch channel and campaign:
                                 `day`, `channel`, `campaign`; a number per stage column (mqls, sqls,
                                 accepted, ...: leads that reached it that day for the first time) and
                                 `rev#<currency>` (won deals' amounts). Each stage change is counted once:
                                 its TRANS# item gets `reported` in the same transaction as the ADD
REPORT#HANDOVERS / <day>#<transition id>   one hand-over to sales (the day of the stage change that made
                                 it): lead, first touch, owner, the timer's started_at / due_at / state /
                                 breached_at, and the first action's acted_at / acted_by. Rewritten whole
                                 from the lead's history and STATE each time one of its events is published
                                 (the latest hand-over, and the one the lead's timer names)

A report reads one Query of a partition, between two days. Neither holds a lead's personal data: lead
ids, channels and campaigns, and sales users' e-mails (owner, acted_by).
"""

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from leadstream.platform import aws
from leadstream.platform.dynamo import moment, timestamp, transact
from leadstream.platform.errors import StoreUnavailable
from leadstream.sales.speed import Handover, handovers
from leadstream.scoring.report import (
    COLUMNS,
    NO_CAMPAIGN,
    UNKNOWN_CHANNEL,
    Counted,
    DayCount,
    Period,
    counted,
    day_of,
)
from leadstream.scoring.repository import TRANSITION_PREFIX, ScoreRepository, transition_sk
from leadstream.tracking.attribution import Touch

QUALITY_PK = "REPORT#QUALITY"
HANDOVERS_PK = "REPORT#HANDOVERS"
REVENUE_PREFIX = "rev#"


def _bounds(period: Period) -> dict[str, Any]:
    """The sort keys of the period's days: `<day>#...` sorts after `<day>` and before `<day>$`."""
    low = period.since.isoformat() if period.since else "0"
    high = f"{period.until.isoformat()}$" if period.until else "9"
    return {":low": {"S": low}, ":high": {"S": high}}


def _touch(touch: Touch | None) -> tuple[str, str]:
    return (touch.channel.value if touch else UNKNOWN_CHANNEL), (
        (touch.campaign if touch else None) or NO_CAMPAIGN
    )


def _number(raw: dict[str, Any], name: str) -> float | None:
    value = raw.get(name)
    return float(value["N"]) if value and "N" in value else None


def _text(raw: dict[str, Any], name: str) -> str | None:
    value = raw.get(name)
    return str(value["S"]) if value and "S" in value else None


class ReportStore:
    def __init__(self, accounts_table: str, leads_table: str) -> None:
        self.table = accounts_table
        self.leads_table = leads_table
        aws.client("dynamodb")  # made at init, not in the first request

    # --- writing (PublishFunction) -------------------------------------------------------------------

    def count(
        self, lead_id: str, transition_id: str, at: datetime, touch: Touch | None, add: Counted
    ) -> bool:
        """Add one stage change to its day's counters, once: False if it was counted already."""
        channel, campaign = _touch(touch)
        day = day_of(at)
        names = {"#day": "day", "#channel": "channel", "#campaign": "campaign"}
        values: dict[str, Any] = {
            ":day": {"S": day},
            ":channel": {"S": channel},
            ":campaign": {"S": campaign},
            ":one": {"N": "1"},
        }
        adds = []
        for i, column in enumerate(add.columns):
            names[f"#c{i}"] = column
            adds.append(f"#c{i} :one")
        if add.amount is not None:
            names["#rev"] = REVENUE_PREFIX + (add.currency or "")
            values[":amount"] = {"N": repr(float(add.amount))}
            adds.append("#rev :amount")
        counter = {
            "TableName": self.table,
            "Key": {"pk": {"S": QUALITY_PK}, "sk": {"S": f"{day}#{channel}#{campaign}"}},
            "UpdateExpression": "SET #day = :day, #channel = :channel, #campaign = :campaign ADD "
            + ", ".join(adds),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        mark = {
            "TableName": self.leads_table,
            "Key": {"pk": {"S": f"LEAD#{lead_id}"}, "sk": {"S": transition_sk(transition_id)}},
            "UpdateExpression": "SET #reported = :now",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(#reported)",
            "ExpressionAttributeNames": {"#reported": "reported"},
            "ExpressionAttributeValues": {":now": {"N": str(round(time.time(), 3))}},
        }
        return transact([{"Update": mark}, {"Update": counter}], "counting a stage change for the reports")

    def put_handover(self, h: Handover) -> None:
        """Write a hand-over whole (what its lead's history and STATE say now)."""
        item: dict[str, Any] = {
            "pk": {"S": HANDOVERS_PK},
            "sk": {"S": f"{day_of(h.handed_at)}#{h.transition_id}"},
            "transition_id": {"S": h.transition_id},
            "lead_id": {"S": h.lead_id},
            "channel": {"S": h.channel},
            "campaign": {"S": h.campaign},
        }
        for name in ("owner", "acted_by", "state"):
            if (text := getattr(h, name)) is not None:
                item[name] = {"S": str(text)}
        for name in ("handed_at", "started_at", "acted_at", "due_at", "breached_at"):
            if (value := timestamp(getattr(h, name))) is not None:
                item[name] = {"N": repr(value)}
        try:
            aws.client("dynamodb").put_item(TableName=self.table, Item=item)
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(
                f"writing a hand-over for the reports failed ({type(exc).__name__})"
            ) from exc

    # --- reading (the API, the CLI) ------------------------------------------------------------------

    def _query(self, pk: str, period: Period) -> Iterator[dict[str, Any]]:
        query: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":pk": {"S": pk}, **_bounds(period)},
        }
        client = aws.client("dynamodb")
        try:
            while True:
                page = client.query(**query)
                yield from page.get("Items", [])
                if "LastEvaluatedKey" not in page:
                    return
                query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(f"reading the report items failed ({type(exc).__name__})") from exc

    def days(self, period: Period) -> Iterator[DayCount]:
        """The counters of the period's days (one Query)."""
        for raw in self._query(QUALITY_PK, period):
            yield DayCount(
                date.fromisoformat(_text(raw, "day") or "1970-01-01"),
                _text(raw, "channel") or UNKNOWN_CHANNEL,
                _text(raw, "campaign") or NO_CAMPAIGN,
                {c: int(_number(raw, c) or 0) for c in COLUMNS},
                {
                    name.removeprefix(REVENUE_PREFIX): float(value["N"])
                    for name, value in raw.items()
                    if name.startswith(REVENUE_PREFIX)
                },
            )

    def handovers(self, period: Period) -> Iterator[Handover]:
        """The hand-overs made in the period (one Query)."""
        for raw in self._query(HANDOVERS_PK, period):
            handed_at = datetime.fromtimestamp(_number(raw, "handed_at") or 0.0, UTC)
            started_at = moment(_number(raw, "started_at")) or handed_at
            yield Handover(
                transition_id=_text(raw, "transition_id") or "",
                lead_id=_text(raw, "lead_id") or "",
                handed_at=handed_at,
                started_at=started_at,
                channel=_text(raw, "channel") or UNKNOWN_CHANNEL,
                campaign=_text(raw, "campaign") or NO_CAMPAIGN,
                owner=_text(raw, "owner"),
                acted_at=moment(_number(raw, "acted_at")),
                acted_by=_text(raw, "acted_by"),
                state=_text(raw, "state"),
                due_at=moment(_number(raw, "due_at")),
                breached_at=moment(_number(raw, "breached_at")),
            )


class ReportFeed:
    """Brings the report items up to date with a lead's event as it is published: its stage change counted
    once in the source-quality counters, and its hand-overs rewritten from its history and STATE."""

    def __init__(self, scores: ScoreRepository, store: ReportStore) -> None:
        self.scores, self.store = scores, store

    def published(self, image: dict[str, Any]) -> None:
        """`image`: the TRANS# or OUT# item just published (a stream NewImage). Reads the lead's history
        (one Query) and STATE (one GetItem); writes only what changed hands or counts."""
        pk, sk = image["pk"]["S"], image["sk"]["S"]
        if not pk.startswith("LEAD#"):
            return
        lead_id = pk.removeprefix("LEAD#")
        history = self.scores.history(lead_id)
        if sk.startswith(TRANSITION_PREFIX):
            state, transition = self.scores.transition_from_image(image)
            before = [t for t in history if transition_sk(t.id) < sk]
            add = counted(before, transition)
            if add:
                self.store.count(lead_id, transition.id, transition.at, state.first_touch, add)
        stored = self.scores.load(lead_id)
        if stored.erased or stored.merged_into:
            return
        found = handovers(lead_id, history, stored.sales, stored.score.first_touch)
        timer = (stored.sales.get("sla") or {}).get("transition_id")
        for h in found:
            if h is found[-1] or h.transition_id == timer:
                self.store.put_handover(h)
