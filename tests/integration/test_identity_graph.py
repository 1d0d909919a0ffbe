"""The identity graph no caller can corrupt: known + known with the same e-mail or user id is one lead, no
sequence of identify calls makes a cycle or a chain scoring cannot follow, and concurrent identifies of
one person converge to one lead with every event counted once.

Through the public interfaces: the tracking API's answers, the identity repository (links and merge
marks), profiles, and the scored STATE after the stream is scored (as ScoreFunction receives it).
"""

import argparse
import importlib.util
import itertools
import threading
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from leadstream.identity.identifiers import Identifier, IdKind, identifiers
from leadstream.identity.repository import IdentityRepository
from leadstream.scoring.batch import MAX_MERGE_HOPS
from leadstream.scoring.repository import ScoreRepository

from cli import people
from cli import target as targets
from local.runner import DEMO_SOURCE
from tests.builders import LambdaContext, http_request, page_view
from tests.integration.conftest import lead_of

CTX = LambdaContext()
TRACK_APP = Path(__file__).parents[2] / "functions" / "track" / "app.py"


def identify(track: Any, anonymous_id: str, user_id: str | None = None, email: str | None = None) -> None:
    body: dict[str, Any] = {
        "anonymousId": anonymous_id,
        "messageId": str(uuid.uuid4()),  # each call a message of its own, however alike
        "traits": {"email": email} if email else {},
    }
    if user_id:
        body["userId"] = user_id
    response = track.lambda_handler(http_request("/v1/identify", body), CTX)
    assert response["statusCode"] == 200, response["body"]


def visit(track: Any, anonymous_id: str, path: str = "/blog/a") -> None:
    response = track.lambda_handler(http_request("/v1/page", page_view(anonymous_id, path)), CTX)
    assert response["statusCode"] == 200, response["body"]


def scored_all(score: Any, new_records: Any, filters: dict[str, str]) -> None:
    records = new_records(filters["ScoreFunction"])
    assert score.lambda_handler({"Records": records}, CTX) == {"batchItemFailures": []}


def root_of(scores: ScoreRepository, lead: str) -> tuple[str, int]:
    """(the lead's root, hops to it), as scoring follows it: STATE's `merged_into`."""
    hops = 0
    while (up := scores.load(lead).merged_into) is not None:
        hops += 1
        assert hops <= MAX_MERGE_HOPS, f"no root within {MAX_MERGE_HOPS} hops: a chain or a cycle"
        lead = up
    return lead, hops


def named(identities: IdentityRepository, scores: ScoreRepository, ident: Identifier) -> str:
    """The root an identifier belongs to: its link's, else its own lead's."""
    lead = identities.linked([ident]).get(ident.key) or ident.derived_lead_id()
    return root_of(scores, lead)[0]


@pytest.fixture
def identities(aws: dict[str, Any], leads_table: str) -> IdentityRepository:
    return IdentityRepository(leads_table)


def test_a_user_id_identified_with_an_email_known_on_another_lead_makes_one_lead(
    track, score, new_records, filters, scores, profiles, identities
):
    visit(track, "laptop")
    identify(track, "laptop", user_id="u7")  # the app: a user id, no e-mail yet
    visit(track, "phone")
    identify(track, "phone", email="jane@acme.com")  # a form on her phone: the e-mail, no user id
    scored_all(score, new_records, filters)

    identify(track, "laptop", user_id="u7", email="jane@acme.com")  # the app learns her e-mail
    visit(track, "phone", "/pricing")
    scored_all(score, new_records, filters)

    leads = list(scores.scores())
    emails = [p.email if (p := profiles.load(lead.lead_id)) else None for lead in leads]
    assert emails.count("jane@acme.com") == 1  # sales sees one Jane
    [jane] = [lead for lead, email in zip(leads, emails, strict=True) if email == "jane@acme.com"]
    ids = identifiers("laptop", "u7", "jane@acme.com") + identifiers("phone", None, None)
    assert {named(identities, scores, i) for i in ids} == {jane.lead_id}
    assert jane.events == 6  # her pages and identifies on both devices, each once
    assert jane.page_views == 3


