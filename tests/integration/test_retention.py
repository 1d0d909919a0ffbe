"""Retention: a lead inactive for longer than its retention goes entirely (DynamoDB's TTL deletes its STATE,
ExpireFunction the rest); activity keeps it; the source's setting, else the stack's default, says how long."""

import io
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from leadstream.identity.identifiers import Identifier, IdKind, lead_for_key

from cli import redrive as redrive_cli
from cli.__main__ import main
from tests.builders import LambdaContext, http_request, page_view
from tests.integration.conftest import lead_of
from tests.integration.test_privacy import EMAIL, about, call, jane
from tests.integration.test_recovery import parked_stream_batch, queued

CTX = LambdaContext()
STACK_DEFAULT = timedelta(days=395)  # template.yaml's LeadRetentionDays


def send(track: Any, body: dict[str, Any], days: float = 0, write_key: str | None = None) -> None:
    """A page view received `days` from now."""
    event = http_request("/v1/page", body, **({"write_key": write_key} if write_key else {}))
    event["requestContext"]["timeEpoch"] = int((time.time() + days * 86400) * 1000)
    assert track.lambda_handler(event, CTX)["statusCode"] == 200


def scored(score: Any, new_records: Any, filters: Any) -> None:
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }


def near(moment: datetime | None, expected: datetime) -> bool:
    return moment is not None and abs((moment - expected).total_seconds()) < 120


def test_a_lead_inactive_past_its_retention_is_gone_once_the_ttl_deletes_its_state(
    aws, track, form, score, expire, new_records, filters, items, scores, stack, ttl_deletes
):
    jane(track, form, score, new_records, filters)  # two devices, a profile, an account, stage changes
    call(track, "/v1/page", page_view("bob", "/"))
    scored(score, new_records, filters)
    lead = lead_of("anon-1")
    assert near(scores.load(lead).expires_at, datetime.now(UTC) + STACK_DEFAULT)
    accounts_table = stack.physical_name("AccountsTable")
    everything = items()
    hers = about(everything, {lead, lead_of("anon-2")}, set()) + about(items(accounts_table), {lead}, set())
    assert {i["sk"]["S"].split("#")[0] for i in hers} >= {
        "STATE",
        "PROFILE",
        "EVT",
        "TRANS",
        "LINKED",
        "LEAD",
    }

    expired = ttl_deletes(lead)  # a year and a month of silence later

    assert len(expired["Records"]) == 1
    assert expire.lambda_handler(expired, CTX) == {"batchItemFailures": []}
    left = items()
    keys = {Identifier(IdKind.EMAIL, EMAIL).key, Identifier(IdKind.USER, "u-1").key}
    keys |= {Identifier(IdKind.ANONYMOUS, a).key for a in ("anon-1", "anon-2")}
    assert about(left, {lead} | {lead_for_key(k) for k in keys}, keys) == []  # every lead and link of hers
    assert [i for i in items(accounts_table) if i["sk"]["S"].startswith("LEAD#")] == []
    assert not any(i["pk"]["S"].startswith("SUPPRESS#") for i in left)  # expiry is not erasure
    assert any(i["pk"]["S"] == f"LEAD#{lead_of('bob')}" for i in left)  # bob is untouched

    # redelivered: nothing more to do
    assert expire.lambda_handler(expired, CTX) == {"batchItemFailures": []}
    assert items() == left

    # she may come back, as someone new
    call(track, "/v1/identify", {"anonymousId": "anon-1", "traits": {"email": EMAIL}})
    assert any(EMAIL in json.dumps(i) for i in items())


def test_activity_moves_a_leads_expiry_forward_and_never_back(
    aws, track, score, new_records, filters, scores
):
    now = datetime.now(UTC)
    lead = lead_of("anon-1")
    send(track, page_view("anon-1", "/"))
    scored(score, new_records, filters)
    assert near(scores.load(lead).expires_at, now + STACK_DEFAULT)

    send(track, page_view("anon-1", "/pricing"), days=30)
    scored(score, new_records, filters)
    assert near(scores.load(lead).expires_at, now + timedelta(days=30) + STACK_DEFAULT)

    send(track, page_view("anon-1", "/blog"), days=-2)  # received earlier (a late delivery)
    scored(score, new_records, filters)
    assert near(scores.load(lead).expires_at, now + timedelta(days=30) + STACK_DEFAULT)


