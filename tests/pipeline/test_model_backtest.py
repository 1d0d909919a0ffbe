"""`python -m cli model backtest` on the simulated 90-day history (tests/pipeline/history.py): the shipped
model replayed from the archive makes the stage changes scoring made live, person by person, stage and
time; a candidate with a higher SQL threshold makes fewer SQLs, and its figures add up."""

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from leadstream.archive.history import PersonHistory, histories, replay
from leadstream.archive.records import ArchivedRecord
from leadstream.platform.documents import read_yaml
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model_file import SHIPPED_MODEL, load_model

from tests.pipeline.harness import Runner
from tests.pipeline.history import archive, cli

pytestmark = pytest.mark.slow


def settled(run: Runner, seconds: float = 300) -> list[ArchivedRecord]:
    """The runner's archive once ArchiveFunction has caught up (the same records twice, 15 s apart)."""
    deadline = time.monotonic() + seconds
    records = archive(run)
    while time.monotonic() < deadline:
        time.sleep(15)
        again = archive(run)
        if len(again) == len(records):
            return again
        records = again
    raise AssertionError(f"the archive kept growing for {seconds} s")


def live_changes(person: PersonHistory) -> list[tuple[Stage, float]]:
    """The stage changes scoring made live (not people), to the millisecond."""
    return [
        (c.to_stage, round(c.at.timestamp(), 3))
        for c in person.changes
        if c.by is None and not c.to_stage.by_people
    ]


def replayed_changes(person: PersonHistory) -> list[tuple[Stage, float]]:
    return [(t.to_stage, round(t.at.timestamp(), 3)) for t in replay(load_model(), person).transitions]


def scored_out_of_order(person: PersonHistory, records: list[ArchivedRecord]) -> bool:
    """Live scoring may have applied the person's events in another order than they happened: another lead
    was merged into theirs (scored apart, then merged: `score.merge` carries a signal to the next event
    whatever its time) and their events reached the table in more than one write (a batch that timed out
    is retried or split, so a later write can be scored before an earlier one; an event older than the
    lead's score counts as a late one, decayed)."""
    merged = any(r.kind == "merge" and r.fields.get("into") in person.leads for r in records)
    writes = {round(r.stored) for r in records if r.kind == "event" and r.lead_id in person.leads}
    return merged and len(writes) > 1


def test_backtesting_the_shipped_model_reproduces_the_live_stages(simulated_history: Runner) -> None:
    records = settled(simulated_history)
    people = histories(records)
    scored = [p for p in people.values() if live_changes(p)]
    assert len(scored) > 50, "the simulation made stage changes for many people"

    differing = {lead for lead, p in people.items() if live_changes(p) != replayed_changes(p)}

    # Replay applies each person's events in the order they happened. Live scoring applies them in the
    # order they reach the table, which on this busy machine (timeouts, retried and split batches of a
    # 90-day import) is not always the same for a person whose leads were merged: those few, and only
    # those, may differ.
    assert [lead for lead in sorted(differing) if not scored_out_of_order(people[lead], records)] == []
    assert len(differing) <= max(3, len(scored) // 50), sorted(differing)

    done = cli(simulated_history, "model", "backtest", "--json")
    assert done.returncode == 0, done.stderr
    agreement = json.loads(done.stdout)["agreement"]
    assert agreement["people"] == len([p for p in people.values() if p.events])
    assert (agreement["differing"], agreement["other_versions"]) == (len(differing), 0)
    assert agreement["matching"] == agreement["people"] - len(differing)
    assert agreement["differing_leads"] == sorted(differing)[:20]


def test_a_higher_sql_threshold_makes_fewer_sqls_and_its_figures_add_up(
    simulated_history: Runner, tmp_path: Path
) -> None:
    settled(simulated_history)
    document: dict[str, Any] = read_yaml(SHIPPED_MODEL)
    sql = next(s for s in document["stages"] if s["stage"] == "SQL")
    stricter = {
        **document,
        "version": document["version"] + 1,
        "stages": [
            s if s is not sql else {**sql, "min_score": sql["min_score"] + 25} for s in document["stages"]
        ],
    }
    candidate = tmp_path / "stricter.yaml"
    candidate.write_text(yaml.safe_dump(stricter))

    done = cli(simulated_history, "model", "backtest", "--model", str(candidate), "--json")
    again = cli(simulated_history, "model", "backtest", "--model", str(candidate), "--json")

    assert done.returncode == 0, done.stderr
    assert again.stdout == done.stdout  # deterministic: the same archive and models, the same bytes
    found = json.loads(done.stdout)
    mine, live = found["candidate"], found["live"]
    by_stage = {m: {s["stage"]: s for s in f["stages"]} for m, f in (("candidate", mine), ("live", live))}
    assert 0 < by_stage["candidate"]["SQL"]["reached"] < by_stage["live"]["SQL"]["reached"]
    assert by_stage["candidate"]["MQL"]["reached"] == by_stage["live"]["MQL"]["reached"]  # MQL unchanged
    people, converted = found["people"], found["converted"]
    assert 0 < found["won"] <= converted < people
    for figures in (mine, live):
        stages = {s["stage"]: s for s in figures["stages"]}
        for stage in stages.values():
            assert stage["won"] <= stage["converted"] <= stage["reached"] <= people
        sql_stage = stages["SQL"]
        assert figures["sql_precision"] == round(sql_stage["converted"] / sql_stage["reached"], 4)
        assert figures["sql_recall"] == round(sql_stage["converted"] / converted, 4)
        assert stages["SQL"]["reached"] <= stages["MQL"]["reached"]
    assert mine["sql_recall"] <= live["sql_recall"]
    timing = found["timing"]
    assert timing["converters"] == converted
    kinds = ("earlier", "later", "same", "only_candidate", "only_live", "neither")
    assert sum(timing[k] for k in kinds) == converted
    assert timing["earlier"] == timing["only_candidate"] == 0  # a higher bar is never crossed sooner
    assert timing["same"] + timing["later"] == by_stage["candidate"]["SQL"]["converted"]
    assert timing["same"] + timing["later"] + timing["only_live"] == by_stage["live"]["SQL"]["converted"]
    assert "replayed" in done.stderr
