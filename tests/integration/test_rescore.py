"""`python -m cli model rescore`: every lead's score recomputed from the event archive under a new model, with
the handlers in-process against moto. Stages the new model reaches are recorded, dated in the past, and
never published; accounts follow the rescored leads; a second run writes nothing; an erased lead stays
erased."""

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from leadstream.accounts.repository import AccountLedger
from leadstream.archive.history import PersonHistory
from leadstream.archive.reader import ArchiveReader
from leadstream.archive.store import ArchiveStore
from leadstream.platform.documents import read_yaml
from leadstream.scoring.lifecycle import Stage
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.model_file import SHIPPED_MODEL
from leadstream.scoring.rescore import Rescore, Result, people_of
from leadstream.tracking.repository import EventRepository

from cli.__main__ import main
from local.template import Stack
from tests.builders import LambdaContext, http_request, page_view
from tests.integration.conftest import bus_entries, lead_of
from tests.integration.test_privacy import EMAIL, cli, jane

CTX = LambdaContext()
ACME = "acme.com"
READERS = {"ann": "CFO", "bob": "Software Engineer"}
BLOG = 30  # the new model's points for a blog post (the shipped model's: 5)
MQL, SQL = 40, 55  # the new model's thresholds (the shipped model's: 50, 75)


@pytest.fixture
def new_model(tmp_path: Path) -> tuple[ScoringModel, Path]:
    """The shipped model as version 2, with blog posts worth more and lower thresholds, in a file."""
    document = read_yaml(SHIPPED_MODEL)
    document["version"] = 2
    document["stages"] = [
        {"stage": "MQL", "min_score": MQL},
        {"stage": "SQL", "min_score": SQL, "requires_known": True},
    ]
    for rule in document["behaviour"]:
        if rule["id"] == "blog_post":
            rule["points"] = BLOG
    path = tmp_path / "scoring-v2.yaml"
    path.write_text(json.dumps(document))  # JSON is YAML
    return ScoringModel.model_validate(document), path


def reads_and_subscribes(track: Any, form: Any, person: str, title: str) -> None:
    """A home page, a blog post and the newsletter form with a work e-mail: 2 + 5 + 15 + 10 (and 10 for a
    senior title) under the shipped model, no stage; an SQL under the new one."""
    for path in ("/", "/blog/speed-to-lead"):
        assert (
            track.lambda_handler(http_request("/v1/page", page_view(person, path)), CTX)["statusCode"] == 200
        )
    fields = {"email": f"{person}@{ACME}", "title": title, "anonymousId": person}
    event = http_request(
        "/v1/forms/newsletter",
        fields,
        route="/v1/forms/{form_id}",
        path_params={"form_id": "newsletter"},
        content_type="application/json",
    )
    assert form.lambda_handler(event, CTX)["statusCode"] == 200


def rescore(moto_endpoint: str, capsys: Any, path: Path, *flags: str) -> tuple[int, dict[str, Any], str]:
    """The command's exit status, its --json summary and what it said on stderr."""
    capsys.readouterr()
    code = main(["--endpoint", moto_endpoint, "model", "rescore", "--model", str(path), "--json", *flags])
    out, err = capsys.readouterr()
    return code, json.loads(out[out.index("{") :]), err


