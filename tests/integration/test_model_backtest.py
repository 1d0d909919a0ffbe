"""`python -m cli model backtest` against the local stack: a small archive written to its bucket through
ArchiveStore (the people of tests/unit/test_archive_backtest.py), replayed under model files given with
--model and --live; JSON for CI, a table for people, errors that say what to do."""

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from leadstream.archive.records import encode, group
from leadstream.archive.store import ArchiveStore

from cli import target as targets
from cli.__main__ import main
from cli.model import backtest as command
from local.template import Stack
from tests.unit.model import DOCUMENT
from tests.unit.test_archive_backtest import STRICT_SQL, people


@pytest.fixture
def archived(aws: dict[str, Any], stack: Stack) -> None:
    store = ArchiveStore(stack.physical_name("ArchiveBucket"))
    for key, records in group(people()).items():
        store.put(key, encode(records))


@pytest.fixture
def models(tmp_path: Path) -> dict[str, str]:
    """The unit tests' model as the live one, and a candidate with a stricter SQL threshold (version 2)."""
    strict = {
        **DOCUMENT,
        "version": 2,
        "stages": [
            {"stage": "MQL", "min_score": 40},
            {"stage": "SQL", "min_score": STRICT_SQL, "requires_known": True},
        ],
    }
    written = {}
    for name, document in (("live", DOCUMENT), ("strict", strict)):
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(document))
        written[name] = str(path)
    return written


def run(capsys: Any, moto_endpoint: str, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--endpoint", moto_endpoint, "model", "backtest", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_stricter_candidate_is_backtested_beside_the_live_model_as_json(
    archived, models, moto_endpoint, capsys
):
    code, out, err = run(
        capsys, moto_endpoint, "--model", models["strict"], "--live", models["live"], "--json"
    )

    assert code == 0, err
    found = json.loads(out)
    assert (found["people"], found["converted"], found["won"]) == (4, 2, 1)
    assert (found["candidate"]["model"], found["candidate"]["version"]) == (models["strict"], 2)
    assert [s["reached"] for s in found["live"]["stages"]] == [3, 0, 2]
    assert [s["reached"] for s in found["candidate"]["stages"]] == [3, 0, 1]
    assert (found["candidate"]["sql_precision"], found["candidate"]["sql_recall"]) == (1.0, 0.5)
    assert (found["timing"]["same"], found["timing"]["only_live"]) == (1, 1)
    assert (found["agreement"]["matching"], found["agreement"]["differing"]) == (4, 0)
    assert "replayed 4 people under both models." in err  # progress and counts on stderr, stdout stays JSON

    again = run(capsys, moto_endpoint, "--model", models["strict"], "--live", models["live"], "--json")
    assert again[1] == out  # the same archive and models: the same bytes


def test_the_table_puts_the_models_side_by_side(archived, models, moto_endpoint, capsys):
    code, out, _ = run(capsys, moto_endpoint, "--model", models["strict"], "--live", models["live"])

    assert code == 0
    assert "4 people, 2 converted (opportunity or won), 1 won" in out
    sql = next(line for line in out.splitlines() if line.startswith("SQL reached"))
    assert sql.split()[2:] == ["1", "2"]  # candidate, live
    recall = next(line for line in out.splitlines() if line.startswith("SQL recall"))
    assert recall.split()[2:] == ["50%", "100%"]
    assert "1 at the same moment" in out
    assert "4 of 4 people the same" in out


def test_a_period_without_people_says_how_to_widen_it(archived, models, moto_endpoint, capsys):
    code, out, err = run(capsys, moto_endpoint, "--live", models["live"], "--since", "2027-01-01")

    assert code == 1
    assert out == ""
    assert "nobody first seen from 2027-01-01 to now" in err
    assert "widen --since/--until" in err


def test_a_model_file_that_does_not_validate_is_named_with_its_rule(
    archived, tmp_path, moto_endpoint, capsys
):
    broken = tmp_path / "broken.yaml"
    document = {**DOCUMENT, "behaviour": [{**DOCUMENT["behaviour"][0], "points": "lots"}]}
    broken.write_text(yaml.safe_dump(document))

    code, out, err = run(capsys, moto_endpoint, "--model", str(broken))

    assert code == 1
    assert out == ""
    assert (
        f"the model file {broken} does not validate: behaviour[demo].points: Input should be a valid integer"
        in err
    )

    code, _, err = run(capsys, moto_endpoint, "--model", str(tmp_path / "none.yaml"))
    assert code == 1
    assert "cannot read the model file" in err


def test_since_after_until_is_refused(archived, moto_endpoint, capsys):
    code, _, err = run(capsys, moto_endpoint, "--since", "2026-09-02", "--until", "2026-09-01")

    assert code == 2
    assert "--since is after --until" in err


def test_a_stack_without_an_archive_says_how_to_get_one(aws, moto_endpoint, capsys):
    target = replace(targets.local(moto_endpoint), archive_bucket="")  # a stack deployed before the archive
    args = argparse.Namespace(model=None, live=None, since=None, until=None, json=True)

    with pytest.raises(
        targets.TargetError, match=r"this stack has no event archive.*README: The event archive"
    ):
        command.run(args, target)