def test_crossed_identifies_of_two_visitors_make_no_cycle_and_every_event_is_scored(
    track, score, new_records, filters, scores, identities
):
    identify(track, "a", user_id="u")
    identify(track, "b", user_id="v")
    identify(track, "a", user_id="v")  # before roots: b's lead and a's lead merged into each other; now
    identify(track, "b", user_id="u")  # two people swapping devices: each device handed over, no merge
    visit(track, "a")
    visit(track, "b")

    scored_all(score, new_records, filters)  # no record parked as 'merge chain longer than 5'

    leads = {lead_of(d) for d in "ab"} | {lead_of(user_id=u) for u in "uv"}
    roots = {root_of(scores, lead) for lead in leads}
    assert {root for root, _hops in roots} == {lead_of("a"), lead_of("b")}
    assert max(hops for _root, hops in roots) <= 1
    u, v = (named(identities, scores, Identifier(IdKind.USER, user)) for user in "uv")
    assert (u, v) == (lead_of("a"), lead_of("b"))
    by_lead = {lead.lead_id: (lead.events, lead.page_views) for lead in scores.scores()}
    assert by_lead == {u: (3, 1), v: (3, 1)}  # each: two identifies and the page on the device they hold


def _environment(index: int) -> ModuleType:
    """A fresh copy of TrackFunction's handler module: one Lambda execution environment of its own (its
    own resolver and use cases, as each concurrent Lambda has), sharing this process's AWS clients."""
    spec = importlib.util.spec_from_file_location(f"track_environment_{index}", TRACK_APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_concurrent_identifies_of_one_new_email_from_eight_devices_converge_to_one_lead(
    track, score, new_records, filters, scores, profiles, identities
):
    devices = [f"device-{i}" for i in range(8)]
    for device in devices:
        visit(track, device)
    environments = [_environment(i) for i in range(len(devices))]
    start = threading.Barrier(len(devices))
    answers: dict[str, list[int]] = {d: [] for d in devices}

    def identify_now(environment: ModuleType, device: str) -> None:
        body = {"anonymousId": device, "messageId": f"id-{device}", "traits": {"email": "jane@acme.com"}}
        start.wait()
        for _ in range(3):  # as a client does: a 503 is retried, the same message again
            status = environment.lambda_handler(http_request("/v1/identify", body), CTX)["statusCode"]
            answers[device].append(status)
            if status != 503:
                return

    pairs = zip(environments, devices, strict=True)
    threads = [threading.Thread(target=identify_now, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert all(statuses[-1] == 200 for statuses in answers.values()), answers
    [email] = identifiers(None, None, "jane@acme.com")
    root = named(identities, scores, email)
    assert {named(identities, scores, Identifier(IdKind.ANONYMOUS, d)) for d in devices} == {root}
    for device in devices:
        assert root_of(scores, lead_of(device))[1] <= 1

    scored_all(score, new_records, filters)
    [jane] = scores.scores()
    assert jane.lead_id == root
    assert profiles.load(root).email == "jane@acme.com"  # type: ignore[union-attr]
    assert (jane.events, jane.page_views) == (16, 8)  # each device's page and identify, once


# --- any sequence of identifies -------------------------------------------------------------------------

CALLS = st.lists(
    st.tuples(
        st.sampled_from(["d1", "d2", "d3"]),
        st.sampled_from([None, "u1", "u2"]),
        st.sampled_from([None, "e1@acme.com", "e2@acme.com"]),
    ).filter(lambda call: call[1] is not None or call[2] is not None),
    min_size=1,
    max_size=6,
)
runs = itertools.count()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(calls=CALLS)
def test_any_sequence_of_identifies_keeps_a_forest_with_one_root_per_person(
    track, score, new_records, filters, scores, identities, calls
):
    run = f"r{next(runs)}-"  # each example its own people (the tables are shared between examples)
    people: dict[Identifier, Identifier] = {}  # union-find over the identifiers the calls joined
    holders: dict[Identifier, Identifier] = {}  # a device handed over -> an identifier of its holder
    counted: list[Identifier] = []  # for each event, an identifier of the person it counts for

    def person(ident: Identifier) -> Identifier:
        while people.setdefault(ident, ident) != ident:
            ident = people[ident]
        return ident

    def join(ids: list[Identifier]) -> None:
        for other in ids[1:]:
            people[person(other)] = person(ids[0])

    for device, user, email in calls:  # the policy of identity.resolution, on the identifiers themselves
        ids = identifiers(run + device, user and run + user, email and run + email)
        identify(track, run + device, user and run + user, email and run + email)
        anonymous, known = ids[-1], ids[:-1]
        holder = person(holders.get(anonymous, anonymous))
        kinds = {i.kind for i in people if person(i) == holder and i.kind is not IdKind.ANONYMOUS}
        if all(person(i) != holder for i in known) and any(i.kind in kinds for i in known):
            join(known)  # another person on a shared device: it is handed over to them, nothing merged
            holders[anonymous] = known[0]
        elif holder == person(anonymous):
            join(ids)
        else:
            join([holder, *known])  # the person the device was handed over to
        counted.append(holders.get(anonymous, anonymous))
    for device in {c[0] for c in calls}:
        visit(track, run + device)
        anonymous = Identifier(IdKind.ANONYMOUS, run + device)
        counted.append(holders.get(anonymous, anonymous))

    roots = {ident: named(identities, scores, ident) for ident in people}
    for ident in people:  # every identifier's own lead is its person's too, one hop at most from the root
        assert root_of(scores, ident.derived_lead_id()) in {(roots[ident], 0), (roots[ident], 1)}
    persons = {person(i) for i in people}
    assert len({roots[p] for p in persons}) == len(persons)  # people the calls never joined stay apart
    for ident in people:
        assert roots[ident] == roots[person(ident)]  # and those they joined are one root

    scored_all(score, new_records, filters)  # every event reaches a root: nothing parked
    mine = {s.lead_id: s.events for s in scores.scores() if s.lead_id in set(roots.values())}
    expected: dict[str, int] = {}
    for ident in counted:  # each event once, on the root of the person holding its device then
        expected[roots[ident]] = expected.get(roots[ident], 0) + 1
    assert mine == expected


# --- why leads merged --------------------------------------------------------------------------------------


def test_an_operator_sees_why_when_and_from_which_source_a_persons_leads_merged(track, moto_endpoint, capsys):
    identify(track, "laptop", user_id="u7")
    identify(track, "phone", email="jane@acme.com")
    identify(track, "laptop", user_id="u7", email="jane@acme.com")  # the phone's lead joins: same e-mail
    alias = {"previousId": "tablet", "userId": "u7", "messageId": str(uuid.uuid4())}
    assert track.lambda_handler(http_request("/v1/alias", alias), CTX)["statusCode"] == 200

    code, out = merges_cli(moto_endpoint, capsys, "JANE@acme.com")

    assert code == 0
    laptop, phone, tablet = lead_of("laptop"), lead_of("phone"), lead_of("tablet")
    assert out.splitlines()[0] == f"Lead {laptop}: 5 merge(s)."
    table, undo = out.split("\n\n")
    rows = [line.split() for line in table.splitlines()[2:]]
    assert sorted((r[1], r[2], " ".join(r[3:-2]), r[-2], r[-1]) for r in rows) == sorted(
        [
            (
                lead_of(user_id="u7"),
                laptop,
                "same user id",
                "identify",
                DEMO_SOURCE,
            ),  # its own lead, handed over
            (lead_of(email="jane@acme.com"), phone, "same e-mail", "identify", DEMO_SOURCE),
            (phone, laptop, "same e-mail", "identify", DEMO_SOURCE),
            (tablet, laptop, "alias call", "alias", DEMO_SOURCE),
            (lead_of(user_id="tablet"), laptop, "alias call", "alias", DEMO_SOURCE),
        ]
    )
    assert "jane" not in "".join(out.splitlines()[1:])  # lead ids and sources, nothing personal
    assert undo.splitlines()[1:] == [  # each merge, and how to undo it
        f"  {r[1]}: python -m cli people unmerge {laptop} --lead {r[1]} --reason '<why it was wrong>'"
        for r in rows
    ]


def merges_cli(moto_endpoint: str, capsys: Any, email: str) -> tuple[int, str]:
    capsys.readouterr()  # what the handlers invoked before printed (Powertools' metrics flush) is not its
    top = argparse.ArgumentParser()
    people.add_parser(top.add_subparsers(dest="command", required=True))
    capsys.readouterr()  # what the handlers printed before (their metrics) is not the command's output
    code = people.run(top.parse_args(["people", "merges", email]), targets.local(moto_endpoint, "x"))
    out, _ = capsys.readouterr()
    return code, out
