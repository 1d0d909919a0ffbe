"""Plays a plan through a running stack's public interfaces, as its visitors and its sales team would.

The visitors' messages go to the tracking API's `/v1/import` (history: every message keeps its past
timestamp) with the key of a source that may import; scoring dates the stage changes they cause (MQL,
SQL, PQL) by those timestamps. Sales acts through the sales API, signed in as a sales user (an ID token):
accept or reject with a reason, answer the qualification framework, take it to an opportunity, win or
lose it with an amount. The API dates what sales does at the moment it is done: those moves are dated
today, however old the lead (the API takes no past time, by design).

Safe to run twice with the same seed: messages carry ids derived from the seed (the intake stores each
once), each action an Idempotency-Key derived from the seed, and only leads still at SQL are acted on.
"""

import base64
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from leadstream.sources.directory import SourceAdmin
from leadstream.sources.model import Privacy, Trust
from leadstream.sources.repository import SourceRepository

from local.simulator.plan import Plan, Visitor

# The simulator's source: a server source that may import history. A fixed key, for local stacks only.
SOURCE_ID = "simulator"
WRITE_KEY = "lsk_local_simulator"
BATCH = 50  # messages a request (the intake takes up to 2,500; a small batch stays well within its timeout)
SENDING = 2  # requests at once
RETRIES = 8  # a call the stack could not answer is tried again, 2 s, 4 s, ... apart (about a minute)
ACTING = 2  # leads sales works at once
PROGRESS_SECONDS = 10  # a progress line at most this often
SALES_USER = "sales@example.com"
EVERY_STAGE = "lead,MQL,PQL,SQL,accepted,rejected,opportunity,won,lost,disqualified"
Report = Callable[[str], None]


SETTLED_SECONDS = 20  # the lists unchanged this long, every person listed: scoring has caught up
STALLED_SECONDS = 90  # the funnel unchanged this long, short of what sales did: something was parked


