"""Accounts from the leads table stream: AccountFunction rolls each lead change up into the accounts the lead
joined (its STATE records, through the template's filter), and PublishFunction puts the account events it
recorded (ATRANS# items, the AccountsTable stream) on the bus once each.

The roll-up runs on the unit tests' small account model (tests/unit/account_model.py), so that these tests
pin the wiring, not accounts.yaml; the handler itself runs once on the shipped model."""

import importlib
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from leadstream.accounts.batch import roll_up
from leadstream.accounts.repository import AccountLedger
from leadstream.contracts.events import ACCOUNT_STAGE_CHANGED, ACCOUNT_SURGED
from leadstream.scoring.model_file import load_model

from cli.__main__ import main as cli_main
from local.template import Stack
from tests.builders import LambdaContext, http_request, stream_records
from tests.integration.conftest import bus_entries, dynamodb_calls, lead_of, notifications
from tests.integration.test_scoring_flow import visit_and_request_demo
from tests.unit.account_model import (
    ECONOMIC_BUYER,
    MID_SIZE,
    ROLES,
    SOFTWARE,
    TECHNICAL,
    USER,
    build_account_model,
)

CTX = LambdaContext()
ACME = "acme.com"
COMMITTEE = {"ann": "CFO", "bob": "CTO", "cat": "Software Engineer"}


@pytest.fixture
def ledger(aws: dict[str, Any], stack: Stack) -> AccountLedger:
    return AccountLedger(stack.physical_name("AccountsTable"), stack.physical_name("LeadsTable"))


@pytest.fixture
def account_records(aws: dict[str, Any], stack: Stack) -> Any:
    """New records of the accounts table's stream that a function's subscription to it lets through
    (PublishFunction unless named)."""
    table = stack.physical_name("AccountsTable")
    subs = {s.function: s for s in stack.streams if s.table == "AccountsTable"}
    seen: set[str] = set()

    def read(function: str = "PublishFunction") -> list[dict[str, Any]]:
        fresh = [r for r in stream_records(aws, table) if r["eventID"] not in seen]
        seen.update(r["eventID"] for r in fresh)
        return [r for r in fresh if subs[function].matches(r)]

    return read


def people_of_acme(
    track: Any, form: Any, score: Any, new_records: Any, filters: Any, domain: str = ACME
) -> None:
    """Three people of one company read a few pages and request a demo with their work e-mail and title;
    ScoreFunction scores them."""
    for person, title in COMMITTEE.items():
        visit_and_request_demo(track, form, anonymous_id=person, email=f"{person}@{domain}", title=title)
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }


def roll(records: list[dict[str, Any]], ledger: AccountLedger, scores: Any) -> Any:
    return roll_up(
        list(DynamoDBStreamEvent({"Records": records}).records),
        scores,
        ledger,
        build_account_model(),
        load_model(),
    )


def test_three_people_of_one_company_make_an_account_score_and_committee_coverage(
    track, form, score, new_records, filters, scores, ledger
):
    people_of_acme(track, form, score, new_records, filters)

    result = roll(new_records(filters["AccountFunction"]), ledger, scores)

    assert result.failed_sequence_numbers == []
    state = ledger.state(ACME)
    assert state is not None
    model = build_account_model()
    card = state.card(model, load_model(), state.as_of)
    assert card.people == 3
    assert card.roles == {
        "economic_buyer": 1,
        "technical_evaluator": 1,
        "decision_maker": 0,
        "champion": 0,
        "user": 1,
    }
    assert card.coverage == round(3 / ROLES, 3)
    assert card.score >= ECONOMIC_BUYER + TECHNICAL + USER + card.engagement
    assert card.engaged_people == 3
    assert card.stage == "MQA"
    assert len(card.top_people) == len(model.engagement.weights)


