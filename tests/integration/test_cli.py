"""The operator's command line against the local stack: sources, signed links, the source-quality report."""

import argparse
import json
import os
import socket
import subprocess
import sys
import urllib.request
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from leadstream.archive.records import ArchivedRecord, encode, object_key
from leadstream.archive.store import ArchiveStore
from leadstream.identity.identifiers import email_digest, email_lead
from leadstream.tracking.attribution import Channel, Touch

from cli import output, reports
from cli import target as targets
from cli.__main__ import main
from tests.builders import LambdaContext, http_request, page_view
from tests.integration.test_scoring_flow import visit_and_request_demo

CTX = LambdaContext()


def run(capsys: Any, moto_endpoint: str, *args: str) -> tuple[int, str]:
    """The command's exit status and what it printed. What the handlers invoked in this process printed
    before (Powertools' metrics, one singleton for every handler here, flush to stdout) is not its."""
    capsys.readouterr()
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
    assert "jane" not in out.lower()
    # nor as its bare digest, which anyone could test a list of guessed addresses against
    assert email_digest("jane@acme.com") not in out

    link = urlsplit(signed["click"])
    response = email_links.lambda_handler(
        http_request(f"{link.path}?{link.query}", None, method="GET", write_key=None), CTX
    )

    assert response["statusCode"] == 302
    assert response["headers"]["Location"] == "https://www.acme-demo.test/offer"
    [lead] = {i["pk"]["S"] for i in items() if i["sk"]["S"].startswith("EVT#")}
    assert lead == "LEAD#" + email_lead(email_digest("jane@acme.com"))  # the click is Jane's


def test_the_report_shows_conversion_per_channel_and_campaign(
    aws, track, form, score, new_records, filters, archive_stream, moto_endpoint, capsys
):
    utm = {"campaign": {"source": "newsletter", "medium": "email", "name": "nov"}}
    for anonymous_id in ("r1", "r2"):
        body = page_view(anonymous_id, "/")
        body["context"].update(utm)
        track.lambda_handler(http_request("/v1/page", body), CTX)
    visit_and_request_demo(track, form, anonymous_id="r1")
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    archive_stream()  # the report reads the event archive

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
        "accepted": 0,  # sales has not acted on it yet
        "rejected": 0,
        "opportunities": 0,
        "won": 0,
        "lost": 0,
        "revenue": {},
        "visitor_to_lead": 0.5,
        "lead_to_mql": 1.0,
        "mql_to_sql": 1.0,
        "sql_to_accepted": 0.0,
        "accepted_to_opportunity": None,
        "opportunity_to_won": None,
        "touch": "first",
    }
    code, table = run(capsys, moto_endpoint, "report")
    assert code == 0
    assert "email" in table
    assert "50%" in table  # visitor -> lead
    assert "100%" in table


# --- what the command line prints is safe, points at the stack it works on, and fails helpfully ---------

REPO = Path(__file__).resolve().parents[2]
ESC = "\x1b"