def _at(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


class SimulationError(Exception):
    """The stack answered something the simulation cannot go on from; the message says what."""


def ensure_source(sources_table: str, now: datetime) -> None:
    """The simulator's source in the stack's SourcesTable (created once; the AWS this process talks to)."""
    repository = SourceRepository(sources_table)
    if repository.source(SOURCE_ID) is None:
        SourceAdmin(repository).create(
            "Simulated history", (), Privacy(), now, source_id=SOURCE_ID, key=WRITE_KEY, allow_import=True,
            trust=Trust.SERVER,
        )  # fmt: skip


def sign_in(cognito: Any, client_id: str, email: str, password: str) -> str:
    """An ID token for the user (InitiateAuth against the pool, as the web app and `cli token` sign in)."""
    answer = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    tokens = answer.get("AuthenticationResult")
    if not tokens:
        raise SimulationError(f"signing in {email} needs {answer.get('ChallengeName')}")
    return str(tokens["IdToken"])


@dataclass
class Outcome:
    """What a run did and what the stack says came of it."""

    sent: int = 0
    acted: Counter[str] = field(default_factory=Counter)
    stages: dict[str, int] = field(default_factory=dict)  # the source-quality report's totals
    revenue: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        stages = ", ".join(f"{name} {count}" for name, count in self.stages.items())
        revenue = ", ".join(f"{amount:,.0f} {currency}" for currency, amount in sorted(self.revenue.items()))
        acted = ", ".join(f"{name} {count}" for name, count in sorted(self.acted.items())) or "nothing new"
        won = revenue or "none"
        return f"{self.sent} events sent; sales acted: {acted}; the funnel now: {stages}; won revenue {won}"


class Driver:
    def __init__(
        self,
        api: str,
        id_token: str,
        report: Report,
        *,
        wait_seconds: float = 1800,
        stop: threading.Event | None = None,
    ) -> None:
        """`stop`: set when the stack stops (make run's Ctrl-C): the next call raises SimulationError."""
        self.stop = stop or threading.Event()
        self.api = api.rstrip("/")
        self.id_token = id_token
        self.report = report
        self.wait_seconds = wait_seconds

    def _call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        if self.stop.is_set():
            raise SimulationError("the stack is stopping")
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.api + path,
            data=data,
            method=method,
            headers={"content-type": "application/json", **(headers or {})},
        )
        for attempt in range(RETRIES):
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return int(response.status), json.loads(response.read() or b"null")
            except urllib.error.HTTPError as error:
                # throttled, or a function that timed out on a busy machine: every call here is safe to
                # repeat (messages carry ids, actions Idempotency-Keys)
                if error.code in (429, 500, 502, 503, 504) and attempt < RETRIES - 1:
                    self.stop.wait(float(error.headers.get("Retry-After") or 2 * (attempt + 1)))
                    continue
                raw = error.read()
                try:
                    return error.code, json.loads(raw)
                except ValueError:
                    return error.code, raw.decode(errors="replace")
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                # no answer in time (a machine so busy the local API is slow to accept): safe to repeat too
                if attempt == RETRIES - 1:
                    raise SimulationError(
                        f"{method} {path}: no answer after {RETRIES} tries ({error})"
                    ) from error
                self.stop.wait(2 * (attempt + 1))
        raise SimulationError(f"{method} {path}: still throttled after retries")  # pragma: no cover

    def _sales(self, method: str, path: str, body: Any = None, key: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.id_token}"}
        if key:
            headers["Idempotency-Key"] = key
        return self._call(method, path, body, headers)

    # --- the visitors -----------------------------------------------------------------------------------

    def send(self, plan: Plan) -> int:
        """Every message of the plan to /v1/import, each visitor's in its order, SENDING batches at once;
        how many were taken."""
        batches = plan.batches(BATCH)
        total = sum(len(batch) for batch in batches)
        auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()

        def post(batch: list[dict[str, Any]]) -> int:
            status, answer = self._call("POST", "/v1/import", {"batch": batch}, {"Authorization": auth})
            if status != 200:
                raise SimulationError(f"/v1/import answered {status}: {answer}")
            if answer.get("rejected"):
                raise SimulationError(f"/v1/import rejected messages of the plan: {answer['rejected'][:3]}")
            return len(batch)

        taken, shown = 0, time.monotonic()
        with ThreadPoolExecutor(max_workers=SENDING) as pool:
            for count in pool.map(post, batches):
                taken += count
                if time.monotonic() - shown > PROGRESS_SECONDS or taken == total:
                    self.report(f"simulation: sent {taken}/{total} events ({taken * 100 // total}%)")
                    shown = time.monotonic()
        return taken

    # --- sales ------------------------------------------------------------------------------------------

    def _rows(self, stages: str) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        while True:
            query = {"stage": stages, "limit": "100", **({"cursor": cursor} if cursor else {})}
            status, page = self._sales("GET", "/api/leads?" + urllib.parse.urlencode(query))
            if status != 200:
                raise SimulationError(f"GET /api/leads answered {status}: {page}")
            yield from page["leads"]
            cursor = page.get("cursor")
            if not cursor:
                return

    def wait_for_sales(self, plan: Plan) -> list[tuple[str, Visitor]]:
        """The plan's leads waiting at SQL (lead id, visitor), once scoring has caught up: every person of
        the plan is listed, last seen at their last planned event (the lists show the score's state)."""
        names = plan.by_name()
        # a group call stores no behaviour event: the last one is what scoring sees last
        last_event = {
            name: max(m["timestamp"] for m in v.messages if m["type"] != "group") for name, v in names.items()
        }
        deadline = time.monotonic() + self.wait_seconds
        shown = time.monotonic()
        seen: list[tuple[Any, ...]] = []
        settled_since = time.monotonic()
        while True:
            rows = [r for r in self._rows(EVERY_STAGE) if r.get("name") in names]
            behind = len(names) - sum(
                1 for r in rows if r.get("last_seen") and _at(r["last_seen"]) >= _at(last_event[r["name"]])
            )
            if not behind:
                break
            # a message sent before (an earlier run) is kept as first stored, with that run's times: once
            # every person is listed and nothing changes any more, scoring has seen all there is to see
            now_seen = sorted((r["name"], r.get("last_seen"), r.get("stage"), r.get("score")) for r in rows)
            if now_seen != seen:
                seen, settled_since = now_seen, time.monotonic()
            elif len(rows) == len(names) and time.monotonic() - settled_since > SETTLED_SECONDS:
                break
            if time.monotonic() > deadline:
                self.report(f"simulation: {behind} people are still being scored; going on without them")
                break
            if time.monotonic() - shown > PROGRESS_SECONDS:
                self.report(
                    f"simulation: waiting for scoring to catch up with {behind} of {len(names)} people"
                )
                shown = time.monotonic()
            self.stop.wait(2)
        return [(r["lead_id"], names[r["name"]]) for r in rows if r["stage"] == "SQL"]

    def _act(self, seed: int, lead_id: str, visitor: Visitor, answers: dict[str, str]) -> list[str]:
        decision = visitor.sales
        done: list[str] = []

        def step(action: str, body: Any, name: str) -> bool:
            key = f"sim-{seed}-{visitor.key}-{name}"
            status, answer = self._sales("POST", f"/api/leads/{lead_id}/{action}", body, key)
            if status == 409:  # moved on already (a run before this one): nothing to do
                return False
            if status != 200:
                raise SimulationError(f"{action} of {lead_id} answered {status}: {answer}")
            done.append(name)
            return True

        if not decision.accept:
            step("reject", {"reason": decision.reject_reason}, "rejected")
            return done
        if not step("accept", None, "accepted") or not decision.opportunity:
            return done
        step("qualify", {"answers": answers}, "qualified")
        if not step("progress", {"stage": "opportunity"}, "opportunity") or decision.outcome is None:
            return done
        body: dict[str, Any] = {"stage": decision.outcome, "amount": decision.amount, "currency": "EUR"}
        if decision.outcome == "lost":
            body["reason"] = decision.lost_reason
        step("progress", body, decision.outcome)
        return done

    def act(self, plan: Plan, waiting: list[tuple[str, Visitor]]) -> Counter[str]:
        """Sales' decisions on the leads waiting, a few at a time; what was done, by move."""
        status, framework = self._sales("GET", "/api/qualification")
        if status != 200:
            raise SimulationError(f"GET /api/qualification answered {status}: {framework}")
        answers = {c["id"]: f"{c['label']}: discussed on the first call" for c in framework["criteria"]}
        acted: Counter[str] = Counter()
        with ThreadPoolExecutor(max_workers=ACTING) as pool:
            results = pool.map(lambda pair: self._act(plan.seed, pair[0], pair[1], answers), waiting)
            for count, done in enumerate(results, 1):
                acted.update(done)
                if count % 20 == 0 or count == len(waiting):
                    self.report(f"simulation: sales worked {count}/{len(waiting)} leads")
        return acted

    def funnel(self, plan: Plan) -> tuple[dict[str, int], dict[str, float]]:
        """The source-quality report over the plan's period: totals per stage and won revenue."""
        query = urllib.parse.urlencode(
            {"since": (plan.now.date() - timedelta(days=plan.days)).isoformat(), "by": "channel"}
        )
        status, report = self._sales("GET", f"/api/reports/source-quality?{query}")
        if status != 200:
            raise SimulationError(f"GET /api/reports/source-quality answered {status}: {report}")
        columns = ("mqls", "sqls", "accepted", "rejected", "opportunities", "won", "lost")
        totals = {c: sum(int(row[c]) for row in report["rows"]) for c in columns}
        revenue: Counter[str] = Counter()
        for row in report["rows"]:
            revenue.update(row["revenue"])
        return totals, dict(revenue)

    def settled_funnel(self, plan: Plan, acted: Counter[str]) -> tuple[dict[str, int], dict[str, float]]:
        """The funnel once the report counts what sales just did (it adds up what the stack publishes,
        a moment later) and has stopped changing; what it says once it has not changed for a while though it
        counts less than sales did (a publish parked: `cli redrive` replays it), or after `wait_seconds`."""
        deadline = time.monotonic() + self.wait_seconds
        previous: tuple[dict[str, int], dict[str, float]] | None = None
        unchanged_since = time.monotonic()
        columns = {
            "accepted": "accepted",
            "rejected": "rejected",
            "opportunity": "opportunities",
            "won": "won",
        }
        while True:
            current = self.funnel(plan)
            counted = all(current[0][column] >= acted[move] for move, column in columns.items())
            if (counted and current == previous) or time.monotonic() > deadline:
                return current
            if current != previous:
                unchanged_since = time.monotonic()
            elif time.monotonic() - unchanged_since > STALLED_SECONDS:
                self.report(
                    "simulation: the funnel counts fewer sales moves than were made and has stopped changing;"
                    " some published events may be parked (python -m cli redrive PublishFailuresQueue)"
                )
                return current
            previous = current
            self.stop.wait(3)

    def run(self, plan: Plan) -> Outcome:
        outcome = Outcome()
        started = time.monotonic()
        self.report(
            f"simulation: seed {plan.seed}, {len(plan.visitors)} visitors over the {plan.days} days before "
            f"{plan.now:%Y-%m-%d %H:%M} UTC"
        )
        outcome.sent = self.send(plan)
        waiting = self.wait_for_sales(plan)
        self.report(f"simulation: {len(waiting)} leads wait at SQL for sales")
        outcome.acted = self.act(plan, waiting)
        outcome.stages, outcome.revenue = self.settled_funnel(plan, outcome.acted)
        self.report(f"simulation: finished in {time.monotonic() - started:.0f} s: {outcome.summary()}")
        return outcome
