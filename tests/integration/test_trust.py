"""The trust model of write keys (issue 8): a browser source's key is public, so what it sends may add facts
about a person but never overwrite what a form, a server key or sales set, nor join the sender's device to
a lead they established; a server source's key is a secret, refused when a browser sends it.

Through the public interfaces: the Track and Form handlers' answers, the profile and score repositories,
the identity repository's merge marks, and the `people` and `sources` commands.
"""

import importlib.util
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from leadstream.identity.identifiers import Identifier, IdKind
from leadstream.identity.profile import Profile
from leadstream.identity.repository import IdentityRepository
from leadstream.platform import aws as aws_clients
from leadstream.sources.directory import SourceAdmin
from leadstream.sources.model import Privacy, Trust
from leadstream.sources.repository import SourceRepository

from local.runner import DEMO_SOURCE
from local.template import Stack
from tests.builders import LambdaContext, http_request, page_view, response_json
from tests.integration.conftest import SITE, lead_of
from tests.integration.test_cli import run as sources_cli
from tests.integration.test_identity_graph import merges_cli, root_of, scored_all
from tests.integration.test_privacy import cli as people_cli

CTX = LambdaContext()
EMAIL = "jane@acme.com"
SERVER_KEY = "lsk_server_key_for_tests"
SERVER_SOURCE = "backend"
JANE = {"name": "Jane Doe", "title": "VP Sales", "company": "Acme", "phone": "+44 20 7946 0000"}
MALLORY = {"name": "Mallory", "title": "Student", "company": "Evil", "phone": "+1 555 0100"}
TRACK_APP = Path(__file__).parents[2] / "functions" / "track" / "app.py"


@pytest.fixture
def server_key(aws: dict[str, Any], stack: Stack) -> str:
    """A server source's key, as `sources create --server` makes one (fixed here: no output to parse)."""
    admin = SourceAdmin(SourceRepository(stack.physical_name("SourcesTable")))
    admin.create(
        "Backend",
        (),
        Privacy(),
        datetime.now(UTC),
        source_id=SERVER_SOURCE,
        key=SERVER_KEY,
        trust=Trust.SERVER,
    )
    return SERVER_KEY


@pytest.fixture
def identities(aws: dict[str, Any], leads_table: str) -> IdentityRepository:
    return IdentityRepository(leads_table)


def submit_form(form: Any, device: str, fields: dict[str, str], email: str = EMAIL) -> None:
    body = {"email": email, "anonymousId": device, **fields}
    event = http_request(
        "/v1/forms/demo-request",
        body,
        route="/v1/forms/{form_id}",
        path_params={"form_id": "demo-request"},
        headers={"origin": SITE},
    )
    response = form.lambda_handler(event, CTX)
    assert response["statusCode"] == 200, response["body"]


def identify(
    track: Any, device: str, traits: dict[str, str], *, write_key: str | None = None, email: str = EMAIL
) -> dict[str, Any]:
    """An identify with the browser (demo) source's key from its site, or with `write_key` from a server."""
    body = {"anonymousId": device, "messageId": str(uuid.uuid4()), "traits": {"email": email, **traits}}
    if write_key is None:
        event = http_request("/v1/identify", body, headers={"origin": SITE})
    else:
        event = http_request("/v1/identify", body, write_key=write_key)
    response: dict[str, Any] = track.lambda_handler(event, CTX)
    return response


def contact(profile: Profile | None) -> dict[str, str | None]:
    assert profile is not None
    return {"name": profile.name, "title": profile.title, "company": profile.company, "phone": profile.phone}


def test_a_browser_key_cannot_overwrite_a_person_a_form_identified_nor_take_over_their_lead(
    track, form, score, new_records, filters, scores, profiles, identities, moto_endpoint, capsys
):
    visit = http_request("/v1/page", page_view("laptop", "/pricing"), headers={"origin": SITE})
    assert track.lambda_handler(visit, CTX)["statusCode"] == 200
    submit_form(form, "laptop", JANE)
    scored_all(score, new_records, filters)
    jane = lead_of("laptop")
    before = scores.load(jane).score

    answer = identify(track, "mallory", MALLORY)  # the public key, Jane's e-mail, from another device
    scored_all(score, new_records, filters)

    assert answer["statusCode"] == 200  # nothing to tell the sender
    assert contact(profiles.load(jane)) == JANE
    assert root_of(scores, lead_of("mallory")) == (lead_of("mallory"), 0)  # not merged into Jane
    email = Identifier(IdKind.EMAIL, EMAIL)
    assert identities.linked([email]) == {email.key: jane}  # and her e-mail still names her alone
    after = scores.load(jane).score
    assert (after.behaviour, after.fit_points, after.events) == (
        before.behaviour,
        before.fit_points,
        before.events,
    )
    assert scores.load(lead_of("mallory")).score.events == 1  # the caller's event stays on its own lead
    assert profiles.load(lead_of("mallory")) is None  # and Jane's e-mail is not copied to it

    code, out = merges_cli(moto_endpoint, capsys, EMAIL)
    assert code == 0
    assert "Pending claims: 1" in out
    [claim] = [line.split() for line in out.splitlines() if lead_of("mallory") in line]
    assert claim[1:] == [lead_of("mallory"), jane, "email", "identify", DEMO_SOURCE, "browser"]
    assert "jane" not in out.replace(jane, "")  # lead ids and sources, nothing personal


