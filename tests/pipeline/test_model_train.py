"""`python -m cli model train` on the simulated 90-day history (tests.pipeline.history): an artifact whose
likelihood follows the simulator's hidden propensities, which it never saw, judged beside the rules score
on the later people.

On this history the examples are the leads sales decided on (everyone else is still inside the 90-day
horizon, and sales acts "now"): 75 SQLs, 52 to train and 23 later ones to judge. Training reads their
accounts' fit (industry, size: what the plan draws a company's propensity from), and the likelihood follows
the propensity across all known people. On the 23, the comparison cannot be decided: the rules score ranks
them at AUC 0.64, and so do the plan's own hidden traits without noise (size, industry, channel, title:
0.66); the model's 0.41 is 52 examples against some 100 features. The test says so until the history gives
enough decided people (docs/models.md, "What the tests show")."""

import json
import statistics
from pathlib import Path
from typing import Any

import pytest
import yaml
from leadstream.accounts.model_file import load_account_model
from leadstream.archive.history import histories
from leadstream.identity.identifiers import device_lead, identifiers
from leadstream.predictive import training
from leadstream.predictive.features import account_features
from leadstream.predictive.model import PredictiveModel
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model_file import load_model

from tests.pipeline.harness import Runner
from tests.pipeline.history import archive, cli, history_plan

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(
    simulated_history: Runner, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("train") / "predictive.yaml"
    done = cli(simulated_history, "model", "train", "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout), out


def test_an_artifact_is_trained_whose_likelihood_follows_the_hidden_propensity(
    simulated_history: Runner, trained: tuple[dict[str, Any], Path]
) -> None:
    result, out = trained

    assert result["train"]["positives"] >= training.MIN_POSITIVES
    assert result["evaluate"]["examples"] > result["evaluate"]["positives"] > 0
    assert result["left_out_inside_horizon"] > 0  # said, not taken for negatives
    assert result["model"]["auc"] is not None
    assert result["rules_score"]["auc"] is not None
    artifact = PredictiveModel.model_validate(yaml.safe_load(out.read_text()))
    assert artifact.version == 1
    assert artifact.evaluation["auc"] == result["model"]["auc"]
    assert artifact.evaluation["rules_auc"] == result["rules_score"]["auc"]
    people_stages = [
        w for w in artifact.weights if w.feature.startswith("stage:") and Stage(w.feature[6:]).by_people
    ]
    assert people_stages == []  # the label never shows among the features

    # every known visitor of the plan, judged as training judges them (with their account's features, from
    # the traits the plan's group calls gave): the likelier buyers rank higher
    scoring = load_model()
    plan = history_plan(simulated_history)
    accounts = load_account_model()
    known = training.KnownAccounts(
        accounts,
        {
            device_lead(identifiers(v.anonymous_id, None, None)): account_features(
                accounts,
                v.company.domain,
                {"industry": v.company.industry, "employees": str(v.company.employees)},
            )
            for v in plan.known()
        },
    )
    people = histories(archive(simulated_history))
    person_of = {lead: person for person in people.values() for lead in person.leads}
    likelihood: dict[str, float] = {}
    propensity: dict[str, float] = {}
    for visitor in plan.known():
        person = person_of.get(device_lead(identifiers(visitor.anonymous_id, None, None)))
        if person is None or person.known_at is None:
            continue
        at = training.snapshot(person, person.known_at)
        likelihood[visitor.key] = artifact.likelihood(
            training.example_values(scoring, person, at, known)
        ).probability
        propensity[visitor.key] = visitor.propensity
    middle = statistics.median(propensity.values())
    high = [likelihood[k] for k in likelihood if propensity[k] >= middle]
    low = [likelihood[k] for k in likelihood if propensity[k] < middle]

    assert len(likelihood) >= 100
    assert statistics.mean(high) > statistics.mean(low) + 0.1


@pytest.mark.xfail(
    strict=True,
    reason="23 later people decide it: on them the plan's hidden traits themselves rank at AUC 0.66 against "
    "the rules score's 0.64, and 52 examples cannot teach some 100 features; it needs more decided people",
)
def test_the_trained_model_ranks_the_later_people_better_than_the_rules_score(
    trained: tuple[dict[str, Any], Path],
) -> None:
    result, _ = trained

    assert result["model"]["auc"] > result["rules_score"]["auc"]
