"""The operator's command line against the local stack: sources, signed links, the source-quality report."""

import json
from typing import Any
from urllib.parse import urlsplit

from cli.__main__ import main
from tests.builders import LambdaContext, http_request, page_view
from tests.integration.test_scoring_flow import visit_and_request_demo

CTX = LambdaContext()


def run(capsys: Any, moto_endpoint: str, *args: str) -> tuple[int, str]:
    code = main(["--endpoint", moto_endpoint, *args])
    out, err = capsys.readouterr()
    return code, out + err


def test_an_operator_creates_rotates_and_disables_a_source(aws, track, moto_endpoint, capsys):
    code, out = run(
        capsys, moto_endpoint, "sources", "create", "Docs site", "--origin", "https://docs.acme.test"
    )
    assert code == 0
    key = next(line.split()[-1] for line in out.splitlines() if line.startswith("Write key:"))
    source_id = out.split()[2]
    assert (
        track.lambda_handler(http_request("/v1/page", page_view("a", "/"), write_key=key), CTX)["statusCode"]
        == 200
    )

    code, out = run(capsys, moto_endpoint, "sources", "list", "--json")
    assert code == 0
    listed = {s["id"]: s for s in json.loads(out)}
    assert listed[source_id]["origins"] == "https://docs.acme.test"
    assert key not in out  # keys are shown masked

    code, out = run(capsys, moto_endpoint, "sources", "rotate", source_id, "--grace-hours", "0")
    assert code == 0
    new_key = out.splitlines()[0].split()[-1]
    track.intake.directory.forget()
    assert (
        track.lambda_handler(http_request("/v1/page", page_view("a", "/"), write_key=key), CTX)["statusCode"]
        == 401
    )
    ok = track.lambda_handler(http_request("/v1/page", page_view("a", "/"), write_key=new_key), CTX)
    assert ok["statusCode"] == 200

    assert run(capsys, moto_endpoint, "sources", "disable", source_id)[0] == 0
    track.intake.directory.forget()
    refused = track.lambda_handler(http_request("/v1/page", page_view("a", "/"), write_key=new_key), CTX)
    assert refused["statusCode"] == 401


def test_an_unknown_source_is_a_clear_error(aws, moto_endpoint, capsys):
    code, out = run(capsys, moto_endpoint, "sources", "disable", "nope")

    assert code == 1
    assert "no source 'nope'" in out


def test_links_signed_by_the_cli_are_accepted(aws, email_links, moto_endpoint, capsys, items):
    code, out = run(
        capsys,
        moto_endpoint,
        "links",
        "sign",
        "--url",
        "https://www.acme-demo.test/offer",
        "--email",
        "Jane@Acme.com",
        "--campaign",
        "launch",
        "--json",
    )
    assert code == 0
    signed = json.loads(out)
    assert "jane" not in out.lower()  # the address travels as a hash

    link = urlsplit(signed["click"])
    response = email_links.lambda_handler(
        http_request(f"{link.path}?{link.query}", None, method="GET", write_key=None), CTX
    )

    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == "https://www.acme-demo.test/offer"


def test_the_report_shows_conversion_per_channel_and_campaign(
    aws, track, form, score, new_records, filters, moto_endpoint, capsys
):
    utm = {"campaign": {"source": "newsletter", "medium": "email", "name": "nov"}}
    for anonymous_id in ("r1", "r2"):
        body = page_view(anonymous_id, "/")
        body["context"].update(utm)
        track.lambda_handler(http_request("/v1/page", body), CTX)
    visit_and_request_demo(track, form, anonymous_id="r1")
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)

    code, out = run(capsys, moto_endpoint, "report", "--json")

    assert code == 0
    rows = {(r["channel"], r["campaign"]): r for r in json.loads(out)}
    assert rows[("email", "nov")] == {
        "channel": "email",
        "campaign": "nov",
        "visitors": 2,
        "leads": 1,  # r2 never identified: a visitor, not a lead
        "mqls": 1,
        "sqls": 1,
        "visitor_to_lead": 0.5,
        "lead_to_mql": 1.0,
        "mql_to_sql": 1.0,
    }
    code, table = run(capsys, moto_endpoint, "report")
    assert code == 0
    assert "email" in table
    assert "50%" in table  # visitor -> lead
    assert "100%" in table
