"""The running system over HTTP: a founder on a Gmail address who requests a demo reaches sales as a
hand-raiser (its fit shown), and an app user's product usage makes a PQL that sales hears of too."""

import json
from collections.abc import Iterator

import pytest
from leadstream.scoring.model_file import load_model

from local.runner import DEMO_WRITE_KEY
from tests.builders import points
from tests.pipeline.harness import Runner, eventually

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    run = Runner(tmp_path_factory.mktemp("hand-raisers"))
    run.wait_ready()
    yield run
    run.stop()


def notes_about(run: Runner, name: str) -> list[dict[str, object]]:
    return [n for n in run.notes() if n["card"]["name"] == name]  # type: ignore[index]


def test_a_gmail_founders_demo_request_is_a_notification_marked_as_a_hand_raiser(runner: Runner):
    anon = "6d0f9c1e-0000-4000-8000-00000000a001"
    view = {"anonymousId": anon, "messageId": "hr-pricing", "writeKey": DEMO_WRITE_KEY}
    view["context"] = {"page": {"path": "/demo/pricing.html", "url": f"{runner.base}/demo/pricing.html"}}
    assert runner.post("/v1/p", json.dumps(view).encode(), "text/plain", auth=False) == 200
    form = (
        f"name=Sam+Founder&email=sam.founder%40gmail.com&company=Samco&title=Founder&anonymousId={anon}"
        "&_next=%2Fdemo%2Fthanks.html"
    ).encode()
    referer = {"referer": f"{runner.base}/demo/request-demo.html"}
    assert runner.post("/v1/forms/demo-request", form, "application/x-www-form-urlencoded", referer) == 303

    [note] = eventually(lambda: notes_about(runner, "Sam Founder"), 30)

    model = load_model()
    total = points(model, "pricing_page", "demo_request", "free_email", "senior_title")
    sql = next(t.min_score for t in model.stages if t.stage.value == "SQL")
    assert total < sql  # the score alone would have left it at MQL, reaching nobody
    assert note["subject"] == f"New SQL (hand-raiser): Sam Founder at Samco (score {total:g})"
    assert note["hand_raiser"] is True
    text = str(note["text"]).splitlines()
    assert text[0].startswith("Owner: ")  # who works it comes first (the assignment rules')
    assert text[1] == "Hand-raiser: Requested a demo (sent to sales whatever its score)"
    assert f"fit {points(model, 'free_email', 'senior_title'):+d} (Free e-mail address -25" in "\n".join(text)
    assert eventually(lambda: "SALES NOTIFICATION  New SQL (hand-raiser): Sam" in runner.log_path.read_text())


def test_an_app_users_teammate_invitation_makes_a_pql_and_a_notification(runner: Runner):
    user = {"userId": "app-user-42", "writeKey": DEMO_WRITE_KEY}
    identify = {
        **user,
        "messageId": "pql-identify",
        "traits": {"email": "pat@acme.example", "name": "Pat Lee"},
    }
    assert runner.post("/v1/i", json.dumps(identify).encode(), "text/plain", auth=False) == 200
    invited = {**user, "messageId": "pql-invite", "event": "Teammate Invited"}
    assert runner.post("/v1/t", json.dumps(invited).encode(), "text/plain", auth=False) == 200

    [note] = eventually(lambda: notes_about(runner, "Pat Lee"), 30)

    assert str(note["subject"]).startswith("New PQL: Pat Lee")
    assert note["to_stage"] == "PQL"
    assert str(note["text"]).splitlines()[0].startswith("Owner: ")
    assert str(note["text"]).splitlines()[1] == "Product usage: Invited a teammate"
