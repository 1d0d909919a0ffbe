"""The running system over HTTP: `make run`'s runner, driven like a visitor, a retrying client and a
redelivering stream would drive it. One SQL, one notification, whatever is delivered twice."""

import gzip
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from leadstream.accounts.model_file import load_account_model
from leadstream.accounts.repository import state_from_item
from leadstream.accounts.score import AccountState
from leadstream.identity.identifiers import device_lead, identifiers
from leadstream.platform import aws as process_clients
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model_file import load_model
from leadstream.scoring.repository import ScoreRepository
from leadstream.scoring.score import LeadScore

from local.aws import clients, delivery_queue_name
from local.runner import DEMO_WRITE_KEY, STACK
from local.template import load_stack
from tests.builders import basic_auth, points, stream_records
from tests.pipeline.harness import REPO, Runner, eventually, local_invoke

__all__ = ["Runner"]  # tests/browser drives the runner with it too
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _process_clients_stay_here() -> Iterator[None]:
    """`lead_score` reads items with the product's own repository, which makes this process's shared AWS
    clients as the environment is now; tests after this module point the process at another local AWS."""
    yield
    process_clients.client.cache_clear()
    process_clients.session.cache_clear()


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    run = Runner(tmp_path)
    run.wait_ready()
    yield run
    run.stop()


@pytest.fixture(scope="module")
def shared_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """One runner for the tests that only add events of their own visitors."""
    run = Runner(tmp_path_factory.mktemp("shared"))
    run.wait_ready()
    yield run
    run.stop()


ANON = "6d0f9c1e-0000-4000-8000-000000000001"


def visitor_journey(run: Runner, form_message_id: str | None = None) -> list[int]:
    """A visitor as browsers and SDKs report one: the landing page through a short path (text/plain, key
    in the body), the next pages in a batch with one broken message in it, then the demo-request form (a
    plain HTML form sends no messageId, so the same form sent again in another minute is another
    submission; `form_message_id` makes it one the way our snippet's forms are)."""

    def page(i: int, path: str) -> dict[str, object]:
        url = f"{run.base}{path}?utm_source=newsletter&utm_medium=email"
        return {
            "type": "page",
            "anonymousId": ANON,
            "messageId": f"page-{i}",
            "context": {"page": {"path": path, "url": url, "referrer": ""}},
        }

    landing = {**page(0, "/demo/"), "writeKey": DEMO_WRITE_KEY}
    statuses = [run.post("/v1/p", json.dumps(landing).encode(), "text/plain", auth=False)]
    batch = {
        "batch": [page(1, "/demo/blog/speed-to-lead.html"), {"type": "page"}, page(2, "/demo/pricing.html")]
    }
    statuses.append(run.post("/v1/b", json.dumps(batch).encode(), "text/plain"))
    form = (
        f"name=Jane+Doe&email=jane%40acme.example&company=Acme&title=Head+of+Sales&anonymousId={ANON}"
        "&_next=%2Fdemo%2Fthanks.html" + (f"&messageId={form_message_id}" if form_message_id else "")
    ).encode()
    statuses.append(
        run.post(
            "/v1/forms/demo-request",
            form,
            "application/x-www-form-urlencoded",
            {"referer": f"{run.base}/demo/request-demo.html"},
        )
    )
    return statuses


LEADS_TABLE = f"{STACK}-LeadsTable"


