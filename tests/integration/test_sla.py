"""Owners and speed to lead, in-process against moto: NotifySalesFunction assigns the owner and starts the
timer (an EventBridge Scheduler one-time schedule) before it tells sales; SlaFunction, handed the
schedule's input, breaches and escalates once; the API reassigns. The tests' own assignment rules
(ASSIGNMENT_RULES_PATH): a team of three taking turns, a one-second SLA."""

import contextlib
import importlib
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError
from leadstream.platform import aws as aws_clients
from leadstream.sales.owners import Owners
from leadstream.scoring.repository import ScoreRepository

from cli.__main__ import main
from local.template import Stack
from tests.builders import LambdaContext, http_request, response_json, signed_in
from tests.integration.conftest import bus_entries, lead_of, notifications
from tests.integration.test_scoring_flow import visit_and_request_demo

CTX = LambdaContext()
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
TEAM = ["anna@example.com", "ben@example.com", "carl@example.com"]
RULES = {
    "version": 1,
    "teams": [{"name": "emea", "members": TEAM}, {"name": "americas", "members": ["dora@example.com"]}],
    "default_team": "emea",
    "countries": {"US": "americas"},
    "sla": {"default_seconds": 1},
}


@pytest.fixture
def sales(
    aws: dict[str, Any], tmp_path: Path, notifications_file: Path, monkeypatch: pytest.MonkeyPatch
) -> Any:
    """NotifySalesFunction, SlaFunction and ApiFunction containers started with the tests' rules; the
    containers other tests share are put back afterwards."""
    rules = tmp_path / "assignment.yaml"
    rules.write_text(json.dumps(RULES))  # JSON is YAML
    notifications_file.unlink(missing_ok=True)

    def fresh(function: str) -> ModuleType:
        name = f"functions.{function}.app"
        package = importlib.import_module(f"functions.{function}")
        monkeypatch.setitem(sys.modules, name, importlib.import_module(name))  # restored afterwards
        monkeypatch.setattr(package, "app", sys.modules[name])
        sys.modules.pop(name)
        return importlib.import_module(name)

    monkeypatch.setenv("ASSIGNMENT_RULES_PATH", str(rules))

    class Functions:
        notify = fresh("notify_sales")
        sla = fresh("sla")
        api = fresh("api")

    return Functions


@pytest.fixture
def to_sql(
    track: Any,
    form: Any,
    score: Any,
    publish: Any,
    new_records: Any,
    filters: Any,
    published: Any,
    handed_over: Any,
) -> Any:
    """A new visitor's journey to SQL (pages, the demo form), scored and published: what the 'lead became
    SQL' rule hands NotifySalesFunction."""

    def journey(n: int, email: str | None = None) -> dict[str, Any]:
        visit_and_request_demo(track, form, anonymous_id=f"anon-{n}", email=email or f"jane{n}@acme{n}.com")
        assert (
            score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)["batchItemFailures"]
            == []
        )
        assert (
            publish.lambda_handler({"Records": new_records(filters["PublishFunction"])}, CTX)[
                "batchItemFailures"
            ]
            == []
        )
        [event] = published()
        return handed_over(event)

    return journey


def owner_of(scores: ScoreRepository, lead_id: str) -> str | None:
    return scores.load(lead_id).sales.get("owner")


def schedules(aws: dict[str, Any], stack: Stack) -> list[dict[str, Any]]:
    """The SLA timers in the stack's schedule group, as Scheduler describes them."""
    group = stack.physical_name("SlaScheduleGroup")
    found = aws["scheduler"].list_schedules(GroupName=group)["Schedules"]
    return [aws["scheduler"].get_schedule(GroupName=group, Name=s["Name"]) for s in found]


def lead_events(publish: Any, new_records: Any, filters: Any) -> list[dict[str, Any]]:
    """The lead events (OUT# outbox) written since the last call, as PublishFunction puts them on the bus."""
    records = new_records(filters["PublishFunction"])
    if not records:
        return []
    with bus_entries() as entries:
        assert publish.lambda_handler({"Records": records}, CTX) == {"batchItemFailures": []}
    return [{"detail-type": e["DetailType"], **json.loads(e["Detail"])} for e in entries]


# --- owners ---------------------------------------------------------------------------------------------