def test_a_server_key_identify_overwrites_and_merges_and_confirms_a_pending_claim(
    track, form, server_key, score, new_records, filters, scores, profiles, moto_endpoint, capsys
):
    submit_form(form, "laptop", JANE)
    assert identify(track, "phone", MALLORY)["statusCode"] == 200  # a claim: pending
    jane = lead_of("laptop")
    corrected = {"name": "Jane Smith", "title": "CRO", "company": "Acme Group", "phone": "+44 20 7946 0999"}

    answer = identify(track, "phone", corrected, write_key=server_key)  # the app's server: it is her phone
    scored_all(score, new_records, filters)

    assert answer["statusCode"] == 200
    assert contact(profiles.load(jane)) == corrected
    assert root_of(scores, lead_of("phone"))[0] == jane
    code, out = merges_cli(moto_endpoint, capsys, EMAIL)
    assert code == 0
    assert "Pending claims" not in out
    table = out.split("\n\n")[0].splitlines()[2:]  # the merges table (undo commands follow it)
    [row] = [line.split() for line in table if line.split()[1] == lead_of("phone")]
    assert (row[2], " ".join(row[3:-2]), row[-1]) == (jane, "claim confirmed by a server key", SERVER_SOURCE)


def test_a_form_from_the_claiming_device_confirms_the_claim(
    track, form, score, new_records, filters, scores, profiles, moto_endpoint, capsys
):
    submit_form(form, "laptop", JANE)
    assert identify(track, "phone", {})["statusCode"] == 200  # Jane herself, on her phone: a claim first

    submit_form(form, "phone", {})  # then she submits a form there with her e-mail: it is her

    assert root_of(scores, lead_of("phone"))[0] == lead_of("laptop")
    code, out = merges_cli(moto_endpoint, capsys, EMAIL)
    assert code == 0
    assert "Pending claims" not in out
    assert "claim confirmed by form" in out
    assert contact(profiles.load(lead_of("laptop"))) == JANE


def test_a_browser_identify_adds_a_missing_phone_but_keeps_what_the_form_set_and_the_fit(
    track, form, score, new_records, filters, scores, profiles
):
    submit_form(form, "laptop", {"name": "Jane Doe", "title": "VP Sales"})
    scored_all(score, new_records, filters)
    fit = scores.load(lead_of("laptop")).score.fit_points

    # the snippet on Jane's own device: a phone she typed in somewhere, and whatever else the page says
    answer = identify(track, "laptop", {"phone": "+44 20 7946 0000", "name": "J.", "title": "Student"})
    scored_all(score, new_records, filters)

    assert answer["statusCode"] == 200
    assert contact(profiles.load(lead_of("laptop"))) == {
        "name": "Jane Doe",
        "title": "VP Sales",
        "company": None,
        "phone": "+44 20 7946 0000",
    }
    assert (
        scores.load(lead_of("laptop")).score.fit_points == fit
    )  # "Student" did not cost her the title's fit


def test_people_export_shows_who_set_each_field_and_each_change_without_values(
    track, form, server_key, moto_endpoint, capsys
):
    submit_form(form, "laptop", {"name": "Jane Doe", "title": "VP Sales"})
    identify(track, "laptop", {"phone": "+44 20 7946 0000"})
    identify(track, "laptop", {"title": "CRO"}, write_key=server_key)

    code, out = people_cli(moto_endpoint, capsys, "export", EMAIL)

    assert code == 0
    items = json.loads(out)["items"]
    [profile] = items["profile"]
    who = {field: (p["source"], p["level"]) for field, p in profile["provenance"].items()}
    assert who == {
        "email": (SERVER_SOURCE, "server"),  # the same address, now vouched for by the server
        "name": (DEMO_SOURCE, "form"),
        "title": (SERVER_SOURCE, "server"),
        "phone": (DEMO_SOURCE, "browser"),
    }
    changes = sorted((c["call"], c["source_id"], c["level"], c["fields"]) for c in items["profile_changes"])
    assert changes == [
        ("form", DEMO_SOURCE, "form", ["email", "name", "title"]),
        ("identify", SERVER_SOURCE, "server", ["email", "title"]),
        ("identify", DEMO_SOURCE, "browser", ["phone"]),
    ]
    assert "jane" not in json.dumps(items["profile_changes"]).lower()  # field names, never values
    assert "+44" not in json.dumps(items["profile_changes"])


