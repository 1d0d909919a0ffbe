"""Merges are reversible: `python -m cli people unmerge` splits a wrong merge and restores both leads.

Two people browse and identify on their own devices; an alias call then wrongly joins Bob's browser to
Alice's user id, and Bob's next page view folds his whole history into Alice (she becomes an SQL and sales
is told). The operator sees the merge in `people merges` and undoes it. Through the public interfaces: the
tracking API, the stream as each function's template filter lets it through (ScoreFunction,
AccountFunction, PublishFunction, then NotifySalesFunction from the bus), the repositories, and the CLI's
output (merges, export).
"""

import argparse
import contextlib
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from leadstream.accounts.repository import AccountLedger
from leadstream.identity.identifiers import Identifier, identifiers
from leadstream.identity.merges import Merge
from leadstream.identity.repository import IdentityRepository
from leadstream.platform import aws as aws_clients
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model_file import load_model
from leadstream.scoring.repository import ScoreRepository
from leadstream.scoring.score import LeadScore, apply_events
from leadstream.tracking.repository import EventRepository

from cli import people
from cli import target as targets
from cli.__main__ import main
from local.template import Stack
from tests.builders import LambdaContext, http_request, page_view
from tests.integration.conftest import lead_of, notifications
from tests.integration.test_identity_graph import named

CTX = LambdaContext()
ALICE, BOB = "alice@acme.com", "bob@beta.io"


def call(track: Any, path: str, body: dict[str, Any]) -> None:
    response = track.lambda_handler(http_request(path, body), CTX)
    assert response["statusCode"] == 200, response["body"]


def visit(track: Any, device: str, path: str, message_id: str | None = None) -> None:
    call(track, "/v1/page", page_view(device, path, message_id=message_id))


@pytest.fixture
def settle(
    aws: dict[str, Any],
    stack: Stack,
    new_records: Any,
    score: Any,
    account: Any,
    publish: Any,
    notify: Any,
    published: Any,
    handed_over: Any,
) -> Any:
    """Runs the pipeline until it is quiet: each new leads-table stream record goes to the functions whose
    template filter lets it through (scoring, accounts, the outbox), then what the bus rule delivers goes
    to NotifySalesFunction. Returns the stage changes the outbox received: (lead, stage) each."""
    subscriptions = [s for s in stack.streams if s.table == "LeadsTable"]
    handlers = {"ScoreFunction": score, "AccountFunction": account, "PublishFunction": publish}

    def run() -> list[tuple[str, str]]:
        outbox = []
        while records := new_records():
            for sub in subscriptions:
                mine = [r for r in records if sub.matches(r)]
                if mine and sub.function in handlers:
                    answer = handlers[sub.function].lambda_handler({"Records": mine}, CTX)
                    assert answer == {"batchItemFailures": []}, (sub.function, answer)
                    if sub.function == "PublishFunction":
                        outbox += [  # its stage changes (TRANS#), not other lead events (OUT#: owners)
                            (r["dynamodb"]["NewImage"]["pk"]["S"][5:], r["dynamodb"]["NewImage"]["to"]["S"])
                            for r in mine
                            if r["dynamodb"]["Keys"]["sk"]["S"].startswith("TRANS#")
                        ]
        for event in published():
            notify.lambda_handler(handed_over(event), CTX)
        return outbox

    return run


def people_cli(moto_endpoint: str, capsys: Any, *argv: str) -> tuple[int, str, str]:
    top = argparse.ArgumentParser()
    people.add_parser(top.add_subparsers(dest="command", required=True))
    capsys.readouterr()  # what the handlers printed before (a metrics flush) is not the command's output
    code = people.run(top.parse_args(["people", *argv]), targets.local(moto_endpoint, "x"))
    out, err = capsys.readouterr()
    return code, out, err


def seen(score: LeadScore) -> dict[str, Any]:
    """What sales and accounts see of a lead's score (behaviour as shown, to a hundredth)."""
    return {
        "behaviour": round(score.behaviour, 2),
        "as_of": score.as_of,
        "stage": score.stage,
        "known": score.known,
        "fit": score.fit_points,
        "contributions": score.contributions,
        "first_touch": score.first_touch,
        "first_seen": score.first_seen,
        "last_seen": score.last_seen,
        "events": score.events,
        "page_views": score.page_views,
        "sessions": score.sessions,
    }


