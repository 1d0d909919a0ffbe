"""`python -m cli model train` on the simulated 90-day history (tests.pipeline.history): the trained model
ranks the later people better than the rules score does, and its likelihood follows the simulator's
hidden propensities, which it never saw."""

import json
import statistics
from pathlib import Path

import pytest
import yaml
from leadstream.archive.history import histories
from leadstream.identity.identifiers import device_lead, identifiers
from leadstream.predictive import training
from leadstream.predictive.model import PredictiveModel
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model_file import load_model

from tests.pipeline.harness import Runner
from tests.pipeline.history import archive, cli, history_plan

pytestmark = pytest.mark.slow


def test_the_trained_model_beats_the_rules_score_on_the_later_people_and_follows_their_propensity(
    simulated_history: Runner, tmp_path: Path
) -> None:
    out = tmp_path / "predictive.yaml"

    done = cli(simulated_history, "model", "train", "--out", str(out), "--json")

    assert done.returncode == 0, done.stderr + done.stdout
    result = json.loads(done.stdout)
    assert result["train"]["positives"] >= training.MIN_POSITIVES
    assert result["evaluate"]["positives"] >= 5
    assert result["evaluate"]["examples"] > result["evaluate"]["positives"]
    assert result["model"]["auc"] > result["rules_score"]["auc"]
    artifact = PredictiveModel.model_validate(yaml.safe_load(out.read_text()))
    assert artifact.version == 1
    assert artifact.evaluation["auc"] == result["model"]["auc"]
    people_stages = [
        w for w in artifact.weights if w.feature.startswith("stage:") and Stage(w.feature[6:]).by_people
    ]
    assert people_stages == []  # the label never shows among the features

    # every known visitor of the plan, judged as training judges them: the likelier buyers rank higher
    scoring = load_model()
    people = histories(archive(simulated_history))
    person_of = {lead: person for person in people.values() for lead in person.leads}
    likelihood: dict[str, float] = {}
    propensity: dict[str, float] = {}
    for visitor in history_plan(simulated_history).known():
        person = person_of.get(device_lead(identifiers(visitor.anonymous_id, None, None)))
        if person is None or person.known_at is None:
            continue
        at = training.snapshot(person, person.known_at)
        values = training.example_values(scoring, person, at)
        likelihood[visitor.key] = artifact.likelihood(values).probability
        propensity[visitor.key] = visitor.propensity
    middle = statistics.median(propensity.values())
    high = [likelihood[k] for k in likelihood if propensity[k] >= middle]
    low = [likelihood[k] for k in likelihood if propensity[k] < middle]

    assert len(likelihood) >= 50
    assert statistics.mean(high) > statistics.mean(low)