def test_a_sources_lead_retention_wins_over_the_stacks(
    aws, track, score, new_records, filters, scores, moto_endpoint, capsys
):
    assert main(["--endpoint", moto_endpoint, "sources", "create", "Shop", "--retention-days", "7",
                 "--lead-retention-days", "30"]) == 0  # fmt: skip
    key = next(line.split()[-1] for line in capsys.readouterr().out.splitlines() if "Write key" in line)
    send(track, page_view("shopper", "/"), write_key=key)
    send(track, page_view("reader", "/"))  # the demo source has none of its own
    scored(score, new_records, filters)

    now = datetime.now(UTC)
    assert near(scores.load(lead_of("shopper")).expires_at, now + timedelta(days=30))
    assert near(scores.load(lead_of("reader")).expires_at, now + STACK_DEFAULT)
    capsys.readouterr()  # the handlers' log lines, printed before the command
    assert main(["--endpoint", moto_endpoint, "sources", "list", "--json"]) == 0
    listed = {s["name"]: s["lead_retention"] for s in json.loads(capsys.readouterr().out)}
    assert listed == {"Shop": "30d", "Demo website": "stack default"}


def test_a_lead_retention_shorter_than_the_raw_events_is_refused(aws, moto_endpoint, capsys):
    code = main(["--endpoint", moto_endpoint, "sources", "create", "Shop", "--retention-days", "90",
                 "--lead-retention-days", "30"])  # fmt: skip

    assert code == 2
    assert "--lead-retention-days (30) must be at least --retention-days (90)" in capsys.readouterr().err
    assert main(["--endpoint", moto_endpoint, "sources", "list", "--json"]) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)] == ["Demo website"]


def test_a_merged_leads_own_state_deleted_takes_nothing_its_target_uses(
    aws, track, form, score, expire, new_records, filters, items, scores, ttl_deletes
):
    jane(track, form, score, new_records, filters)
    merged = lead_of("anon-2")
    assert scores.load(merged).expires_at is None  # it lives as long as the lead that absorbed it
    before = [i for i in items() if (i["pk"]["S"], i["sk"]["S"]) != (f"LEAD#{merged}", "STATE")]

    assert expire.lambda_handler(ttl_deletes(merged), CTX) == {"batchItemFailures": []}

    assert items() == before


def test_what_arrives_after_a_lead_expired_starts_its_new_life(
    aws, track, score, expire, new_records, filters, items, scores, ttl_deletes
):
    lead = lead_of("anon-1")
    send(track, page_view("anon-1", "/", message_id="old"))
    scored(score, new_records, filters)
    send(track, page_view("anon-1", "/pricing", message_id="back"), days=400)  # not scored yet
    pending = new_records(filters["ScoreFunction"])

    assert expire.lambda_handler(ttl_deletes(lead), CTX) == {"batchItemFailures": []}

    assert [i["sk"]["S"] for i in items()] == ["EVT#back"]
    scored_again = score.lambda_handler({"Records": pending}, CTX)
    assert scored_again == {"batchItemFailures": []}
    state = scores.load(lead)
    assert state.score.page_views == 1
    assert near(state.expires_at, datetime.now(UTC) + timedelta(days=400) + STACK_DEFAULT)


def test_leads_whose_expiry_was_parked_are_swept_by_a_redrive_and_nothing_else_is(
    aws, track, score, expire, new_records, filters, items, scores, stack, ttl_deletes
):
    long_ago = -(STACK_DEFAULT.days + 30)
    send(track, {**page_view("old-1", "/pricing")}, days=long_ago)
    send(track, {"anonymousId": "old-1", "traits": {"email": "old@initech.com"}}, days=long_ago)
    send(track, page_view("fresh", "/pricing"))
    scored(score, new_records, filters)
    send(track, page_view("unscored", "/"))  # stored, its scoring not yet run: no STATE yet
    old = lead_of("old-1")
    removed = ttl_deletes(old)  # the TTL deleted her STATE, ExpireFunction gave up: the range is parked
    parked_stream_batch(aws, "ExpireFailuresQueue", removed["Records"])
    assert any(i["pk"]["S"] == f"LEAD#{old}" for i in items())

    out = io.StringIO()
    left_parked = redrive_cli.Redrive(
        "ExpireFailuresQueue",
        aws["sqs"],
        aws["queues"]["ExpireFailuresQueue"],
        scores,
        lambda function, event: expire.lambda_handler(event, CTX),
        err=io.StringIO(),
        dynamodb=aws["dynamodb"],
    ).run(out)

    assert left_parked == 0
    assert "1 expired lead(s) still holding items" in out.getvalue()
    left = items()
    assert not any("old@initech.com" in json.dumps(i) for i in left)
    assert not any(i["pk"]["S"] == f"LEAD#{old}" for i in left)
    assert any(i["pk"]["S"] == f"LEAD#{lead_of('fresh')}" for i in left)
    assert any(i["pk"]["S"] == f"LEAD#{lead_of('unscored')}" for i in left)
    assert queued(aws, "ExpireFailuresQueue") == 0