def board(ledger: AccountLedger, domain: str) -> dict[str, Any]:
    """An account's members as it counts them: people, their roles, its stage, each lead's entry."""
    state = ledger.state(domain)
    assert state is not None
    entries = {lead: (round(e.behaviour, 2), e.as_of, e.role) for lead, e in state.board.items()}
    return {"people": state.people, "roles": state.roles, "stage": state.stage, "board": entries}


def exported_events(moto_endpoint: str, capsys: Any, email: str) -> set[tuple[str, str]]:
    code, out, _ = people_cli(moto_endpoint, capsys, "export", email)
    assert code == 0
    return {(e["pk"], e["sk"]) for e in json.loads(out)["items"].get("events", [])}


def two_people(track: Any, settle: Any) -> dict[str, list[Identifier]]:
    """Alice on her laptop, Bob on his laptop and phone: each browses and identifies; all scored. Their
    leads (each one's laptop's), with the identifiers that belong to each."""
    for path in ("/", "/pricing", "/blog/one"):
        visit(track, "a", path)
    call(
        track,
        "/v1/identify",
        {"anonymousId": "a", "userId": "u-alice", "traits": {"email": ALICE, "title": "CFO"}},
    )
    for path in ("/request-demo", "/blog/x"):
        visit(track, "b", path)
    call(track, "/v1/identify", {"anonymousId": "b", "traits": {"email": BOB, "title": "Engineer"}})
    visit(track, "b-phone", "/pricing")
    call(track, "/v1/identify", {"anonymousId": "b-phone", "traits": {"email": BOB}})  # his phone joins him
    settle()
    return {
        lead_of("a"): identifiers("a", "u-alice", ALICE),
        lead_of("b"): identifiers("b", None, BOB) + identifiers("b-phone", None, None),
    }


def wrong_alias(track: Any, settle: Any) -> None:
    """Bob's laptop is given Alice's user id, and Bob reads a page on it: his history becomes hers."""
    call(track, "/v1/alias", {"previousId": "b", "userId": "u-alice"})
    visit(track, "b", "/blog/two", message_id="bob-later")
    settle()


