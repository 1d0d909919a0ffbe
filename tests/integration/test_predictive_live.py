"""The predictive likelihood live: ScoreFunction configured with a test artifact (PREDICTIVE_MODEL_PATH, as
the stack's PredictiveModelFile sets it) stores it on STATE and on the stage change; the sales API's card
and list rows answer it beside the rules score (null when none is configured, even where a removed model
left one); the notification tells it
in one line, a driver's label as plain text; a broken or mismatched artifact fails the cold start."""

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from leadstream.notifications.notifiers import SlackNotifier
from leadstream.platform.errors import ModelNotUsable
from leadstream.predictive.features import features
from leadstream.predictive.model import PredictiveModel, Weight

from tests.builders import LambdaContext, http_request, response_json, signed_in
from tests.integration.conftest import lead_of, notifications
from tests.integration.test_sales_api import card_request
from tests.integration.test_scoring_flow import visit_and_request_demo

CTX = LambdaContext()
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")
MARKUP = "<!channel> <https://x.io|*pricing*>"  # what a driver's label might carry (35 characters)


def artifact(scoring_model: int = 1, **changes: Any) -> PredictiveModel:
    """A small artifact of the test's own, on features Jane's journey has (and one she lacks)."""
    fields: dict[str, Any] = {
        "version": 7,
        "label": "reached opportunity or won within 90 days of becoming a lead",
        "horizon_days": 90,
        "trained_at": datetime(2026, 11, 1, tzinfo=UTC),
        "scoring_model": scoring_model,
        "intercept": -1.5,
        "weights": (
            Weight(feature="rule:pricing_page", label=MARKUP, weight=1.2, mean=0.2, scale=0.5),
            Weight(feature="fit:work_email", label="Work e-mail address", weight=0.6, mean=0.5, scale=0.5),
            Weight(feature="fit:free_email", label="Free e-mail address", weight=-0.8, mean=0.0, scale=0.5),
            Weight(feature="known", label="Known contact", weight=0.1, mean=0.6, scale=0.5),
        ),
    }
    return PredictiveModel(**{**fields, **changes})


def write(path: Path, model: PredictiveModel) -> Path:
    path.write_text(yaml.safe_dump(model.model_dump(mode="json"), sort_keys=False))
    return path


API_MODULES = (
    "functions.api.lists",
    "functions.api.reports",
    "functions.api.app",
)  # app.py includes the others


def api_started() -> ModuleType:
    """ApiFunction as a new container starts it, with the environment as it is now."""
    return [importlib.reload(importlib.import_module(name)) for name in API_MODULES][-1]


def cold_start(monkeypatch: pytest.MonkeyPatch, path: Path) -> ModuleType:
    """ScoreFunction and ApiFunction as new containers started with this PREDICTIVE_MODEL_PATH (the stack
    gives both the same) start them; ScoreFunction's module is answered."""
    monkeypatch.setenv("PREDICTIVE_MODEL_PATH", str(path))
    api_started()
    return importlib.reload(importlib.import_module("functions.score.app"))