def test_a_replayed_account_batch_changes_nothing(
    track, form, score, new_records, filters, scores, ledger, account_records
):
    people_of_acme(track, form, score, new_records, filters)
    batch = new_records(filters["AccountFunction"])
    roll(batch, ledger, scores)
    before, outbox = ledger.state(ACME), account_records()

    with dynamodb_calls() as calls:
        again = roll(batch, ledger, scores)

    assert again.failed_sequence_numbers == []
    assert again.accounts_updated == 0
    assert ledger.state(ACME) == before
    assert account_records() == []  # no event recorded again
    assert "TransactWriteItems" not in calls
    assert outbox != []


def test_the_account_stage_change_and_the_surge_are_each_published_once(
    track, form, score, publish, new_records, filters, scores, ledger, account_records
):
    people_of_acme(track, form, score, new_records, filters)
    roll(new_records(filters["AccountFunction"]), ledger, scores)
    outbox = account_records()

    with bus_entries() as entries:
        assert publish.lambda_handler({"Records": outbox}, CTX) == {"batchItemFailures": []}
        assert publish.lambda_handler({"Records": outbox}, CTX) == {"batchItemFailures": []}  # redelivered

    kinds = sorted(e["DetailType"] for e in entries)
    assert kinds.count(ACCOUNT_SURGED) == 1
    assert ACCOUNT_STAGE_CHANGED in kinds
    assert len(kinds) == len(outbox)  # one event per outbox item, whatever the redelivery
    assert all(e["Resources"] == [ACME] for e in entries)


def test_a_lead_without_an_account_costs_no_account_reads_or_writes(
    track, form, score, new_records, filters, scores, ledger
):
    visit_and_request_demo(track, form, anonymous_id="dan", email="dan@gmail.com")
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    batch = new_records(filters["AccountFunction"])
    assert batch != []

    with dynamodb_calls() as calls:
        result = roll(batch, ledger, scores)

    assert result.lead_changes == 0
    assert calls == {"BatchGetItem": 1}  # the leads' PROFILEs, and nothing else


def test_the_handler_rolls_the_template_filtered_records_up_on_the_shipped_model(
    track, form, score, account, new_records, filters, ledger
):
    people_of_acme(track, form, score, new_records, filters)
    batch = new_records(filters["AccountFunction"])

    assert account.lambda_handler({"Records": batch}, CTX) == {"batchItemFailures": []}
    assert account.lambda_handler({"Records": batch}, CTX) == {"batchItemFailures": []}

    state = ledger.state(ACME)
    assert state is not None
    assert state.people == 3
    # its own STATE writes are not lead changes: nothing of the accounts table wakes it
    assert new_records(filters["AccountFunction"]) == []


def test_the_sales_notification_names_the_account_and_its_other_engaged_people(
    track,
    form,
    score,
    account,
    publish,
    notify,
    new_records,
    filters,
    published,
    handed_over,
    notifications_file,
    stack,
):
    people_of_acme(track, form, score, new_records, filters)
    written = new_records()  # what scoring wrote: each consumer gets what its filter lets through
    leads = {s.function: s for s in stack.streams if s.table == "LeadsTable"}
    for function, handler in (("AccountFunction", account), ("PublishFunction", publish)):
        batch = [r for r in written if leads[function].matches(r)]
        assert handler.lambda_handler({"Records": batch}, CTX) == {"batchItemFailures": []}
    [cat] = [e for e in published() if e["detail"]["card"]["email"] == f"cat@{ACME}"]

    notify.lambda_handler(handed_over(cat), CTX)

    [sent] = notifications(notifications_file)
    lines = sent["text"].splitlines()
    [about] = [line for line in lines if line.startswith(f"Account {ACME}: score ")]
    assert "stage MQA, 3 engaged of 3 people" in about
    assert "buying committee 60% covered" in about  # CFO, CTO, engineer: three of the five roles
    [others] = [line for line in lines if line.startswith("Also engaged there: ")]
    assert "CFO (" in others
    assert "CTO (" in others
    assert "Software Engineer" not in others  # cat herself is the lead of this notification
    assert f"ann@{ACME}" not in sent["text"]  # nobody else's e-mail goes out with it