def test_a_wrong_merge_is_undone_and_both_leads_are_restored_exactly(
    aws, track, settle, scores: ScoreRepository, stack, moto_endpoint, capsys, notifications_file: Path
):
    identities = IdentityRepository(scores.table)
    ledger = AccountLedger(stack.physical_name("AccountsTable"), scores.table)
    alice, bob = lead_of("a"), lead_of("b")
    ids = two_people(track, settle)
    before = {lead: scores.load(lead).score for lead in (alice, bob)}
    accounts_before = {domain: board(ledger, domain) for domain in ("acme.com", "beta.io")}
    events_before = {email: exported_events(moto_endpoint, capsys, email) for email in (ALICE, BOB)}
    assert before[alice].stage is Stage.LEAD
    assert {named(identities, scores, i) for i in ids[bob]} == {bob}
    told = len(notifications(notifications_file))

    # Given a wrong alias (Bob's browser given Alice's user id), and Bob's next page view on it
    wrong_alias(track, settle)
    merged = scores.load(alice).score
    assert merged.events == before[alice].events + before[bob].events + 1  # his history became hers
    assert merged.stage is Stage.SQL
    assert len(notifications(notifications_file)) == told + 1  # and sales was told so
    assert {named(identities, scores, i) for i in ids[alice] + ids[bob]} == {alice}
    assert exported_events(moto_endpoint, capsys, ALICE) > events_before[ALICE] | events_before[BOB]
    assert board(ledger, "acme.com")["board"][alice] != accounts_before["acme.com"]["board"][alice]

    # When the operator reads the merges and undoes Bob's
    code, out, _ = people_cli(moto_endpoint, capsys, "merges", ALICE)
    assert code == 0
    command = f"python -m cli people unmerge {alice} --lead {bob} --reason '<why it was wrong>'"
    assert f"  {bob}: {command}" in out.splitlines()
    code, out, err = people_cli(
        moto_endpoint, capsys, "unmerge", ALICE, "--lead", bob, "--reason", "wrong alias", "--by", "ops"
    )
    assert code == 0, err
    assert out.splitlines()[0] == f"Lead {bob} split off lead {alice}: a lead of its own again."
    outbox = settle()

    # Then both leads are as they were before the merge (Bob with his later page view), nobody is told
    # about a stage again (Bob's page view makes him an MQL, as it would have without the merge), and
    # each identifier names its own person's lead
    later = next(e for e, _ in EventRepository(scores.table).of_lead(bob) if e.message_id == "bob-later")
    expected_bob = apply_events(load_model(), replace(before[bob], transitions=()), [later])
    assert seen(scores.load(alice).score) == seen(before[alice])
    assert seen(scores.load(bob).score) == seen(expected_bob)
    assert scores.load(bob).merged_into is None
    assert expected_bob.stage is Stage.MQL
    assert outbox == [(bob, "MQL")]
    assert len(notifications(notifications_file)) == told + 1
    for lead, own in ids.items():
        assert {named(identities, scores, i) for i in own} == {lead}
    assert exported_events(moto_endpoint, capsys, ALICE) == events_before[ALICE]
    assert exported_events(moto_endpoint, capsys, BOB) == events_before[BOB] | {
        (f"LEAD#{bob}", "EVT#bob-later")
    }
    assert board(ledger, "acme.com") == accounts_before["acme.com"]  # her account: her contribution only
    bob_account = board(ledger, "beta.io")
    entry = (round(expected_bob.behaviour, 2), expected_bob.as_of, "user")
    assert bob_account == {**accounts_before["beta.io"], "board": {bob: entry}}

    # and the merge shows as undone; undoing it again changes nothing
    code, out, _ = people_cli(moto_endpoint, capsys, "merges", ALICE)
    [line] = [line for line in out.splitlines() if line.startswith(f"  {bob}: ")]
    assert line.startswith(f"  {bob}: undone ")
    assert line.endswith(" by ops: wrong alias")
    state = {lead: scores.load(lead) for lead in (alice, bob)}
    code, out, _ = people_cli(moto_endpoint, capsys, "unmerge", alice, "--lead", bob, "--reason", "again")
    assert code == 0
    assert "nothing to do" in out
    assert {lead: scores.load(lead) for lead in (alice, bob)} == state
    assert settle() == []

    # and what each does next counts for them alone
    visit(track, "a", "/blog/three")
    call(track, "/v1/identify", {"anonymousId": "b", "traits": {"email": BOB}})
    visit(track, "b", "/careers")
    settle()
    assert scores.load(alice).score.events == before[alice].events + 1
    assert scores.load(bob).score.events == expected_bob.events + 2
    for lead, own in ids.items():
        assert {named(identities, scores, i) for i in own} == {lead}


def test_an_event_scored_while_the_unmerge_rescores_counts(aws, track, settle, scores, moto_endpoint, capsys):
    alice = lead_of("a")
    two_people(track, settle)
    before = scores.load(alice).score
    wrong_alias(track, settle)
    armed = [True]

    def alice_visits_meanwhile(params: dict[str, Any], **kwargs: Any) -> None:
        item = json.loads(params["body"]).get("Item", {})
        if armed and item.get("pk") == {"S": f"LEAD#{alice}"} and item.get("sk") == {"S": "STATE"}:
            armed.clear()  # the unmerge read her STATE and is about to write it: she is scored first
            visit(track, "a", "/blog/meanwhile", message_id="alice-meanwhile")
            settle()

    with put_items(alice_visits_meanwhile):
        code, _, err = people_cli(
            moto_endpoint, capsys, "unmerge", ALICE, "--lead", lead_of("b"), "--reason", "x"
        )
    settle()

    assert code == 0, err
    assert not armed
    [meanwhile] = [
        e for e, _ in EventRepository(scores.table).of_lead(alice) if e.message_id == "alice-meanwhile"
    ]
    assert seen(scores.load(alice).score) == seen(apply_events(load_model(), before, [meanwhile]))