@pytest.fixture
def restarted(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """After the test, ScoreFunction and ApiFunction are started again as the stack configures them (no
    predictive model)."""
    try:
        yield
    finally:
        monkeypatch.undo()
        api_started()
        importlib.reload(importlib.import_module("functions.score.app"))


@pytest.fixture
def predictive_score(restarted: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """ScoreFunction started with the test artifact."""
    return cold_start(monkeypatch, write(tmp_path / "likelihood.yaml", artifact()))


def scored(track: Any, form: Any, function: ModuleType, new_records: Any, filters: Any) -> str:
    visit_and_request_demo(track, form, title="VP Marketing")
    batch = {"Records": new_records(filters["ScoreFunction"])}
    assert function.lambda_handler(batch, CTX) == {"batchItemFailures": []}
    return lead_of("anon-1")


def test_scoring_stores_the_likelihood_of_the_new_score_on_state_and_on_its_stage_change(
    track, form, predictive_score, new_records, filters, scores
):
    lead = scored(track, form, predictive_score, new_records, filters)

    stored = scores.load(lead)
    assert stored.score.stage.value == "SQL"
    expected = artifact().likelihood(features(predictive_score.model, stored.score, datetime.now(UTC)))
    assert stored.likelihood is not None
    assert stored.likelihood.model_version == 7
    assert stored.likelihood.probability == pytest.approx(expected.probability, abs=1e-4)
    # the features that moved it most, in the artifact's words: pricing up, a work e-mail up, no free mail
    assert [(d.label, d.effect) for d in stored.likelihood.drivers] == [
        (d.label, d.effect) for d in expected.drivers
    ]
    assert [d.label for d in stored.likelihood.drivers][:2] == [MARKUP, "Work e-mail address"]
    # the stage change records the likelihood of that moment (what the notification tells)
    [sql] = scores.history(lead)
    assert sql.likelihood == stored.likelihood


ACCOUNT_WEIGHTS = (
    Weight(
        feature="account:fit:target_industry",
        label="Account: Industry we sell to",
        weight=2.0,
        mean=0.5,
        scale=0.5,
    ),
    Weight(
        feature="account:fit:micro_business", label="Account: Fewer than 10", weight=-1.0, mean=0.2, scale=0.4
    ),
    Weight(feature="known", label="Known contact", weight=0.1, mean=0.6, scale=0.5),
)


def test_an_artifact_with_account_features_reads_each_leads_account_and_names_it_among_the_drivers(
    track, form, restarted, tmp_path, monkeypatch, new_records, filters, scores
):
    function = cold_start(monkeypatch, write(tmp_path / "accounts.yaml", artifact(weights=ACCOUNT_WEIGHTS)))
    # Jane's company told us what it is (a group call); Bob's only what its domain says
    visit_and_request_demo(track, form, "anon-1", "jane@acme.example")
    group = {
        "anonymousId": "anon-1",
        "groupId": "acme",
        "traits": {"name": "Acme", "website": "https://acme.example", "industry": "SaaS", "employees": 250},
    }
    assert track.lambda_handler(http_request("/v1/group", group), CTX)["statusCode"] == 200
    visit_and_request_demo(track, form, "anon-2", "bob@initech.example")
    assert function.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }

    jane, bob = (scores.load(lead_of(a)).likelihood for a in ("anon-1", "anon-2"))
    assert jane is not None
    assert bob is not None
    assert jane.probability == pytest.approx(
        artifact(weights=ACCOUNT_WEIGHTS)
        .likelihood({"known": 1.0, "account:fit:target_industry": 1.0, "account:fit:mid_market": 1.0})
        .probability,
        abs=1e-4,
    )
    assert (jane.drivers[0].label, jane.drivers[0].effect) == ("Account: Industry we sell to", 2.0)
    assert (bob.drivers[0].label, bob.drivers[0].effect) == ("Account: Industry we sell to", -2.0)
    assert jane.probability > bob.probability


def test_the_card_and_the_list_answer_the_likelihood_beside_the_rules_score(
    track, form, predictive_score, api, new_records, filters, scores
):
    lead = scored(track, form, predictive_score, new_records, filters)
    stored = scores.load(lead).likelihood
    assert stored is not None

    card = response_json(api.lambda_handler(card_request(lead, signed_in("sales")), CTX))
    rows = response_json(
        api.lambda_handler(
            http_request("/api/leads", method="GET", write_key=None, user=signed_in("sales")), CTX
        )
    )["leads"]

    answer = {
        "probability": round(stored.probability, 4),
        "model_version": 7,
        "drivers": [{"feature": d.feature, "label": d.label, "effect": d.effect} for d in stored.drivers],
    }
    assert card["likelihood"] == answer
    assert card["score"]["total"] > 0  # the rules score, as before
    assert [row["likelihood"] for row in rows if row["lead_id"] == lead] == [answer]


def test_without_a_predictive_model_the_card_and_the_list_answer_null(
    track, form, score, api, new_records, filters, scores
):
    lead = scored(track, form, score, new_records, filters)

    card = response_json(api.lambda_handler(card_request(lead, signed_in("sales")), CTX))
    rows = response_json(
        api.lambda_handler(
            http_request("/api/leads", method="GET", write_key=None, user=signed_in("sales")), CTX
        )
    )["leads"]

    assert scores.load(lead).likelihood is None
    assert card["likelihood"] is None
    assert [row["likelihood"] for row in rows if row["lead_id"] == lead] == [None]


def test_once_the_model_is_removed_the_card_and_the_list_no_longer_show_the_likelihood_it_left(
    track, form, predictive_score, new_records, filters, scores, monkeypatch
):
    lead = scored(track, form, predictive_score, new_records, filters)
    assert scores.load(lead).likelihood is not None  # STATE keeps what the removed model computed

    monkeypatch.delenv("PREDICTIVE_MODEL_PATH")  # the operator empties PredictiveModelFile and deploys
    api = api_started()
    card = response_json(api.lambda_handler(card_request(lead, signed_in("sales")), CTX))
    rows = response_json(
        api.lambda_handler(
            http_request("/api/leads", method="GET", write_key=None, user=signed_in("sales")), CTX
        )
    )["leads"]

    assert card["likelihood"] is None
    assert card["score"]["total"] > 0
    assert [row["likelihood"] for row in rows if row["lead_id"] == lead] == [None]


def test_the_notification_tells_the_likelihood_in_one_line_with_a_drivers_markup_as_plain_text(
    track,
    form,
    predictive_score,
    publish,
    notify,
    new_records,
    filters,
    published,
    handed_over,
    notifications_file: Path,
    scores,
):
    lead = scored(track, form, predictive_score, new_records, filters)
    assert publish.lambda_handler({"Records": new_records(filters["PublishFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    [event] = published()
    notify.lambda_handler(handed_over(event), CTX)

    [sent] = notifications(notifications_file)
    likelihood = scores.load(lead).likelihood
    assert likelihood is not None
    percent = f"{likelihood.probability:.0%}"
    line = next(x for x in sent["text"].splitlines() if x.startswith("Likelihood to close"))
    assert line == f"Likelihood to close {percent} · {MARKUP} ↑ Work e-mail address ↑ Known contact ↑"
    assert sent["card"]["likelihood"]["model_version"] == 7  # the bus event's card carries it too
    # Slack: the text is plain_text (shown as typed), the phone's fallback escapes Slack's markup
    body = SlackNotifier("https://hooks.slack.com/services/T/B/x").body(sent["subject"], sent["text"], sent)
    section = next(b for b in body["blocks"] if b["type"] == "section")
    assert section["text"]["type"] == "plain_text"
    assert line in section["text"]["text"]
    assert "&lt;!channel&gt; &lt;https://x.io|*pricing*&gt; ↑" in body["text"]
    assert "<!channel>" not in body["text"]


def test_a_broken_or_missing_artifact_fails_the_cold_start_naming_the_problem(
    restarted: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({**artifact().model_dump(mode="json"), "intercept": "high"}))

    with pytest.raises(ModelNotUsable, match=r"broken\.yaml: not a valid artifact \(intercept: "):
        cold_start(monkeypatch, broken)
    with pytest.raises(ModelNotUsable, match=r"missing\.yaml: cannot be read"):
        cold_start(monkeypatch, tmp_path / "missing.yaml")


def test_an_artifact_trained_under_another_scoring_model_is_refused(
    restarted: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = write(tmp_path / "other.yaml", artifact(scoring_model=2))

    with pytest.raises(ModelNotUsable, match="trained under scoring model version 2, but the functions"):
        cold_start(monkeypatch, other)
