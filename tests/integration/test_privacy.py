"""Privacy: `python -m cli people export|erase <email>` against the local stack (moto), with the handlers
in-process: everything held about a person is exported, then erased, and the person is not recreated."""

import argparse
import json
import time
from typing import Any
from urllib.parse import urlsplit

from leadstream.identity.identifiers import Identifier, IdKind, lead_for_key

from cli import people
from cli import target as targets
from cli.__main__ import main
from tests.builders import LambdaContext, http_request, page_view
from tests.integration.conftest import lead_of
from tests.integration.test_scoring_flow import visit_and_request_demo

CTX = LambdaContext()
EMAIL = "jane@acme.com"


def parse(*argv: str) -> argparse.Namespace:
    top = argparse.ArgumentParser()
    people.add_parser(top.add_subparsers(dest="command", required=True))
    return top.parse_args(["people", *argv])


def cli(moto_endpoint: str, capsys: Any, *argv: str) -> tuple[int, str]:
    capsys.readouterr()  # what the handlers invoked before printed (log lines, a metrics flush) is not its
    code = people.run(parse(*argv), targets.local(moto_endpoint, "http://127.0.0.1:3000"))
    out, _ = capsys.readouterr()
    return code, out


def call(track: Any, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = track.lambda_handler(http_request(path, body), CTX)
    assert response["statusCode"] == 200, response
    return response


def jane(track: Any, form: Any, score: Any, new_records: Any, filters: Any) -> None:
    """Browses anonymously, identifies, identifies on a second device too, requests a demo (on the first:
    before the form, the snippet alone had identified her, so her second device joins her lead), is
    scored."""
    call(track, "/v1/page", page_view("anon-1", "/"))
    call(track, "/v1/identify", {"anonymousId": "anon-1", "userId": "u-1", "traits": {"email": EMAIL}})
    call(track, "/v1/page", page_view("anon-2", "/pricing"))
    call(track, "/v1/identify", {"anonymousId": "anon-2", "traits": {"email": EMAIL, "title": "VP"}})
    visit_and_request_demo(track, form, "anon-1", EMAIL)
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }


def about(items: list[dict[str, Any]], leads: set[str], keys: set[str]) -> list[dict[str, Any]]:
    return [
        i
        for i in items
        if i["pk"]["S"].removeprefix("LEAD#") in leads
        or i["pk"]["S"].removeprefix("ID#") in keys
        or i["sk"]["S"].removeprefix("LEAD#") in leads
        or EMAIL in json.dumps(i)
    ]


def assert_only_tombstones(left: list[dict[str, Any]], lead: str) -> None:
    """What an erase leaves of a person's leads: a tombstone STATE each, holding nothing, gone in a day."""
    assert f"LEAD#{lead}" in {i["pk"]["S"] for i in left}
    for item in left:
        assert item["sk"]["S"] == "STATE"
        assert set(item) == {"pk", "sk", "erased", "expires_at"}
        assert 0 < float(item["expires_at"]["N"]) - time.time() <= 24 * 3600


def test_a_person_is_exported_then_erased_and_not_recreated(
    aws, track, form, score, new_records, filters, items, stack, moto_endpoint, capsys
):
    jane(track, form, score, new_records, filters)
    call(track, "/v1/page", page_view("bob", "/"))  # someone else, who stays
    accounts_table = stack.physical_name("AccountsTable")
    lead = lead_of("anon-1")
    merged = lead_of("anon-2")
    keys = {
        Identifier(IdKind.EMAIL, EMAIL).key,
        Identifier(IdKind.USER, "u-1").key,
        Identifier(IdKind.ANONYMOUS, "anon-1").key,
        Identifier(IdKind.ANONYMOUS, "anon-2").key,
    }
    leads = {lead} | {lead_for_key(k) for k in keys}  # her lead and every identifier's own lead

    code, out = cli(moto_endpoint, capsys, "export", EMAIL)

    assert code == 0
    exported = json.loads(out)
    assert exported["lead_id"] == lead
    assert set(exported["leads"]) >= {lead, merged}
    assert set(exported["identifiers"]) == keys
    found = exported["items"]
    assert found["profile"][0]["email"] == EMAIL
    assert found["profile"][0]["account"] == "acme.com"
    assert {s["pk"] for s in found["score_state"]} >= {f"LEAD#{lead}", f"LEAD#{merged}"}
    assert any(s.get("merged_into") == lead for s in found["score_state"])
    assert len(found["events"]) >= 6  # 4 pages, 2 identifies, the form; scored
    assert {i["pk"] for i in found["identity_links"]} >= {f"ID#{Identifier(IdKind.EMAIL, EMAIL).key}"}
    assert [(m["pk"], m["sk"]) for m in found["account_membership"]] == [("ACCOUNT#acme.com", f"LEAD#{lead}")]
    stored = about(items(), leads, keys) + about(items(accounts_table), leads, keys)
    assert len(stored) == sum(len(v) for k, v in found.items() if k != "parked_notifications")

    code, out = cli(moto_endpoint, capsys, "erase", EMAIL, "--yes", "--json")

    assert code == 0
    report = json.loads(out)
    assert report["removed"]["profile"] >= 1
    assert report["removed"]["events"] >= 6
    assert len(report["suppressed"]) == len(keys)
    # storage: nothing about her is left, in either table, but a tombstone per lead (for a day: nothing in
    # it but the mark); a suppression entry without her e-mail is
    assert_only_tombstones(about(items(), leads, keys), report["lead_id"])
    assert about(items(accounts_table), leads, keys) == []
    suppressions = [i for i in items() if i["pk"]["S"].startswith("SUPPRESS#")]
    assert len(suppressions) == len(keys)
    assert EMAIL not in json.dumps(suppressions)
    assert any(i["pk"]["S"] == f"LEAD#{lead_of('bob')}" for i in items())  # bob is untouched

    before = items()
    call(track, "/v1/identify", {"anonymousId": "new-device", "traits": {"email": EMAIL}})
    call(track, "/v1/identify", {"userId": "u-1", "traits": {"name": "Jane"}})
    form_post = http_request(
        "/v1/forms/demo-request",
        {"email": EMAIL, "name": "Jane Doe"},
        route="/v1/forms/{form_id}",
        path_params={"form_id": "demo-request"},
    )
    assert form.lambda_handler(form_post, CTX)["statusCode"] == 200
    batch = {"batch": [{"type": "identify", "anonymousId": "x", "traits": {"email": EMAIL}}]}
    call(track, "/v1/batch", batch)

    assert items() == before  # nothing stored: not the events, not a link, not a profile


