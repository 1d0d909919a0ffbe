"""`python -m cli model train` against the local stack's archive: an artifact written for review (versioned
after the one it replaces), the evaluation on stdout, and refusals that say what to do."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from leadstream.archive.history import PersonHistory
from leadstream.archive.records import ArchivedRecord, encode, group
from leadstream.archive.store import ArchiveStore
from leadstream.predictive.model import PredictiveModel

from local.template import Stack
from tests.integration.test_cli import run
from tests.unit.test_predictive_training import population

NOW = datetime.now(UTC)


def records_of(people: list[PersonHistory]) -> list[ArchivedRecord]:
    """The people's events and sales' moves as ArchiveFunction writes them, all stored today (as a
    simulation stores its history)."""
    found = []
    seq = 1000
    for person in people:
        for event in person.events:
            seq += 1
            fields: dict[str, Any] = {"type": event.type.value, "path": event.path, "fit": event.fit_traits}
            found.append(
                ArchivedRecord(
                    "event",
                    person.lead_id,
                    f"EVT#{event.message_id}",
                    event.at.timestamp(),
                    NOW.timestamp(),
                    str(seq),
                    fields,
                )
            )
        for n, change in enumerate(person.changes, 1):
            seq += 1
            fields = {
                "from_stage": change.from_stage.value,
                "to_stage": change.to_stage.value,
                "by": change.by,
            }
            found.append(
                ArchivedRecord(
                    "transition",
                    person.lead_id,
                    f"TRANS#{n}",
                    change.at.timestamp(),
                    NOW.timestamp(),
                    str(seq),
                    fields,
                )
            )
    return found


def archive_holds(stack: Stack, people: list[PersonHistory]) -> None:
    store = ArchiveStore(stack.physical_name("ArchiveBucket"))
    for key, records in group(records_of(people)).items():
        store.put(key, encode(records))


def test_an_artifact_is_trained_from_the_archive_and_the_next_one_is_the_next_version(
    aws, stack, moto_endpoint, capsys, tmp_path: Path
):
    archive_holds(stack, population(200))
    out = tmp_path / "predictive.yaml"

    code, printed = run(
        capsys, moto_endpoint, "model", "train", "--horizon", "30", "--out", str(out), "--json"
    )

    assert code == 0, printed
    result = json.loads(printed[printed.index("{") : printed.rindex("}") + 1])
    artifact = PredictiveModel.model_validate(yaml.safe_load(out.read_text()))
    assert artifact.version == result["version"] == 1
    assert artifact.horizon_days == 30
    assert result["model"]["auc"] > result["rules_score"]["auc"]
    assert result["known_people"] == 200
    # the latest people are still inside their horizon at the archive's end: left out, not negatives
    assert result["left_out_inside_horizon"] > 0
    assert (
        result["train"]["examples"] + result["evaluate"]["examples"] + result["left_out_inside_horizon"]
        == 200
    )
    assert result["train"]["positives"] >= 20
    assert artifact.evaluation["auc"] == result["model"]["auc"]
    assert sum(b["count"] for b in result["model"]["calibration"]) == result["evaluate"]["examples"]
    assert "scanned" not in printed.split("{", 1)[1]  # progress went to stderr, before the data

    code, printed = run(capsys, moto_endpoint, "model", "train", "--horizon", "30", "--out", str(out))

    assert code == 0, printed
    again = PredictiveModel.model_validate(yaml.safe_load(out.read_text()))
    assert again.version == 2
    assert again.weights == artifact.weights  # the same archive teaches the same
    assert "Predictive model 2 written to" in printed
    assert "rules" in printed
    assert "predictive" in printed


def test_too_few_outcomes_are_refused_and_nothing_is_written(
    aws, stack, moto_endpoint, capsys, tmp_path: Path
):
    archive_holds(stack, population(200)[:40])
    out = tmp_path / "predictive.yaml"

    code, printed = run(capsys, moto_endpoint, "model", "train", "--horizon", "30", "--out", str(out))

    assert code == 1
    assert "positive outcomes" in printed
    assert "more" in printed
    assert "simulator" in printed
    assert not out.exists()


def test_an_empty_archive_or_an_out_file_that_is_not_a_model_is_a_clear_error(
    aws, stack, moto_endpoint, capsys, tmp_path: Path
):
    out = tmp_path / "predictive.yaml"

    code, printed = run(capsys, moto_endpoint, "model", "train", "--out", str(out))

    assert code == 1
    assert "archive holds nothing" in printed
    assert not out.exists()

    out.write_text("version: 1\nsomething: else\n")

    code, printed = run(capsys, moto_endpoint, "model", "train", "--out", str(out))

    assert code == 2
    assert "is not a predictive model" in printed
    assert out.read_text() == "version: 1\nsomething: else\n"