def test_a_merge_made_while_unmerging_stops_it_with_nothing_lost_and_running_it_again_finishes(
    aws, track, settle, scores, moto_endpoint, capsys
):
    identities = IdentityRepository(scores.table)
    alice, bob, carol = lead_of("a"), lead_of("b"), lead_of("c")
    ids = two_people(track, settle)
    call(
        track,
        "/v1/identify",
        {"anonymousId": "c", "userId": "u-carol", "traits": {"email": "carol@gamma.io"}},
    )
    settle()
    before, hers = scores.load(bob).score, scores.load(alice).score
    wrong_alias(track, settle)
    armed = [True]

    def alice_is_carol_meanwhile(params: dict[str, Any], **kwargs: Any) -> None:
        # Alice's laptop is aliased to Carol's user id: Alice's lead, with Bob's, joins Carol's (an alias says
        # its identifiers are one person, so it merges; an identify with Carol's e-mail on Alice's laptop
        # would hand the laptop over instead)
        if armed:
            armed.clear()
            call(track, "/v1/alias", {"previousId": "a", "userId": "u-carol"})

    unmerge = ["people", "unmerge", ALICE, "--lead", bob, "--reason", "wrong alias"]
    with transactions(alice_is_carol_meanwhile):
        assert main(["--endpoint", moto_endpoint, *unmerge]) == 1
    assert "run the command again" in capsys.readouterr().err
    assert scores.load(bob).merged_into == carol  # moved up with Alice's lead: nothing half done

    assert main(["--endpoint", moto_endpoint, *unmerge]) == 0
    settle()

    assert {named(identities, scores, i) for i in ids[bob]} == {bob}
    assert {named(identities, scores, i) for i in ids[alice]} == {carol}
    later = next(e for e, _ in EventRepository(scores.table).of_lead(bob) if e.message_id == "bob-later")
    assert seen(scores.load(bob).score) == seen(apply_events(load_model(), before, [later]))
    assert scores.load(carol).score.events == 1 + hers.events  # Carol's and Alice's (an alias stores none)
    assert seen(scores.load(alice).score) == seen(hers)  # hers as it was, should she be split off


def test_a_merge_recorded_before_merges_kept_their_links_is_not_undone(
    aws, leads_table, moto_endpoint, capsys
):
    identities = IdentityRepository(leads_table)
    old = Merge("L-b", "L-a", "same e-mail", "identify", None, datetime.now(UTC))  # no links, no members
    assert identities.merge("L-b", "L-a", old)

    code = main(["--endpoint", moto_endpoint, "people", "unmerge", "L-a", "--lead", "L-b", "--reason", "x"])

    assert code == 1
    assert "recorded before merges kept what undoing them needs" in capsys.readouterr().err
    assert identities.marks(["L-b"])["L-b"].merged_into == "L-a"
    assert (
        main(["--endpoint", moto_endpoint, "people", "unmerge", "L-a", "--lead", "L-x", "--reason", "x"]) == 1
    )
    assert "no merge of lead L-x is recorded for lead L-a" in capsys.readouterr().err


def test_a_merge_is_not_written_when_the_merged_roots_members_changed_since_they_were_read(aws, leads_table):
    identities = IdentityRepository(leads_table)
    why = Merge("L-r", "L-w", "alias call", "alias", None, datetime.now(UTC), undoable=True)  # read: none
    assert identities.merge("L-m", "L-r")  # meanwhile another call merged a lead into it

    assert not identities.merge("L-r", "L-w", why)  # the record would miss it: re-read and decide again

    assert identities.marks(["L-r"])["L-r"].merged_into is None
    assert identities.merge("L-r", "L-w", replace(why, members=("L-m",)))
    assert identities.merge_record("L-w", "L-r").members == ("L-m",)  # type: ignore[union-attr]


@contextlib.contextmanager
def put_items(hook: Any) -> Iterator[None]:
    """`hook(params)` before each PutItem the process makes (at its one DynamoDB client)."""
    with _before("before-call.dynamodb.PutItem", hook):
        yield


@contextlib.contextmanager
def transactions(hook: Any) -> Iterator[None]:
    """`hook(params)` before each TransactWriteItems the process makes."""
    with _before("before-call.dynamodb.TransactWriteItems", hook):
        yield


@contextlib.contextmanager
def _before(event: str, hook: Any) -> Iterator[None]:
    client = aws_clients.client("dynamodb")
    client.meta.events.register(event, hook)
    try:
        yield
    finally:
        client.meta.events.unregister(event, hook)