def test_rescoring_moves_leads_to_stages_nobody_is_told_of_and_a_second_run_writes_nothing(
    track, form, score, account, publish, archive_stream, new_records, filters, scores, moto_endpoint, capsys,
    new_model, aws, leads_table, stack,
):  # fmt: skip
    model, path = new_model
    for person, title in READERS.items():
        reads_and_subscribes(track, form, person, title)
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    assert account.lambda_handler({"Records": new_records(filters["AccountFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    archive_stream()
    ann, bob = lead_of("ann"), lead_of("bob")
    before = {lead: scores.load(lead).score for lead in (ann, bob)}
    assert {s.stage for s in before.values()} == {Stage.LEAD}
    assert {s.model_version for s in before.values()} == {1}
    ledger = AccountLedger(stack.physical_name("AccountsTable"), leads_table)
    board_before = ledger.state(ACME).board
    started = datetime.now(UTC)

    # a dry run says what would change and writes nothing
    code, dry, err = rescore(moto_endpoint, capsys, path, "--dry-run")
    assert code == 0
    assert (dry["written"], dry["rescored_stages"]) == (2, {"SQL": 2})
    assert {c["lead_id"] for c in dry["changes"]} == {ann, bob}
    assert new_records() == []
    assert "rescored 2/2 people: 2 would write, 0 unchanged, 0 skipped" in err

    code, summary, err = rescore(moto_endpoint, capsys, path)

    assert code == 0
    assert (summary["written"], summary["unchanged"], summary["rescored_stages"]) == (2, 0, {"SQL": 2})
    assert summary["versions_before"] == {"1": 2}
    assert "the live model must be this same file" in err
    assert "rescored 2/2 people: 2 written, 0 unchanged, 0 skipped" in err
    for lead in (ann, bob):
        after = scores.load(lead).score
        assert (after.stage, after.model_version) == (Stage.SQL, model.version)
        assert after.behaviour > before[lead].behaviour  # the blog post is worth more
        [moved] = [t for t in scores.history(lead) if t.rescored]
        assert (moved.from_stage, moved.to_stage, moved.model_version) == (Stage.LEAD, Stage.SQL, 2)
        assert moved.at < started  # when the model would have reached it: the newsletter form
        assert moved.at == max(e.at for e, _ in EventRepository(leads_table).of_lead(lead))

    # PublishFunction: its template filter lets none of the rescored stage changes through ...
    records = new_records()
    subscription = next(sub for sub in stack.streams if sub.function == "PublishFunction")
    rescored = [r for r in records if r["dynamodb"]["Keys"]["sk"]["S"].startswith("TRANS#")]
    assert len(rescored) == 2
    assert not [r for r in records if subscription.matches(r)]
    # ... and given them anyway, it publishes nothing and marks nothing
    with bus_entries() as put:
        assert publish.lambda_handler({"Records": rescored}, CTX) == {"batchItemFailures": []}
    assert put == []
    assert all(t.rescored for t in scores.history(ann) if t.to_stage is Stage.SQL)
    assert list(scores.unpublished()) == []

    # AccountFunction rolls the rescored STATEs up: the account's board holds the new behaviour points
    accounts = [r for r in records if _subscribed(stack, "AccountFunction", r)]
    assert accounts
    assert account.lambda_handler({"Records": accounts}, CTX) == {"batchItemFailures": []}
    board = ledger.state(ACME).board
    for lead in (ann, bob):
        assert board[lead].behaviour == pytest.approx(scores.load(lead).score.behaviour, abs=1e-3)
        assert board[lead].behaviour > board_before[lead].behaviour

    # the second run: nothing differs, nothing is written (no stream record at all)
    code, again, err = rescore(moto_endpoint, capsys, path)
    assert code == 0
    assert (again["written"], again["unchanged"], again["rescored_stages"]) == (0, 2, {})
    assert new_records() == []
    assert "is not newer than the version on STATE" in err  # version 2 over version 2


def _subscribed(stack: Stack, function: str, record: dict[str, Any]) -> bool:
    return next(sub for sub in stack.streams if sub.function == function).matches(record)


def test_a_run_stopped_midway_continues_where_it_stopped(
    track, form, score, archive_stream, new_records, filters, scores, moto_endpoint, capsys, new_model, bucket
):
    model, path = new_model
    for person, title in READERS.items():
        reads_and_subscribes(track, form, person, title)
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    archive_stream()
    people, stored_at = people_of(ArchiveReader(ArchiveStore(bucket)).records(date(2000, 1, 1), date.today()))
    # the first run stopped after rescoring ann
    [done] = Rescore(scores, model).people([people[lead_of("ann")]], stored_at)
    assert done.result is Result.WRITTEN
    # a person none of whose events is in the archive read (--since after them) is left as they are
    [alone] = Rescore(scores, model).people([PersonHistory(lead_of("bob"))])
    assert alone.result is Result.NO_EVENTS

    code, summary, _ = rescore(moto_endpoint, capsys, path)

    assert code == 0
    assert (summary["written"], summary["unchanged"]) == (1, 1)
    assert [c["lead_id"] for c in summary["changes"]] == [lead_of("bob")]
    assert scores.load(lead_of("ann")).score.transition_count == 1  # not rescored twice


def test_an_erased_person_is_never_rescored(
    track,
    form,
    score,
    archive_stream,
    new_records,
    filters,
    scores,
    items,
    moto_endpoint,
    capsys,
    new_model,
    bucket,
):
    model, path = new_model
    jane(track, form, score, new_records, filters)
    archive_stream()
    people, _ = people_of(ArchiveReader(ArchiveStore(bucket)).records(date(2000, 1, 1), date.today()))
    [history] = [h for h in people.values() if h.events]
    assert cli(moto_endpoint, capsys, "erase", EMAIL, "--yes")[0] == 0
    left = items()

    # the history read before the erase (a run that had read the archive already) meets the tombstone
    [found] = Rescore(scores, model).people([history])
    code, summary, _ = rescore(moto_endpoint, capsys, path)

    assert found.result is Result.ERASED
    assert code == 0
    assert summary["written"] == 0
    assert items() == left