def test_export_of_an_unknown_person_is_empty_and_erase_needs_yes(aws, moto_endpoint, capsys, monkeypatch):
    code, out = cli(moto_endpoint, capsys, "export", "nobody@example.com")
    assert code == 0
    assert json.loads(out)["items"] == {}

    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert cli(moto_endpoint, capsys, "erase", "nobody@example.com")[0] == 1


def test_notifications_parked_about_a_person_are_exported_and_erased(aws, track, moto_endpoint, capsys):
    call(track, "/v1/identify", {"anonymousId": "anon-9", "traits": {"email": EMAIL}})
    queue = aws["queues"]["NotifyFailuresQueue"]
    about_her = {"requestPayload": {"detail": {"card": {"lead_id": lead_of("anon-9"), "email": EMAIL}}}}
    about_bob = {"requestPayload": {"detail": {"card": {"lead_id": "Lbob", "email": "bob@acme.com"}}}}
    for body in (about_her, about_bob):
        aws["sqs"].send_message(QueueUrl=queue, MessageBody=json.dumps(body))

    code, out = cli(moto_endpoint, capsys, "export", EMAIL)

    assert code == 0
    assert [m["body"] for m in json.loads(out)["items"]["parked_notifications"]] == [about_her]

    code, out = cli(moto_endpoint, capsys, "erase", EMAIL, "--yes")

    assert code == 0
    assert "parked_notifications" in out
    left = aws["sqs"].get_queue_attributes(
        QueueUrl=queue,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert sum(int(n) for n in left.values()) == 1  # bob's


def test_an_erased_recipients_email_clicks_are_not_stored(
    aws, track, email_links, items, moto_endpoint, capsys
):
    call(track, "/v1/identify", {"anonymousId": "anon-7", "traits": {"email": EMAIL}})
    assert main(["--endpoint", moto_endpoint, "links", "sign", "--url", "https://www.acme-demo.test/o",
                 "--email", EMAIL, "--json"]) == 0  # fmt: skip
    link = urlsplit(json.loads(capsys.readouterr().out)["click"])
    click = http_request(f"{link.path}?{link.query}", None, method="GET", write_key=None)
    assert email_links.lambda_handler(click, CTX)["statusCode"] == 302
    assert cli(moto_endpoint, capsys, "erase", EMAIL, "--yes")[0] == 0
    before = items()

    response = email_links.lambda_handler(click, CTX)

    assert response["statusCode"] == 302  # the recipient still gets where the link goes
    assert items() == before


def idempotency_records(aws: Any, stack: Any) -> list[dict[str, Any]]:
    return aws["dynamodb"].scan(TableName=stack.physical_name("IdempotencyTable"))["Items"]


def test_erase_takes_the_idempotency_records_of_her_stage_changes_and_leaves_bobs(
    aws,
    track,
    form,
    score,
    publish,
    notify,
    new_records,
    filters,
    published,
    handed_over,
    stack,
    moto_endpoint,
    capsys,
):
    visit_and_request_demo(track, form, "anon-1", EMAIL)
    visit_and_request_demo(track, form, "bob-1", "bob@beta.co.uk")
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    assert publish.lambda_handler({"Records": new_records(filters["PublishFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    for event in published():
        notify.lambda_handler(handed_over(event), CTX)
    written = idempotency_records(aws, stack)

    code, out = cli(moto_endpoint, capsys, "export", EMAIL)

    assert code == 0
    hers = json.loads(out)["items"]["idempotency_records"]
    # her stage changes were published and her SQL was notified: each effect's record is found
    assert len(hers) >= 2
    assert EMAIL not in json.dumps(hers)  # they hold no contact details, only that an effect happened

    code, out = cli(moto_endpoint, capsys, "erase", EMAIL, "--yes", "--json")

    assert code == 0
    assert json.loads(out)["removed"]["idempotency_records"] == len(hers)
    left = idempotency_records(aws, stack)
    assert {i["id"]["S"] for i in left} == {i["id"]["S"] for i in written} - {i["id"] for i in hers}
    assert left  # bob's


def test_erase_takes_the_stage_changes_of_a_device_merged_into_her_lead(
    aws, track, form, score, new_records, filters, items, moto_endpoint, capsys
):
    call(track, "/v1/identify", {"anonymousId": "anon-1", "traits": {"email": EMAIL}})
    # a second device earns a stage change of its own while still anonymous, then identifies as her
    for path in ("/pricing", "/pricing/enterprise", "/blog/speed-to-lead", "/pricing/compare"):
        call(track, "/v1/page", page_view("anon-2", path))
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    merged = lead_of("anon-2")
    assert any(i["pk"]["S"] == f"LEAD#{merged}" and i["sk"]["S"].startswith("TRANS#") for i in items())
    call(track, "/v1/identify", {"anonymousId": "anon-2", "traits": {"email": EMAIL}})
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }

    code, out = cli(moto_endpoint, capsys, "erase", EMAIL, "--yes", "--json")

    assert code == 0
    assert json.loads(out)["removed"]["score_ledger"] >= 1
    assert_only_tombstones([i for i in items() if i["pk"]["S"] == f"LEAD#{merged}"], merged)


def test_a_record_in_flight_during_the_erase_does_not_bring_her_lead_back(
    aws, track, score, expire, new_records, filters, items, ttl_deletes, moto_endpoint, capsys
):
    call(track, "/v1/identify", {"anonymousId": "anon-1", "traits": {"email": EMAIL}})
    assert score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX) == {
        "batchItemFailures": []
    }
    call(track, "/v1/page", page_view("anon-1", "/pricing"))  # stored just before the erase...
    in_flight = new_records(filters["ScoreFunction"])
    assert cli(moto_endpoint, capsys, "erase", EMAIL, "--yes")[0] == 0
    lead = lead_of("anon-1")
    erased = items()

    # ...and scored just after: nothing is written, the records are done with (not retried)
    assert score.lambda_handler({"Records": in_flight}, CTX) == {"batchItemFailures": []}

    assert items() == erased
    assert_only_tombstones([i for i in items() if i["pk"]["S"].startswith("LEAD#")], lead)

    # a day later the TTL deletes the tombstones, and what is left of her is nothing
    tombstones = [i["pk"]["S"].removeprefix("LEAD#") for i in items() if i["pk"]["S"].startswith("LEAD#")]
    assert expire.lambda_handler(ttl_deletes(*tombstones), CTX) == {"batchItemFailures": []}
    assert [i["pk"]["S"].split("#")[0] for i in items()] == ["SUPPRESS"] * len(items())


def test_erase_takes_every_account_membership_she_had(
    aws, track, items, stack, moto_endpoint, capsys, accounts
):
    call(track, "/v1/identify", {"anonymousId": "anon-1", "userId": "u-1", "traits": {"email": EMAIL}})
    beta = {"name": "Beta", "website": "https://beta.test"}
    call(track, "/v1/group", {"userId": "u-1", "groupId": "g-9", "traits": beta})
    lead = lead_of("anon-1")
    joined = {domain for domain in ("acme.com", "beta.test") if lead in accounts(domain)[1]}
    assert len(joined) == 2

    assert cli(moto_endpoint, capsys, "erase", EMAIL, "--yes")[0] == 0

    assert all(lead not in accounts(domain)[1] for domain in joined)


def test_erase_takes_a_lead_merged_into_hers_by_another_devices_identify(
    aws, track, new_records, items, moto_endpoint, capsys
):
    call(track, "/v1/identify", {"anonymousId": "laptop", "userId": "u7"})
    call(track, "/v1/page", page_view("phone", "/pricing"))
    call(track, "/v1/identify", {"anonymousId": "phone", "traits": {"email": EMAIL}})
    # the laptop learns her e-mail: the phone's lead joins the laptop's, with no event of its own since
    call(track, "/v1/identify", {"anonymousId": "laptop", "userId": "u7", "traits": {"email": EMAIL}})
    phone, laptop = lead_of("phone"), lead_of("laptop")

    assert cli(moto_endpoint, capsys, "erase", EMAIL, "--yes")[0] == 0

    for lead in (phone, laptop):  # the laptop's lead holds her e-mail now, and the phone's history
        assert_only_tombstones([i for i in items() if i["pk"]["S"] == f"LEAD#{lead}"], lead)