def test_a_group_call_gives_the_account_its_traits_and_fit_and_a_replay_changes_nothing(
    track, ledger, scores, account_records
):
    group = {
        "userId": "u-1",
        "groupId": "g-1",
        "traits": {
            "name": "Initech",
            "website": "https://initech.com",
            "industry": "Software",
            "employees": 120,
        },
    }
    assert track.lambda_handler(http_request("/v1/group", group), CTX)["statusCode"] == 200
    batch = account_records("AccountFunction")
    assert batch != []  # the account's PROFILE: named on the join, traits on the group call

    roll(batch, ledger, scores)

    state = ledger.state("initech.com")
    assert state is not None
    assert state.traits == {"name": "Initech", "industry": "Software", "employees": "120"}
    assert state.fit(build_account_model()) == SOFTWARE + MID_SIZE
    assert account_records("AccountFunction") == []  # its own STATE write does not wake it

    with dynamodb_calls() as calls:
        roll(batch, ledger, scores)
    assert ledger.state("initech.com") == state
    assert "TransactWriteItems" not in calls


def test_an_erased_or_expired_person_leaves_the_accounts_score_not_only_its_member_list(
    track, form, score, expire, new_records, filters, scores, ledger, moto_endpoint, capsys, ttl_deletes
):
    people_of_acme(track, form, score, new_records, filters)
    account = importlib.import_module("functions.account.app")  # the shipped model, as deployed
    assert account.lambda_handler({"Records": new_records(filters["AccountFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    before = ledger.state(ACME)
    assert before is not None
    assert before.people == 3
    ann, bob = lead_of("ann"), lead_of("bob")
    assert {ann, bob} <= set(before.board)

    capsys.readouterr()
    assert cli_main(["--endpoint", moto_endpoint, "people", "erase", "ann@acme.com", "--yes"]) == 0
    after_erase = ledger.state(ACME)
    assert after_erase is not None
    assert after_erase.people == 2
    assert ann not in after_erase.board  # her title and points are gone from the account too
    assert "economic_buyer" not in after_erase.roles  # she was its CFO

    assert expire.lambda_handler(ttl_deletes(bob), CTX) == {"batchItemFailures": []}  # a year of silence
    after_expiry = ledger.state(ACME)
    assert after_expiry is not None
    assert after_expiry.people == 1
    assert bob not in after_expiry.board


def test_a_notification_sent_before_its_account_counted_anyone_has_no_misleading_account_line(
    track,
    form,
    score,
    account,
    publish,
    notify,
    new_records,
    filters,
    published,
    handed_over,
    notifications_file,
    stack,
    aws,
):
    visit_and_request_demo(track, form, anonymous_id="dana", email=f"dana@{ACME}", title="CTO")
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    written = new_records()
    leads = {s.function: s for s in stack.streams if s.table == "LeadsTable"}
    publish.lambda_handler({"Records": [r for r in written if leads["PublishFunction"].matches(r)]}, CTX)
    # the account's traits arrived (its PROFILE, through the accounts table stream), the lead's change not yet
    accounts_table = stack.physical_name("AccountsTable")
    profiles = [
        r
        for r in stream_records(aws, accounts_table)
        if r["dynamodb"]["Keys"]["sk"]["S"] == "PROFILE" and r["eventName"] in ("INSERT", "MODIFY")
    ]
    assert account.lambda_handler({"Records": profiles}, CTX) == {"batchItemFailures": []}
    [dana] = published()

    notify.lambda_handler(handed_over(dana), CTX)

    [sent] = notifications(notifications_file)
    assert "0 engaged of 0 people" not in sent["text"]
    assert not any(line.startswith(f"Account {ACME}: ") for line in sent["text"].splitlines())