def test_leads_handed_to_sales_go_to_the_teams_members_in_turn_and_the_notification_names_the_owner(
    sales: Any,
    to_sql: Any,
    scores: ScoreRepository,
    notifications_file: Path,
    publish: Any,
    new_records: Any,
    filters: Any,
) -> None:
    references = [to_sql(n) for n in range(4)]

    for reference in references:
        sales.notify.lambda_handler(reference, CTX)

    owners = [owner_of(scores, r["lead_id"]) for r in references]
    assert owners == [*TEAM, TEAM[0]]
    sent = notifications(notifications_file)
    assert [n["text"].splitlines()[0] for n in sent] == [f"Owner: {o}" for o in owners]
    assigned = [e for e in lead_events(publish, new_records, filters) if e["detail-type"] == "Lead Assigned"]
    assert sorted((e["lead_id"], e["owner"], e["reason"], e["by"]) for e in assigned) == sorted(
        (r["lead_id"], o, "rule", None) for r, o in zip(references, owners, strict=True)
    )


def test_concurrent_turns_give_each_member_the_same_number_of_leads(sales: Any, stack: Stack) -> None:
    owners = Owners(stack.physical_name("AccountsTable"))
    rules = sales.notify.handover.rules
    taken: list[str] = []

    def take() -> None:
        for _ in range(5):
            taken.append(rules.team("emea").members[(owners.turn("emea") - 1) % 3])

    threads = [threading.Thread(target=take) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(taken.count(member) for member in TEAM) == [10, 10, 10]


def test_the_accounts_owner_wins_over_the_team(
    sales: Any, to_sql: Any, scores: ScoreRepository, moto_endpoint: str, capsys: Any
) -> None:
    first = to_sql(1, email="jane@acme.com")  # the account acme.com exists once she joined it
    code = main(["--endpoint", moto_endpoint, "accounts", "owner", "acme.com", "Boss@Example.com"])
    assert code == 0, capsys.readouterr()
    assert main(["--endpoint", moto_endpoint, "accounts", "owner", "nowhere.example", "a@example.com"]) == 1

    sales.notify.lambda_handler(first, CTX)

    assert owner_of(scores, first["lead_id"]) == "boss@example.com"


def test_the_accounts_country_names_the_team(
    sales: Any, to_sql: Any, track: Any, scores: ScoreRepository
) -> None:
    group = {"anonymousId": "anon-1", "groupId": "acme.com", "traits": {"name": "Acme", "country": "us"}}
    assert track.lambda_handler(http_request("/v1/group", group), CTX)["statusCode"] == 200
    reference = to_sql(1, email="jane@acme.com")

    sales.notify.lambda_handler(reference, CTX)

    assert owner_of(scores, reference["lead_id"]) == "dora@example.com"


def test_a_lead_with_an_owner_keeps_it_when_it_reaches_sales(
    sales: Any, to_sql: Any, scores: ScoreRepository, notifications_file: Path
) -> None:
    reference = to_sql(1)
    assigned = sales.api.lambda_handler(assign_request(reference["lead_id"], "dora@example.com"), CTX)
    assert assigned["statusCode"] == 200, assigned["body"]

    sales.notify.lambda_handler(reference, CTX)

    assert owner_of(scores, reference["lead_id"]) == "dora@example.com"
    [sent] = notifications(notifications_file)
    assert sent["text"].splitlines()[0] == "Owner: dora@example.com"


# --- the timer ------------------------------------------------------------------------------------------


@contextlib.contextmanager
def first_transaction_fails() -> Iterator[None]:
    """The first TransactWriteItems of the functions in this process fails as a throttled one does."""
    client = aws_clients.client("dynamodb")
    calls = []

    def throttle(**kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems"
            )

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", throttle)
    try:
        yield
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", throttle)


def test_the_timer_is_one_schedule_at_the_deadline_invoking_sla_function_however_often_it_is_started(
    sales: Any,
    to_sql: Any,
    scores: ScoreRepository,
    aws: dict[str, Any],
    stack: Stack,
    notifications_file: Path,
) -> None:
    reference = to_sql(1)

    with first_transaction_fails(), pytest.raises(Exception, match="writing lead state"):
        sales.notify.lambda_handler(
            reference, CTX
        )  # the schedule was made, STATE not written: Lambda retries
    sales.notify.lambda_handler(reference, CTX)
    sales.notify.lambda_handler(reference, CTX)  # EventBridge delivers again

    [schedule] = schedules(aws, stack)
    sla = scores.load(reference["lead_id"]).sales["sla"]
    assert (sla["transition_id"], sla["state"], sla["schedule"]) == (
        reference["transition_id"],
        "running",
        schedule["Name"],
    )
    assert sla["due_at"] - sla["started_at"] == pytest.approx(1)  # the tests' SLA
    fires = datetime.strptime(schedule["ScheduleExpression"], "at(%Y-%m-%dT%H:%M:%S)").replace(tzinfo=UTC)
    assert 0 <= fires.timestamp() - sla["due_at"] < 5  # at the deadline (to the second), never before
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["Target"]["Arn"] == stack.arn("SlaFunction")
    assert schedule["Target"]["RoleArn"] == stack.arn("SlaSchedulerRole")
    assert schedule["Target"]["DeadLetterConfig"]["Arn"] == stack.arn("SlaFailuresQueue")
    assert json.loads(schedule["Target"]["Input"]) == {
        "lead_id": reference["lead_id"],
        "transition_id": reference["transition_id"],
    }
    assert len(notifications(notifications_file)) == 1  # and sales heard of it once


def fired(aws: dict[str, Any], stack: Stack) -> dict[str, Any]:
    """What the lead's schedule hands SlaFunction when it fires."""
    [schedule] = schedules(aws, stack)
    handed: dict[str, Any] = json.loads(schedule["Target"]["Input"])
    return handed


def wait_for_deadline(scores: ScoreRepository, lead_id: str) -> None:
    due = scores.load(lead_id).sales["sla"]["due_at"]
    time.sleep(max(0.0, due - time.time() + 0.05))


def test_nobody_acting_breaches_the_sla_once_with_one_event_and_one_escalation_per_channel(
    sales: Any,
    to_sql: Any,
    scores: ScoreRepository,
    aws: dict[str, Any],
    stack: Stack,
    notifications_file: Path,
    publish: Any,
    new_records: Any,
    filters: Any,
) -> None:
    reference = to_sql(1)
    sales.notify.lambda_handler(reference, CTX)
    lead_events(publish, new_records, filters)  # the assignment's
    owner = owner_of(scores, reference["lead_id"])
    wait_for_deadline(scores, reference["lead_id"])

    timer = fired(aws, stack)
    first = sales.sla.lambda_handler(timer, CTX)
    again = sales.sla.lambda_handler(timer, CTX)  # Scheduler delivers twice

    channels = ["reminder:file", "reminder:sns", "managers:file", "managers:sns"]  # the test stack's
    assert first["escalated"] == again["escalated"] == channels
    sla = scores.load(reference["lead_id"]).sales["sla"]
    assert sla["state"] == "breached"
    [breach] = lead_events(publish, new_records, filters)
    assert breach["detail-type"] == "Lead SLA Breached"
    assert (breach["lead_id"], breach["transition_id"], breach["owner"], breach["stage"]) == (
        reference["lead_id"],
        reference["transition_id"],
        owner,
        "SQL",
    )
    card = response_json(sales.api.lambda_handler(card_request(reference["lead_id"]), CTX))
    assert card["owner"]["user"] == owner
    assert (card["sla"]["state"], card["sla"]["due_at"]) == ("breached", breach["due_at"])
    escalations = [n for n in notifications(notifications_file) if "escalation" in n]
    assert sorted(n["escalation"] for n in escalations) == ["managers:file", "reminder:file"]
    managers = next(n for n in escalations if n["escalation"] == "managers:file")
    assert managers["subject"].startswith("SLA breached: SQL Jane Doe at Acme waiting")
    assert managers["text"].splitlines()[0] == f"Owner: {owner}"
    assert "within 1 s" in managers["text"]


def test_a_met_sla_or_a_replaced_timer_does_nothing_when_its_schedule_fires(
    sales: Any,
    to_sql: Any,
    scores: ScoreRepository,
    aws: dict[str, Any],
    stack: Stack,
    notifications_file: Path,
    publish: Any,
    new_records: Any,
    filters: Any,
    leads_table: str,
) -> None:
    reference = to_sql(1)
    sales.notify.lambda_handler(reference, CTX)
    lead_events(publish, new_records, filters)
    wait_for_deadline(scores, reference["lead_id"])
    # the rep accepted it in time: the sales workflow records it as agreed (`met`, who, when)
    stored = scores.load(reference["lead_id"])
    sla = {**stored.sales["sla"], "state": "met", "acted_at": time.time(), "acted_by": "anna@example.com"}
    ScoreRepository(leads_table).save(
        replace(stored, sales={**stored.sales, "sla": sla}), replace(stored.score, transitions=())
    )

    answer = sales.sla.lambda_handler(fired(aws, stack), CTX)
    stale = sales.sla.lambda_handler({"lead_id": reference["lead_id"], "transition_id": "x:SQL:9"}, CTX)

    assert answer["skipped"] == stale["skipped"] == "nothing to escalate"
    assert scores.load(reference["lead_id"]).sales["sla"]["state"] == "met"
    assert lead_events(publish, new_records, filters) == []
    assert [n for n in notifications(notifications_file) if "escalation" in n] == []


def card_request(lead_id: str) -> dict[str, Any]:
    return http_request(
        f"/api/leads/{lead_id}",
        route="/api/leads/{lead_id}",
        path_params={"lead_id": lead_id},
        method="GET",
        write_key=None,
        user=signed_in("marketing"),
    )


# --- reassignment through the API -----------------------------------------------------------------------


def assign_request(lead_id: str, owner: Any, *groups: str, key: str | None = None) -> dict[str, Any]:
    user = signed_in(*(groups or ("sales",)), email="Anna@Example.com")
    return http_request(
        f"/api/leads/{lead_id}/assign",
        {"owner": owner},
        route="/api/leads/{lead_id}/assign",
        path_params={"lead_id": lead_id},
        write_key=None,
        user=user,
        headers={"idempotency-key": key} if key else None,
    )


def test_a_rep_reassigns_a_lead_once_per_idempotency_key_audited_and_on_the_bus(
    sales: Any, to_sql: Any, scores: ScoreRepository, publish: Any, new_records: Any, filters: Any, items: Any
) -> None:
    lead = to_sql(1)["lead_id"]
    lead_events(publish, new_records, filters)

    first = sales.api.lambda_handler(assign_request(lead, "ben@example.com", key="k-1"), CTX)
    retry = sales.api.lambda_handler(assign_request(lead, "ben@example.com", key="k-1"), CTX)
    reused = sales.api.lambda_handler(assign_request(lead, "carl@example.com", key="k-1"), CTX)

    assert first["statusCode"] == retry["statusCode"] == 200, first["body"]
    assert response_json(first) == response_json(retry)
    assert response_json(first)["owner"] == "ben@example.com"
    assert response_json(first)["changed"] is True
    assert reused["statusCode"] == 422
    assert owner_of(scores, lead) == "ben@example.com"
    [event] = lead_events(publish, new_records, filters)
    assert (event["detail-type"], event["owner"], event["previous_owner"], event["by"], event["reason"]) == (
        "Lead Assigned",
        "ben@example.com",
        None,
        "anna@example.com",
        "reassigned",
    )
    audit = [i for i in items() if i["sk"]["S"].startswith("AUDIT#")]
    assert [(a["action"]["S"], a["by"]["S"]) for a in audit] == [("assign", "anna@example.com")]


def test_reassigning_is_refused_to_marketing_and_for_a_bad_owner_or_an_unknown_lead(
    sales: Any, to_sql: Any, scores: ScoreRepository
) -> None:
    lead = to_sql(1)["lead_id"]

    marketing = sales.api.lambda_handler(assign_request(lead, "ben@example.com", "marketing"), CTX)
    bad = sales.api.lambda_handler(assign_request(lead, "not an e-mail"), CTX)
    unknown = sales.api.lambda_handler(assign_request(lead_of("nobody"), "ben@example.com"), CTX)

    assert marketing["statusCode"] == 403
    assert bad["statusCode"] == 400
    assert [d["field"] for d in response_json(bad)["details"]] == ["owner"]
    assert unknown["statusCode"] == 404
    assert owner_of(scores, lead) is None


# --- acting while the lead is handed over ---------------------------------------------------------------


def accept_request(lead_id: str) -> dict[str, Any]:
    return http_request(
        f"/api/leads/{lead_id}/accept",
        route="/api/leads/{lead_id}/accept",
        path_params={"lead_id": lead_id},
        write_key=None,
        user=signed_in("sales", email="anna@example.com", token_use="id", sub="sub-anna"),
    )


def test_a_lead_accepted_while_it_is_handed_over_gets_no_timer_and_is_never_escalated(
    sales: Any, to_sql: Any, scores: ScoreRepository, aws: dict[str, Any], stack: Stack
) -> None:
    """A rep accepts from the list before NotifySalesFunction has written the owner: its write finds the
    lead changed, reads it again, and does not start the clock on a lead someone already took."""
    reference = to_sql(1)
    lead_id = reference["lead_id"]
    client = aws_clients.client("dynamodb")
    accepted: list[int] = []
    acting: list[bool] = []

    def rep_accepts_first(**kwargs: Any) -> None:
        if not acting:  # the first transaction (the hand-over's); the accept's own runs as usual
            acting.append(True)
            accepted.append(sales.api.lambda_handler(accept_request(lead_id), CTX)["statusCode"])

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", rep_accepts_first)
    try:
        sales.notify.lambda_handler(reference, CTX)
    finally:
        client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", rep_accepts_first)

    assert accepted == [200]
    stored = scores.load(lead_id)
    assert stored.score.stage.value == "accepted"
    assert stored.sales["owner"] in TEAM  # it is still assigned
    assert stored.sales.get("sla") is None
    assert schedules(aws, stack) == []  # the timer it had started is gone: nothing will escalate


def with_deadline_in(scores: ScoreRepository, leads_table: str, lead_id: str, seconds: float) -> None:
    """The tests' SLA is a second: the timer's deadline moved later, so the rep acts in time."""
    stored = scores.load(lead_id)
    sla = {**stored.sales["sla"], "due_at": time.time() + seconds}
    ScoreRepository(leads_table).save(
        replace(stored, sales={**stored.sales, "sla": sla}), replace(stored.score, transitions=())
    )


def test_accepting_before_the_deadline_deletes_the_timers_schedule(
    sales: Any, to_sql: Any, scores: ScoreRepository, aws: dict[str, Any], stack: Stack, leads_table: str
) -> None:
    reference = to_sql(1)
    sales.notify.lambda_handler(reference, CTX)
    [schedule] = schedules(aws, stack)
    with_deadline_in(scores, leads_table, reference["lead_id"], 300)

    answer = sales.api.lambda_handler(accept_request(reference["lead_id"]), CTX)

    assert answer["statusCode"] == 200, answer["body"]
    assert scores.load(reference["lead_id"]).score.stage.value == "accepted"
    assert scores.load(reference["lead_id"]).sales["sla"]["state"] == "met"
    with pytest.raises(ClientError) as gone:
        aws["scheduler"].get_schedule(
            GroupName=stack.physical_name("SlaScheduleGroup"), Name=schedule["Name"]
        )
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_a_timer_that_cannot_be_cancelled_does_not_fail_the_accept_and_logs_no_personal_data(
    sales: Any,
    to_sql: Any,
    scores: ScoreRepository,
    aws: dict[str, Any],
    stack: Stack,
    leads_table: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    reference = to_sql(1, email="jane.cancel@acme1.com")
    sales.notify.lambda_handler(reference, CTX)
    with_deadline_in(scores, leads_table, reference["lead_id"], 300)
    capsys.readouterr()

    def throttle(**kwargs: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "DeleteSchedule"
        )

    client = aws_clients.client("scheduler")
    client.meta.events.register("before-call.scheduler.DeleteSchedule", throttle)
    try:
        with caplog.at_level(logging.INFO):
            answer = sales.api.lambda_handler(accept_request(reference["lead_id"]), CTX)
    finally:
        client.meta.events.unregister("before-call.scheduler.DeleteSchedule", throttle)
    logged = "".join(capsys.readouterr()) + caplog.text

    assert answer["statusCode"] == 200, answer["body"]
    assert scores.load(reference["lead_id"]).score.stage.value == "accepted"
    assert len(schedules(aws, stack)) == 1  # it fires, and SlaFunction finds the SLA met
    assert "could not be cancelled" in logged
    assert "jane.cancel@acme1.com" not in logged
    assert "anna@example.com" not in logged