@pytest.mark.parametrize("path", ["/v1/identify", "/v1/forms/demo-request"])
def test_a_server_key_sent_from_a_browser_is_refused_and_stores_nothing(track, form, server_key, items, path):
    before = items()
    body = {"anonymousId": "laptop", "email": EMAIL, "traits": {"email": EMAIL}}
    event = http_request(
        path,
        body,
        route="/v1/forms/{form_id}" if "forms" in path else None,
        path_params={"form_id": "demo-request"} if "forms" in path else None,
        headers={"origin": SITE},
        write_key=server_key,
    )

    answer = (form if "forms" in path else track).lambda_handler(event, CTX)

    assert answer["statusCode"] == 403
    error = response_json(answer)["error"]
    assert "this is a server key" in error
    assert "use a browser source's key in web pages" in error.lower()
    assert "rotate" in error
    assert answer["headers"]["Access-Control-Allow-Origin"] == SITE  # the page's console can read why
    assert items() == before


def _environment(index: int) -> ModuleType:
    """A fresh copy of TrackFunction's handler module: an execution environment of its own."""
    spec = importlib.util.spec_from_file_location(f"track_trust_environment_{index}", TRACK_APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def serialised_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each write (a transaction as a whole) to an item at once, its condition checked
    against the item as it is then; moto's in-process server checks and applies without a lock, so two
    threads can both pass a condition before either writes. One lock around moto's reads and writes gives
    back DynamoDB's isolation (the handlers and data access run as they are)."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "get_item", "query"):
        original = getattr(DynamoDBBackend, name)

        def serialised(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, serialised)


@pytest.fixture
def late_browser_writes() -> Any:
    """A browser call's profile write (its transaction records a change at rank "browser") sets off 200 ms
    late, at the functions' one DynamoDB client, as a slow network would delay it: the browsers read the
    profile before the server writes it, and write after."""
    client = aws_clients.client("dynamodb")

    def late(params: dict[str, Any], **kwargs: Any) -> None:
        puts = [a["Put"]["Item"] for a in json.loads(params["body"])["TransactItems"] if "Put" in a]
        if any(item.get("level") == {"S": "browser"} for item in puts):
            time.sleep(0.2)

    client.meta.events.register("before-call.dynamodb.TransactWriteItems", late)
    yield
    client.meta.events.unregister("before-call.dynamodb.TransactWriteItems", late)


def test_concurrent_browser_and_server_identifies_leave_the_servers_values(
    track, server_key, profiles, serialised_writes, late_browser_writes
):
    """However the calls interleave, a field a server set is never overwritten by a browser: a browser
    that read the profile before the server wrote must not write over it after."""
    environments = [_environment(i) for i in range(5)]
    for run in range(3):
        device, email = f"laptop-{run}", f"jane{run}@acme.com"
        assert identify(track, device, {"name": "From the snippet"}, email=email)["statusCode"] == 200
        start = threading.Barrier(len(environments))
        answers: list[int] = []
        calls = [(server_key, "From the server")] + [
            (None, f"Browser {i}") for i in range(1, len(environments))
        ]
        threads = [
            threading.Thread(target=_identify_now, args=(env, start, answers, device, email, key, name))
            for env, (key, name) in zip(environments, calls, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

        assert answers == [200] * len(environments)
        assert profiles.load(lead_of(device)).name == "From the server"  # type: ignore[union-attr]


def _identify_now(
    environment: ModuleType,
    start: threading.Barrier,
    answers: list[int],
    device: str,
    email: str,
    key: str | None,
    name: str,
) -> None:
    start.wait()
    for _ in range(3):  # a 503 is retried, as a client does
        status = identify(environment, device, {"name": name}, write_key=key, email=email)["statusCode"]
        if status != 503:
            break
    answers.append(status)


def test_erase_deletes_the_persons_change_records_and_the_claims_on_them(
    track, form, items, moto_endpoint, capsys
):
    submit_form(form, "laptop", JANE)
    identify(track, "mallory", MALLORY)  # a claim on Jane's lead
    jane = f"LEAD#{lead_of('laptop')}"
    held = {i["sk"]["S"].split("#")[0] for i in items() if i["pk"]["S"] == jane}
    assert {"CHANGE", "CLAIM"} <= held

    code, out = people_cli(moto_endpoint, capsys, "erase", EMAIL, "--yes")

    assert code == 0
    assert "profile_changes" in out
    assert "identity_claims" in out
    left = {i["sk"]["S"] for i in items() if i["pk"]["S"] == jane}
    assert left == {"STATE"}  # the tombstone alone


def test_sources_create_server_makes_a_server_source_and_refuses_origins(aws, moto_endpoint, capsys):
    code, out = sources_cli(capsys, moto_endpoint, "sources", "create", "Backend", "--server")
    assert code == 0
    assert "Snippet" not in out  # a server key never goes in a page
    source_id = out.split()[2]

    code, listed = sources_cli(capsys, moto_endpoint, "sources", "list", "--json")
    assert {s["id"]: s["trust"] for s in json.loads(listed)}[source_id] == "server"

    code, out = sources_cli(
        capsys, moto_endpoint, "sources", "create", "Site", "--server", "--origin", "https://a.example"
    )
    assert code == 2
    assert "--server source takes no --origin" in out
    code, out = sources_cli(
        capsys, moto_endpoint, "sources", "origins", source_id, "--add", "https://a.example"
    )
    assert code == 1
    assert "is a server source" in out
