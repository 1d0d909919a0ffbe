"""Companies of anonymous visitors, wired: TrackFunction and FormFunction look the visitor's network up (a
fake IPinfo on loopback, the token in Secrets Manager) before the IP is anonymised, keep the business's
domain on the event, scoring carries it to the lead's STATE and AccountFunction counts the lead in ONE
account by the rule: group call > e-mail domain > company by IP.

The functions run as a container started with the feature configured (their module imported afresh with
COMPANY_LOOKUP_SECRET and COMPANY_LOOKUP_URL set); the account roll-up runs on the unit tests' small model.
"""

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from leadstream.accounts.batch import roll_up
from leadstream.accounts.membership import Basis
from leadstream.accounts.repository import AccountLedger, AccountRepository
from leadstream.accounts.score import AccountState
from leadstream.platform import secrets
from leadstream.scoring.model_file import load_model
from leadstream.tracking.repository import EventRepository

from cli import people
from cli import target as targets
from cli.__main__ import main
from local.template import Stack
from tests.builders import LambdaContext, http_request, page_view, stream_records
from tests.fakes.ipinfo import FakeIpinfo
from tests.integration.conftest import lead_of
from tests.integration.test_company_lookup import NETWORKS, SECRET, TOKEN
from tests.unit.account_model import build_account_model

CTX = LambdaContext()
ACME = "acme.co.uk"  # what the fake says of 81.2.69.0/24: "Acme Widgets Ltd", www.eu.acme.co.uk
ACME_IP = "81.2.69.77"
ISP_IP = "84.17.32.9"
HOSTING_IP = "3.120.0.200"


@pytest.fixture
def ipinfo() -> Iterator[FakeIpinfo]:
    fake = FakeIpinfo(TOKEN, NETWORKS)
    yield fake
    fake.stop()


def _fresh(module: str) -> ModuleType:
    """The function's module imported again: a new container, with the environment as it is now."""
    name = f"functions.{module}.app"
    return importlib.reload(sys.modules[name]) if name in sys.modules else importlib.import_module(name)