def run_apart(capsys: Any, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the probe is closed


def cli_process(*args: str, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    """`python -m cli ...` as an operator runs it, in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=REPO,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def make_run_wrote(tmp_path: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The addresses file of a `make run` started with its API on port 3999 (and its AWS at moto)."""
    written = tmp_path / "endpoints.json"
    written.write_text(json.dumps({"api": "http://127.0.0.1:3999", "aws": moto_endpoint}))
    monkeypatch.setattr(targets, "ENDPOINTS_FILE", written)
    return written


def test_the_snippet_and_links_point_at_the_api_of_the_running_make_run(aws, make_run_wrote, capsys):
    code, out, _ = run_apart(capsys, "sources", "create", "Docs", "--origin", "https://docs.acme.test")
    assert code == 0
    assert '<script async src="http://127.0.0.1:3999/v1/lb.js" data-write-key="lsk_' in out

    code, out, _ = run_apart(capsys, "links", "sign", "--url", "https://docs.acme.test/a", "--json")
    assert code == 0
    assert json.loads(out)["click"].startswith("http://127.0.0.1:3999/v1/c?")
    assert json.loads(out)["pixel"].startswith("http://127.0.0.1:3999/v1/o.gif?")


def test_api_names_another_api_before_or_after_the_command(aws, make_run_wrote, capsys):
    code, out, _ = run_apart(capsys, "--api", "https://track.acme.test/", "sources", "create", "Docs")
    assert code == 0
    assert 'src="https://track.acme.test/v1/lb.js"' in out

    code, out, _ = run_apart(capsys, "links", "sign", "--api", "https://t.acme.test", "--json")
    assert code == 0
    assert json.loads(out)["pixel"].startswith("https://t.acme.test/v1/o.gif?")


def test_without_the_file_the_defaults_of_make_run_apply_and_a_broken_file_is_named(tmp_path, capsys):
    assert targets.local_addresses(tmp_path / "none.json") == targets.LocalAddresses(
        "http://127.0.0.1:3000", "http://127.0.0.1:4599"
    )
    broken = tmp_path / "endpoints.json"
    broken.write_text('{"api": "127.0.0.1:3000"}')

    with pytest.raises(targets.TargetError, match=r"endpoints\.json is not what make run writes"):
        targets.local_addresses(broken)


@pytest.mark.parametrize(
    "origin",
    ["*", "https://*.acme.test", "docs.acme.test", "https://docs.acme.test/blog", "ftp://docs.acme.test"],
)
def test_a_bad_origin_exits_2_naming_the_option(aws, moto_endpoint, capsys, origin):
    with pytest.raises(SystemExit) as exited:
        main(["--endpoint", moto_endpoint, "sources", "create", "Docs", "--origin", origin])

    assert exited.value.code == 2
    assert "argument --origin:" in capsys.readouterr().err


def test_an_origin_is_stored_as_browsers_send_it(aws, moto_endpoint, capsys):
    code, _ = run(capsys, moto_endpoint, "sources", "create", "D", "--origin", "HTTPS://Docs.Acme.test:443/")
    assert code == 0

    code, out = run(capsys, moto_endpoint, "sources", "list", "--json")
    assert "https://docs.acme.test" in [s["origins"] for s in json.loads(out)]


def preflight_status(track: Any, origin: str) -> int:
    track.origins.forget()  # what a minute does for a warm container
    headers = {"origin": origin, "access-control-request-method": "POST"}
    event = http_request(
        "/v1/t", None, method="OPTIONS", route="/v1/{proxy+}", headers=headers, write_key=None
    )
    return int(track.lambda_handler(event, CTX)["statusCode"])


def test_a_site_created_with_an_origin_can_send_from_browsers_without_a_redeploy(
    aws, track, moto_endpoint, capsys
):
    code, out = run(capsys, moto_endpoint, "sources", "create", "Docs", "--origin", "https://docs.acme.test")

    assert code == 0
    assert "Browsers on https://docs.acme.test can send now (no redeploy)." in out
    assert "AllowedOrigins" not in out
    assert "deploy --" not in out
    assert preflight_status(track, "https://docs.acme.test") == 204


def test_origins_adds_and_removes_sites_of_a_source_as_browsers_send_them(aws, track, moto_endpoint, capsys):
    code, out = run(
        capsys,
        moto_endpoint,
        "sources",
        "origins",
        "demo-site",
        "--add",
        "HTTPS://Shop.Acme.test:443/",
        "--remove",
        "http://localhost:3000",
    )

    assert code == 0
    assert "Added https://shop.acme.test: browsers there can send now (no redeploy)." in out
    assert "Removed http://localhost:3000" in out
    code, listed = run(capsys, moto_endpoint, "sources", "list", "--json")
    origins = next(s["origins"] for s in json.loads(listed) if s["id"] == "demo-site").split(",")
    assert "https://shop.acme.test" in origins
    assert "http://localhost:3000" not in origins
    assert preflight_status(track, "https://shop.acme.test") == 204
    assert preflight_status(track, "http://localhost:3000") == 403

    code, out = run(capsys, moto_endpoint, "sources", "origins", "demo-site")
    assert code == 0
    assert "Origins of demo-site: " in out
    assert "https://shop.acme.test" in out


@pytest.mark.parametrize("flag", ["--add", "--remove"])
def test_origins_refuses_what_is_no_origin_and_changes_nothing(aws, moto_endpoint, capsys, flag):
    before = run(capsys, moto_endpoint, "sources", "list", "--json")[1]
    with pytest.raises(SystemExit) as exited:
        main(["--endpoint", moto_endpoint, "sources", "origins", "demo-site", flag, "https://*.acme.test"])

    assert exited.value.code == 2
    assert f"argument {flag}:" in capsys.readouterr().err
    assert run(capsys, moto_endpoint, "sources", "list", "--json")[1] == before


def test_origins_of_an_unknown_source_is_a_clear_error(aws, moto_endpoint, capsys):
    code, out = run(capsys, moto_endpoint, "sources", "origins", "nope", "--add", "https://shop.acme.test")

    assert code == 1
    assert "no source 'nope'" in out


def test_reindex_says_what_it_changed(aws, moto_endpoint, capsys):
    code, out = run(capsys, moto_endpoint, "sources", "reindex")

    assert code == 0
    assert "0 item(s) written or removed" in out


def test_sources_list_shows_escape_sequences_in_a_name_as_text(aws, moto_endpoint, capsys):
    name = f"{ESC}]0;owned{ESC}\\{ESC}[2J{ESC}[31mRed"
    assert run(capsys, moto_endpoint, "sources", "create", name)[0] == 0

    code, out = run(capsys, moto_endpoint, "sources", "list")

    assert code == 0
    assert ESC not in out
    assert "\\x1b]0;owned\\x1b\\\\x1b[2J\\x1b[31mRed" in out


def test_the_report_shows_a_campaign_with_escape_sequences_as_text(aws, stack, moto_endpoint, capsys):
    # The tracking API strips control characters before anything is stored; the archive can still hold them
    # (data written before that rule, or by another tool), and a terminal must never interpret them.
    campaign = f"{ESC}[2J{ESC}[31mnov\x9b"
    touch = Touch(Channel.EMAIL, "x", "email", campaign)
    now = datetime.now(UTC).timestamp()
    first_visit = ArchivedRecord(
        "event", "L1", "EVT#m-1", now, now, "1", {"type": "page", "touch": touch.to_dict()}
    )
    ArchiveStore(stack.physical_name("ArchiveBucket")).put(object_key([first_visit]), encode([first_visit]))

    code, table = run(capsys, moto_endpoint, "report")
    assert code == 0
    assert ESC not in table
    assert "\x9b" not in table
    assert "\\x1b[2J\\x1b[31mnov\\x9b" in table

    code, out = run(capsys, moto_endpoint, "report", "--json")
    assert ESC not in out  # JSON escapes it (\u001b): the data, intact for a program
    assert [row["campaign"] for row in json.loads(out)] == [campaign]


def test_report_progress_goes_to_stderr_and_stdout_stays_json(
    aws, track, score, new_records, filters, archive_stream, moto_endpoint, capsys, monkeypatch
):
    for visitor in ("p1", "p2", "p3"):
        track.lambda_handler(http_request("/v1/page", page_view(visitor, "/")), CTX)
    score.lambda_handler({"Records": new_records(filters["ScoreFunction"])}, CTX)
    archive_stream()  # the report reads the event archive: three page views
    monkeypatch.setattr(output, "LOG_EVERY", 2)  # a large table, in small
    capsys.readouterr()  # what the handlers above logged (when their logger writes here) is not the command's

    code, out, err = run_apart(capsys, "--endpoint", moto_endpoint, "report", "--json")

    assert code == 0
    assert json.loads(out)[0]["visitors"] == 3
    assert err.splitlines() == ["read 2 archived records…", "read 3 archived records."]


def test_the_report_of_a_stack_without_an_archive_says_how_to_get_one(aws, moto_endpoint):
    target = replace(targets.local(moto_endpoint), archive_bucket="")  # a stack deployed before the archive
    args = argparse.Namespace(kind="sources", by="campaign", since=None, until=None, json=True)

    with pytest.raises(
        targets.TargetError, match=r"this stack has no event archive.*README: The event archive"
    ):
        reports.run(args, target)


def test_an_unreachable_local_aws_names_make_run_and_the_options():
    endpoint = f"http://127.0.0.1:{_closed_port()}"

    done = cli_process("--endpoint", endpoint, "report")

    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (
        f"error: cannot reach the local AWS at {endpoint}: is `make run` running? "
        "(or pass --endpoint <url>, or --stack <name>)\n"
    )


def test_a_local_aws_without_the_stack_says_so(moto_endpoint, capsys):
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).close()

    code, out = run(capsys, moto_endpoint, "sources", "list")

    assert code == 1
    assert f"the AWS at {moto_endpoint} has no Leadstream stack" in out
    assert "--endpoint <url>" in out


def test_a_reader_that_stops_reading_ends_the_command_quietly(aws, moto_endpoint):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `python -m cli sources list | head -0`: nobody reads what is printed
    try:
        done = cli_process("--endpoint", moto_endpoint, "sources", "list", stdout=write_end)
    finally:
        os.close(write_end)

    assert done.returncode == 141  # 128 + SIGPIPE, as a shell reports it for any Unix tool
    assert done.stderr == ""  # no "cannot reach", no traceback


def test_a_source_created_to_import_history_may_use_v1_import_and_others_may_not(
    aws, track, moto_endpoint, capsys
):
    history = {"batch": [{"type": "page", **page_view("v", "/pricing"), "timestamp": "2019-05-01T10:00:00Z"}]}
    keys = {}
    for name, extra in (("Live site", []), ("Old CRM", ["--allow-import"])):
        code, out = run(capsys, moto_endpoint, "sources", "create", name, *extra)
        assert code == 0
        keys[name] = next(line.split()[-1] for line in out.splitlines() if line.startswith("Write key:"))

    refused = track.lambda_handler(http_request("/v1/import", history, write_key=keys["Live site"]), CTX)
    imported = track.lambda_handler(http_request("/v1/import", history, write_key=keys["Old CRM"]), CTX)

    assert refused["statusCode"] == 403
    assert imported["statusCode"] == 200