def lead_score(run: Runner, anonymous_id: str) -> LeadScore | None:
    """A visitor's score in the runner's table, read as ScoreRepository reads it (this process's shared
    DynamoDB client may point at another local AWS: the read goes to the runner's own)."""
    lead = device_lead(identifiers(anonymous_id, None, None))
    item = (
        clients(run.endpoint, "eu-west-1")["dynamodb"]
        .get_item(
            TableName=LEADS_TABLE,
            Key={"pk": {"S": f"LEAD#{lead}"}, "sk": {"S": "STATE"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return ScoreRepository(LEADS_TABLE).from_image(item) if item else None


def stage_changed(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "Source": "leadstream",
        "DetailType": "Lead Stage Changed",
        "Detail": json.dumps(detail),
        "EventBusName": "leadstream-local",
    }


def bus_deliveries_done(run: Runner) -> bool:
    """Whether the 'lead became SQL' rule's events have all been handled: its delivery queue is empty."""
    stack = load_stack(STACK, "eu-west-1", {}, {})
    rule = next(r for r in stack.rules if r.function == "NotifySalesFunction")
    sqs = clients(run.endpoint, "eu-west-1")["sqs"]
    url = sqs.get_queue_url(QueueName=delivery_queue_name(stack, rule.name))["QueueUrl"]
    counts = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return set(counts.values()) == {"0"}


def test_a_visitor_who_requests_a_demo_becomes_one_sql_and_one_notification(
    runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")  # repositories make the process's client
    assert visitor_journey(runner, "form-1") == [200, 200, 303]

    notes = eventually(runner.notes)
    assert len(notes) == 1, runner.log_path.read_text()
    note = notes[0]
    journey = ("page_view", "blog_post", "pricing_page", "demo_request", "work_email", "senior_title")
    assert note["subject"] == f"New SQL: Jane Doe at Acme (score {points(load_model(), *journey):g})"
    assert note["card"]["account"] == "acme.example"
    assert note["card"]["first_touch"]["channel"] == "email"
    assert eventually(lambda: "SALES NOTIFICATION  New SQL: Jane Doe" in runner.log_path.read_text())
    scored = lead_score(runner, ANON)
    assert scored is not None
    assert scored.stage is Stage.SQL
    # the change it tells of is the lead's (hand-over to sales wrote STATE since: owner and timer)
    assert note["transition_id"].startswith(f"{scored.lead_id}:SQL:")
    assert scored.transition_count == int(note["transition_id"].rsplit(":", 1)[1])

    # the website retries every request, each with its message id (a form without one is a new submission
    # in another minute, and a slow machine can cross one)
    assert visitor_journey(runner, "form-1") == [200, 200, 303]
    # then another visitor's page view: the table's stream is one shard here, handled in order, so once
    # that visitor is scored, scoring has seen whatever the retries put on the stream
    marker_view = {"anonymousId": "marker-visitor", "messageId": "marker-view", "writeKey": DEMO_WRITE_KEY}
    assert runner.post("/v1/p", json.dumps(marker_view).encode(), "text/plain", auth=False) == 200
    assert eventually(lambda: lead_score(runner, "marker-visitor")), runner.log_path.read_text()
    assert lead_score(runner, ANON) == scored  # not rewritten: no event counted twice, nothing to publish
    # the stream redelivers a batch to scoring (what `sam local invoke -e` would do)
    aws = clients(runner.endpoint, "eu-west-1")
    records = [
        r
        for r in stream_records(aws, "leadstream-local-LeadsTable")
        if r["eventName"] == "INSERT" and r["dynamodb"]["Keys"]["sk"]["S"].startswith("EVT#")
    ]
    batch = tmp_path / "replay.json"
    batch.write_text(json.dumps({"Records": records}))
    replay = local_invoke("ScoreFunction", "-e", str(batch), "--aws-port", str(runner.aws_port))
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout) == {"batchItemFailures": []}
    # the replay wrote nothing either (a write would drop the recorded transition): no outbox record
    assert lead_score(runner, ANON) == scored

    # and EventBridge delivers the SQL event again, and another lead's SQL after it (a second visitor who
    # reads pricing and asks for a demo: the rule hands over references, so the change must be real)
    detail = {
        k: note[k]
        for k in ("version", "transition_id", "lead_id", "from_stage", "to_stage", "changed_at", "card")
    }
    aws["events"].put_events(Entries=[stage_changed(detail)])
    pricing = {
        "type": "page",
        "anonymousId": "marker-2",
        "messageId": "marker-pricing",
        "writeKey": DEMO_WRITE_KEY,
        "context": {"page": {"path": "/demo/pricing.html", "url": f"{runner.base}/demo/pricing.html"}},
    }
    assert runner.post("/v1/p", json.dumps(pricing).encode(), "text/plain", auth=False) == 200
    form = b"name=Mark+Er&email=mark%40marker.example&company=Marker&title=Head+of+Sales&anonymousId=marker-2"
    assert runner.post("/v1/forms/demo-request", form, "application/x-www-form-urlencoded") == 200

    def marker_notes() -> list[str]:
        return [n["transition_id"] for n in runner.notes() if n["card"]["email"] == "mark@marker.example"]

    # The rule's target handles events concurrently, as Lambda does: once the rule's delivery queue holds
    # nothing (neither waiting nor being handled), both events have been handled.
    assert eventually(marker_notes), runner.log_path.read_text()
    assert eventually(lambda: bus_deliveries_done(runner)), runner.log_path.read_text()
    assert sorted(n["transition_id"] for n in runner.notes()) == sorted(
        [note["transition_id"], *marker_notes()]
    )
    assert len(marker_notes()) == 1


def test_ctrl_c_stops_everything(tmp_path: Path):
    run = Runner(tmp_path)
    run.wait_ready()

    log = run.stop()

    assert run.process.returncode == 0
    assert "Stopped." in log
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{run.base}/demo/", timeout=1)


# --- request bodies as SDKs send them --------------------------------------------------------------------


def stored_event(run: Runner, anonymous_id: str, message_id: str) -> dict[str, Any] | None:
    """The stored behaviour event of a message, read from the runner's own table."""
    lead = device_lead(identifiers(anonymous_id, None, None))
    item: dict[str, Any] | None = (
        clients(run.endpoint, "eu-west-1")["dynamodb"]
        .get_item(
            TableName=LEADS_TABLE,
            Key={"pk": {"S": f"LEAD#{lead}"}, "sk": {"S": f"EVT#{message_id}"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return item


def sdk_batch(anonymous_id: str, *message_ids: str) -> bytes:
    """A /v1/batch body as the Segment and RudderStack server SDKs send it."""
    batch = [
        {
            "type": "track",
            "event": "Signed Up",
            "anonymousId": anonymous_id,
            "messageId": message_id,
            "timestamp": "2026-11-24T09:30:00.000+00:00",
            "context": {"library": {"name": "analytics-python", "version": "2.3.0"}},
        }
        for message_id in message_ids
    ]
    return json.dumps({"batch": batch, "sentAt": "2026-11-24T09:30:01.000+00:00"}).encode()


SDK_HEADERS = {
    "Content-Type": "application/json",
    "User-Agent": "analytics-python/2.3.0",
    **basic_auth(DEMO_WRITE_KEY),
}


def account_state(run: Runner, domain: str) -> AccountState | None:
    """An account's state in the runner's accounts table, read as AccountLedger reads it."""
    item = (
        clients(run.endpoint, "eu-west-1")["dynamodb"]
        .get_item(
            TableName=f"{STACK}-AccountsTable",
            Key={"pk": {"S": f"ACCOUNT#{domain}"}, "sk": {"S": "STATE"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    return state_from_item(item) if item else None


def test_people_of_one_company_make_an_account_score_and_committee_coverage_within_seconds(
    shared_runner: Runner,
):
    """Three people of Globex identify with their work e-mail and title: the account has them, the roles
    their titles give, and a score, while the runner goes on (no step of the test's own in between)."""
    people = {"cfo": "CFO", "cto": "CTO", "dev": "Software Engineer"}
    batch = [
        {
            "type": "identify",
            "anonymousId": f"globex-{who}",
            "messageId": f"globex-identify-{who}",
            "traits": {"email": f"{who}@globex.example", "title": title},
        }
        for who, title in people.items()
    ]
    answer = shared_runner.request("POST", "/v1/batch", json.dumps({"batch": batch}).encode(), SDK_HEADERS)
    assert answer.status == 200, answer.body

    def complete() -> AccountState | None:
        state = account_state(shared_runner, "globex.example")
        return state if state is not None and state.people == len(people) else None

    state = eventually(complete, seconds=20)
    assert state is not None, "the account did not count its three people within 20 seconds"
    card = state.card(load_account_model(), load_model(), state.as_of)
    assert {role for role, n in card.roles.items() if n} == {"economic_buyer", "technical_evaluator", "user"}
    assert card.coverage > 0
    assert card.score > 0


def test_a_gzip_batch_from_a_server_sdk_is_stored(shared_runner: Runner):
    """The RudderStack Python SDK (and analytics-python with gzip=True) compresses its batches."""
    body = gzip.compress(sdk_batch("sdk-gzip", "gzip-1", "gzip-2"))

    answer = shared_runner.request("POST", "/v1/batch", body, {**SDK_HEADERS, "Content-Encoding": "gzip"})

    assert answer.status == 200, answer.body
    assert answer.json()["accepted"] == 2
    assert stored_event(shared_runner, "sdk-gzip", "gzip-1")
    assert stored_event(shared_runner, "sdk-gzip", "gzip-2")


def test_a_chunked_batch_is_read_whole_and_stored(shared_runner: Runner):
    answer = shared_runner.request(
        "POST", "/v1/batch", sdk_batch("sdk-chunked", "chunk-1"), SDK_HEADERS, chunked=True
    )

    assert answer.status == 200, answer.body
    assert stored_event(shared_runner, "sdk-chunked", "chunk-1")


def test_a_body_that_is_not_utf8_gets_the_functions_json_400(shared_runner: Runner):
    latin1 = '{"anonymousId": "caf\u00e9", "messageId": "latin-1"}'.encode("latin-1")
    assert b"\xe9" in latin1

    answer = shared_runner.request("POST", "/v1/page", latin1, SDK_HEADERS)

    assert answer.status == 400
    assert "UTF-8" in answer.json()["error"]
    assert not stored_event(shared_runner, "caf\u00e9", "latin-1")


def test_bad_input_over_http_is_a_json_400(shared_runner: Runner):
    request = urllib.request.Request(
        f"{shared_runner.base}/v1/page",
        data=b"{oops",
        method="POST",
        headers={"content-type": "application/json", **basic_auth(DEMO_WRITE_KEY)},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=10)
    assert error.value.code == 400
    assert "not valid JSON" in json.loads(error.value.read())["error"]


# --- the sample events in events/, against a runner on ports of its own -------------------------------------


EVENTS = REPO / "events"


def test_the_api_samples_are_accepted_whatever_port_make_run_uses(shared_runner: Runner):
    for name in ("track_page.json", "track_batch.json", "track_identify.json"):
        sent = local_invoke(
            "TrackFunction", "-e", str(EVENTS / name), "--aws-port", str(shared_runner.aws_port)
        )
        assert sent.returncode == 0, sent.stderr
        assert json.loads(sent.stdout)["statusCode"] == 200, (name, sent.stdout)


def test_replaying_score_publish_and_notify_samples_notifies_sales_once(runner: Runner):
    """The README's replay of the stream and bus samples, in order, against a running stack."""
    notify_sample = json.loads((EVENTS / "notify_sales.json").read_text())

    def replay(function: str, sample: str) -> dict[str, Any]:
        done = local_invoke(
            function,
            "-e",
            str(EVENTS / sample),
            "--aws-port",
            str(runner.aws_port),
            "--notifications",
            str(runner.notifications),
        )
        assert done.returncode == 0, done.stderr
        response: dict[str, Any] = json.loads(done.stdout)
        return response

    assert replay("ScoreFunction", "score_stream.json") == {"batchItemFailures": []}

    # the runner's PublishFunction publishes the stage change that scoring recorded; sales hears of it
    def told() -> list[dict[str, Any]]:
        """The notifications of the stage change (the sample's change is days old: its speed-to-lead timer
        ran out long ago, so the owner's reminder and the managers' alert follow; they are not these)."""
        return [n for n in runner.notes() if "escalation" not in n]

    notes = eventually(told)
    assert [n["transition_id"] for n in notes] == [notify_sample["transition_id"]], (
        runner.log_path.read_text()
    )

    assert replay("PublishFunction", "publish_stream.json") == {"batchItemFailures": []}
    replay("NotifySalesFunction", "notify_sales.json")

    assert eventually(lambda: bus_deliveries_done(runner))
    assert len(told()) == 1  # the same transition: published once, notified once
    escalations = [n["escalation"] for n in runner.notes() if "escalation" in n]
    assert sorted(escalations) == ["managers:file", "reminder:file"]  # and escalated once, each channel