@pytest.fixture
def lookups(aws: dict[str, Any], ipinfo: FakeIpinfo, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """TrackFunction and FormFunction containers started with company lookups configured."""
    aws["secretsmanager"].create_secret(Name=SECRET, SecretString=TOKEN)
    monkeypatch.setenv("COMPANY_LOOKUP_SECRET", SECRET)
    monkeypatch.setenv("COMPANY_LOOKUP_URL", ipinfo.url)

    class Functions:
        track = _fresh("track")
        form = _fresh("form")

    yield Functions
    monkeypatch.undo()
    secrets.forget()
    _fresh("track")  # the other tests' containers: no lookups
    _fresh("form")


@pytest.fixture
def ledger(aws: dict[str, Any], stack: Stack) -> AccountLedger:
    return AccountLedger(stack.physical_name("AccountsTable"), stack.physical_name("LeadsTable"))


@pytest.fixture
def accounts(aws: dict[str, Any], stack: Stack) -> AccountRepository:
    return AccountRepository(stack.physical_name("AccountsTable"))


@pytest.fixture
def events(aws: dict[str, Any], leads_table: str) -> EventRepository:
    return EventRepository(leads_table)


@pytest.fixture
def account_changes(aws: dict[str, Any], stack: Stack) -> Any:
    """New records of the accounts table's stream that AccountFunction's subscription lets through."""
    table = stack.physical_name("AccountsTable")
    [sub] = [s for s in stack.streams if s.table == "AccountsTable" and s.function == "AccountFunction"]
    seen: set[str] = set()

    def read() -> list[dict[str, Any]]:
        fresh = [r for r in stream_records(aws, table) if r["eventID"] not in seen]
        seen.update(r["eventID"] for r in fresh)
        return [r for r in fresh if sub.matches(r)]

    return read


@pytest.fixture
def settle(
    score: ModuleType,
    new_records: Any,
    stack: Stack,
    account_changes: Any,
    ledger: AccountLedger,
    scores: Any,
) -> Any:
    """Score what was stored, then roll the lead changes and account profiles up into the accounts, as
    AccountFunction's two subscriptions deliver them."""

    subs = {s.function: s for s in stack.streams if s.table == "LeadsTable"}

    def run() -> None:
        stored = new_records()  # what ingest wrote (events, and merges): each subscription sees it
        scoring = [r for r in stored if subs["ScoreFunction"].matches(r)]
        assert score.lambda_handler({"Records": scoring}, CTX) == {"batchItemFailures": []}
        lead_changes = [r for r in stored + new_records() if subs["AccountFunction"].matches(r)]
        raw = account_changes() + lead_changes
        records = list(DynamoDBStreamEvent({"Records": raw}).records)
        result = roll_up(records, scores, ledger, build_account_model(), load_model())
        assert result.failed_sequence_numbers == []

    return run


def pages(track: ModuleType, anonymous_id: str, ip: str | None, *paths: str) -> None:
    for path in paths or ("/", "/pricing"):
        context = {"ip": ip} if ip else {}
        response = track.lambda_handler(
            http_request("/v1/page", page_view(anonymous_id, path, **context)), CTX
        )
        assert response["statusCode"] == 200


def identify(track: ModuleType, anonymous_id: str, email: str, title: str, name: str = "Jane Doe") -> None:
    body = {"anonymousId": anonymous_id, "traits": {"email": email, "title": title, "name": name}}
    assert track.lambda_handler(http_request("/v1/identify", body), CTX)["statusCode"] == 200


def group(track: ModuleType, anonymous_id: str, domain: str, name: str) -> None:
    body = {"anonymousId": anonymous_id, "groupId": domain, "traits": {"name": name, "website": domain}}
    assert track.lambda_handler(http_request("/v1/group", body), CTX)["statusCode"] == 200


def members(ledger: AccountLedger, domain: str) -> dict[str, tuple[str | None, bool]]:
    """lead -> (basis, anonymous) of the people an account counts now."""
    return {m.lead_id: (m.basis, m.anonymous) for m, _claims in ledger.members(domain) if m.member}


def state(ledger: AccountLedger, domain: str) -> AccountState:
    found = ledger.state(domain)
    assert found is not None, f"no account state for {domain}"
    return found


def engagement(ledger: AccountLedger, domain: str) -> float:
    found = state(ledger, domain)
    return found.engagement_at(build_account_model(), load_model(), found.as_of)  # type: ignore[arg-type]


# --- an anonymous visitor of a business is an anonymous lead of its account -------------------------------


def test_an_anonymous_visitor_at_a_business_network_is_an_anonymous_member_of_its_account(
    lookups, settle, ledger, accounts, events, ipinfo
):
    pages(lookups.track, "visitor", ACME_IP, "/", "/pricing", "/docs")
    settle()

    lead = lead_of("visitor")
    stored = [event for event, _at in events.of_lead(lead)]
    assert {e.company for e in stored} == {ACME}  # the domain only: no name, no address
    assert {e.ip for e in stored} == {"81.2.69.0"}
    assert members(ledger, ACME) == {lead: (Basis.IP.value, True)}
    account = state(ledger, ACME)
    assert (account.people, account.anonymous) == (1, 1)
    assert engagement(ledger, ACME) > 0
    profile = accounts.profile(ACME)
    assert profile is not None
    assert profile.name == "Acme Widgets Ltd"
    assert ipinfo.asked == ["81.2.69.0"]


@pytest.mark.parametrize("ip", [ISP_IP, HOSTING_IP, "152.34.212.1", "66.87.125.72", "18.10.0.33"])
def test_isp_hosting_vpn_mobile_and_campus_visitors_create_no_account(lookups, settle, ledger, events, ip):
    pages(lookups.track, "visitor", ip)
    settle()

    assert {e.company for e, _at in events.of_lead(lead_of("visitor"))} == {None}
    assert ledger.domains() == []


def test_without_a_token_secret_nothing_is_looked_up(aws, track, settle, ledger, events, ipinfo):
    pages(track, "visitor", ACME_IP)
    settle()

    assert ipinfo.asked == []
    assert {e.company for e, _at in events.of_lead(lead_of("visitor"))} == {None}
    assert ledger.domains() == []


def test_a_hundred_visitors_of_one_network_in_a_batch_and_after_cost_one_lookup(lookups, events, ipinfo):
    batch = {
        "batch": [
            {"type": "page", **page_view(f"visitor-{n}", "/pricing", ip=f"81.2.69.{n + 1}")}
            for n in range(100)
        ]
    }
    response = lookups.track.lambda_handler(http_request("/v1/batch", batch), CTX)
    assert response["statusCode"] == 200
    pages(lookups.track, "later", "81.2.69.200")
    pages(_fresh("track"), "another-container", "81.2.69.201")  # its memory is empty; the cache table is not

    assert ipinfo.asked == ["81.2.69.0"]
    assert {e.company for e, _at in events.of_lead(lead_of("visitor-99"))} == {ACME}
    assert {e.company for e, _at in events.of_lead(lead_of("another-container"))} == {ACME}


def test_a_form_from_a_browser_at_a_business_network_carries_the_company(lookups, events):
    request = http_request(
        "/v1/forms/demo-request",
        {"email": "jo@gmail.com", "anonymousId": "jo", "name": "Jo"},
        route="/v1/forms/{form_id}",
        path_params={"form_id": "demo-request"},
        headers={"origin": "https://www.acme-demo.test"},
    )
    request["requestContext"]["http"]["sourceIp"] = ACME_IP
    assert lookups.form.lambda_handler(request, CTX)["statusCode"] == 200

    assert {e.company for e, _at in events.of_lead(lead_of("jo"))} == {ACME}


def test_a_server_sides_own_address_is_never_looked_up(lookups, events, ipinfo):
    request = http_request("/v1/page", page_view("visitor", "/pricing"))  # no Origin, no context.ip
    request["requestContext"]["http"]["sourceIp"] = ACME_IP
    assert lookups.track.lambda_handler(request, CTX)["statusCode"] == 200

    assert ipinfo.asked == []
    assert {e.company for e, _at in events.of_lead(lead_of("visitor"))} == {None}


# --- the rule: group call > e-mail domain > company by IP; one account at a time ----------------------------


def test_the_anonymous_visitor_identifies_with_the_companys_e_mail_one_member_history_kept(
    lookups, settle, ledger, scores
):
    pages(lookups.track, "visitor", ACME_IP, "/", "/pricing", "/docs")
    settle()
    lead = lead_of("visitor")
    before = engagement(ledger, ACME)

    identify(lookups.track, "visitor", "jane@acme.co.uk", "CFO")
    settle()

    assert members(ledger, ACME) == {lead: (Basis.EMAIL.value, False)}  # the basis upgraded
    account = state(ledger, ACME)
    assert (account.people, account.anonymous) == (1, 0)  # not counted twice
    assert account.roles == {"economic_buyer": 1}
    kept = scores.load(lead).score
    assert kept.page_views == 3  # its history stays with it
    # its points count once: the page views it made anonymously, and the identify's, not twice over
    assert engagement(ledger, ACME) == pytest.approx(kept.behaviour, rel=0.01)
    assert engagement(ledger, ACME) == pytest.approx(before, abs=0.01)  # an identify earns no points


def test_a_visitor_who_identifies_with_another_companys_e_mail_leaves_the_ip_account(lookups, settle, ledger):
    pages(lookups.track, "colleague", ACME_IP, "/", "/pricing")
    pages(lookups.track, "visitor", ACME_IP, "/", "/pricing", "/docs")
    settle()
    with_both = engagement(ledger, ACME)
    assert state(ledger, ACME).people == 2

    identify(lookups.track, "visitor", "jane@beta-consulting.com", "Consultant")
    settle()

    assert members(ledger, ACME) == {lead_of("colleague"): (Basis.IP.value, True)}
    assert members(ledger, "beta-consulting.com") == {lead_of("visitor"): (Basis.EMAIL.value, False)}
    acme = state(ledger, ACME)
    assert (acme.people, acme.anonymous) == (1, 1)
    alone = engagement(ledger, ACME)
    assert alone < with_both
    # what is left is exactly the colleague's own contribution (one lead: the first weight, 1)
    assert alone == pytest.approx(state(ledger, ACME).board[lead_of("colleague")].behaviour, rel=0.01)


def test_a_free_mail_identify_leaves_the_visitor_in_its_networks_account(lookups, settle, ledger):
    pages(lookups.track, "visitor", ACME_IP)
    identify(lookups.track, "visitor", "jane.doe@gmail.com", "Engineer")
    settle()

    assert members(ledger, ACME) == {lead_of("visitor"): (Basis.IP.value, False)}
    assert ledger.domains() == [(ACME, state(ledger, ACME))]


def test_a_group_call_beats_the_e_mail_and_the_network(lookups, settle, ledger):
    group(lookups.track, "visitor", "initech.com", "Initech")
    identify(lookups.track, "visitor", "jane@acme.co.uk", "CFO")
    pages(lookups.track, "visitor", ACME_IP)
    settle()

    assert members(ledger, "initech.com") == {lead_of("visitor"): (Basis.GROUP.value, False)}
    assert members(ledger, ACME) == {}
    assert state(ledger, "initech.com").people == 1


def test_a_lead_merged_into_another_stops_counting_beside_its_root(lookups, settle, ledger, scores):
    identify(lookups.track, "laptop", "jane@acme.co.uk", "CFO")
    pages(lookups.track, "laptop", None, "/")
    pages(lookups.track, "phone", ACME_IP, "/pricing", "/docs")
    settle()
    assert state(ledger, ACME).people == 2  # two leads, not yet known to be one person

    identify(lookups.track, "phone", "jane@acme.co.uk", "CFO")  # the two leads merge
    settle()

    merged = {lead: scores.load(lead).merged_into for lead in (lead_of("laptop"), lead_of("phone"))}
    [root] = [lead for lead, into in merged.items() if into is None]
    assert set(merged.values()) == {None, root}  # one of them merged into the other
    assert members(ledger, ACME) == {root: (Basis.EMAIL.value, False)}
    account = state(ledger, ACME)
    assert (account.people, account.anonymous) == (1, 0)
    assert set(account.board) == {root}
    assert scores.load(root).score.page_views == 3  # the root carries the merged history


def test_a_replayed_account_batch_after_a_basis_change_changes_nothing(
    lookups, score, new_records, filters, ledger, scores
):
    pages(lookups.track, "visitor", ACME_IP)
    identify(lookups.track, "visitor", "jane@beta-consulting.com", "Consultant")
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    batch = list(DynamoDBStreamEvent({"Records": new_records(filters["AccountFunction"])}).records)
    roll_up(batch, scores, ledger, build_account_model(), load_model())
    before = {d: ledger.state(d) for d in (ACME, "beta-consulting.com")}

    again = roll_up(batch, scores, ledger, build_account_model(), load_model())

    assert again.accounts_updated == 0
    assert {d: ledger.state(d) for d in before} == before


# --- the account's name does not depend on which write came first ----------------------------------------


@pytest.mark.parametrize("group_first", [True, False])
def test_a_group_calls_name_beats_the_providers_and_the_providers_beats_the_domain(
    lookups, settle, ledger, accounts, group_first
):
    if group_first:
        group(lookups.track, "someone", ACME, "Acme Group plc")
        pages(lookups.track, "visitor", ACME_IP)
    else:
        pages(lookups.track, "visitor", ACME_IP)
        group(lookups.track, "someone", ACME, "Acme Group plc")
    settle()

    profile = accounts.profile(ACME)
    assert profile is not None
    assert profile.name == "Acme Group plc"
    assert state(ledger, ACME).traits["name"] == "Acme Group plc"


@pytest.mark.parametrize("join_first", [True, False])
def test_the_providers_name_beats_a_join_that_named_the_account_by_its_domain(
    lookups, settle, ledger, accounts, join_first
):
    if join_first:
        identify(lookups.track, "jane", "jane@acme.co.uk", "CFO")
        pages(lookups.track, "visitor", ACME_IP)
    else:
        pages(lookups.track, "visitor", ACME_IP)
        identify(lookups.track, "jane", "jane@acme.co.uk", "CFO")
    settle()

    profile = accounts.profile(ACME)
    assert profile is not None
    assert profile.name == "Acme Widgets Ltd"
    assert state(ledger, ACME).traits["name"] == "Acme Widgets Ltd"


# --- privacy ----------------------------------------------------------------------------------------------


def test_no_address_or_e_mail_is_logged_on_the_way(lookups, settle, caplog, ipinfo):
    caplog.set_level(logging.INFO)
    pages(lookups.track, "visitor", ACME_IP)
    identify(lookups.track, "visitor", "jane@acme.co.uk", "CFO")
    ipinfo.status = 500
    pages(lookups.track, "other", "84.17.32.9")
    settle()

    text = "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records)
    for secret in ("81.2.69", "84.17.32", "jane@acme.co.uk", "Jane Doe"):
        assert secret not in text


def test_people_export_shows_the_ip_membership_and_its_basis_and_erase_takes_it(
    lookups, settle, ledger, moto_endpoint, capsys
):
    pages(lookups.track, "visitor", ACME_IP)
    identify(lookups.track, "visitor", "jane.doe@gmail.com", "Engineer")  # free-mail: no account of its own
    settle()
    lead = lead_of("visitor")
    target = targets.local(moto_endpoint, "http://127.0.0.1:3000")

    def run(*argv: str) -> str:
        top = argparse.ArgumentParser()
        people.add_parser(top.add_subparsers(dest="command", required=True))
        capsys.readouterr()  # the handlers' metrics, flushed to the same stdout, are not the command's
        assert people.run(top.parse_args(["people", *argv]), target) == 0
        return capsys.readouterr().out

    exported = json.loads(run("export", "jane.doe@gmail.com"))
    [membership] = exported["items"]["account_membership"]
    assert membership["pk"] == f"ACCOUNT#{ACME}"
    assert json.loads(membership["mark"])["basis"] == Basis.IP.value

    run("erase", "jane.doe@gmail.com", "--yes")

    assert lead not in {m.lead_id for m, _claims in ledger.members(ACME)}


def test_accounts_show_names_known_people_safely_and_the_anonymous_by_their_company(
    lookups, settle, moto_endpoint, capsys
):
    pages(lookups.track, "visitor", ACME_IP, "/", "/pricing")
    pages(lookups.track, "eve", None, "/")
    identify(lookups.track, "eve", "eve@acme.co.uk", "CFO\x1b[2J", name="Eve\x1b]0;owned\x07 Smith")
    settle()

    capsys.readouterr()  # the handlers' metrics, flushed to the same stdout, are not the command's
    assert main(["--endpoint", moto_endpoint, "accounts", "show", ACME]) == 0
    shown = capsys.readouterr().out

    assert "Account Acme Widgets Ltd (acme.co.uk)" in shown
    assert "2 people, 1 anonymous" in shown
    assert "anonymous visitor from Acme Widgets Ltd" in shown
    assert "company by IP" in shown
    assert "e-mail domain" in shown
    assert "\x1b" not in shown
    assert "\x07" not in shown
    assert "Eve" in shown


def test_accounts_show_of_an_unknown_account_says_so(aws, moto_endpoint, capsys):
    capsys.readouterr()
    assert main(["--endpoint", moto_endpoint, "accounts", "show", "nobody.example"]) == 1
    assert "no scored account nobody.example" in capsys.readouterr().err


def test_accounts_show_tells_the_score_history_of_the_last_days_as_the_api_card_does(
    lookups, settle, moto_endpoint, capsys
):
    pages(lookups.track, "visitor", ACME_IP, "/", "/pricing")
    identify(lookups.track, "visitor", "eve@acme.co.uk", "CFO", name="Eve Smith")
    settle()
    today = datetime.now(UTC).date().isoformat()

    capsys.readouterr()
    assert main(["--endpoint", moto_endpoint, "accounts", "show", ACME, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    [point] = doc["history"]["points"]  # one point a day: today's latest
    assert point["at"].startswith(today)
    assert point["stage"] == doc["stage"]
    assert point["people"] == doc["people"] == 1
    assert point["score"] > 0

    assert main(["--endpoint", moto_endpoint, "accounts", "show", ACME, "--days", "7"]) == 0
    shown = capsys.readouterr().out
    assert "Score history, last 7 days (1 day with a change):" in shown
    [row] = [line for line in shown.splitlines() if line.startswith(today)]
    assert row.split()[1:3] == [f"{point['score']:g}", point["stage"]]

    with pytest.raises(SystemExit) as refused:
        main(["--endpoint", moto_endpoint, "accounts", "show", ACME, "--days", "0"])
    assert refused.value.code == 2
    assert "a whole number of days, 1 to 400" in capsys.readouterr().err
