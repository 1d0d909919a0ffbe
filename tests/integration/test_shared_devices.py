"""Shared devices (issue 8): a second person identifying on a device tied to a known person takes the
device's later events, not the first person's history; handing back works the same way.

Through the public interfaces: the tracking API, profiles, the scored STATE after the stream is scored (as
ScoreFunction receives it), and `python -m cli people export|erase`.
"""

import json
from typing import Any

from leadstream.identity.identifiers import identifiers
from leadstream.identity.repository import IdentityRepository
from leadstream.scoring.model_file import load_model
from leadstream.scoring.rebuild import Rebuild
from leadstream.scoring.repository import ScoreRepository
from leadstream.tracking.repository import EventRepository

from tests.builders import http_request
from tests.integration.conftest import lead_of
from tests.integration.test_identity_graph import CTX, identify, named, scored_all, visit
from tests.integration.test_privacy import cli

ALICE = "alice@acme.com"
BOB = "bob@beta.com"


def person(identities: IdentityRepository, scores: ScoreRepository, email: str) -> str:
    """The root an e-mail belongs to."""
    [ident] = identifiers(None, None, email)
    return named(identities, scores, ident)


def exported(moto_endpoint: str, capsys: Any, email: str) -> dict[str, Any]:
    code, out = cli(moto_endpoint, capsys, "export", email)
    assert code == 0
    found: dict[str, Any] = json.loads(out)
    return found


def pages(export: dict[str, Any]) -> list[str]:
    """The paths of the page views a person's export holds, sorted."""
    return sorted(e["path"] for e in export["items"].get("events", []) if e["type"] == "page")


def calls(export: dict[str, Any]) -> int:
    return len(export["items"].get("events", []))


def alice_then_bob(track: Any, score: Any, new_records: Any, filters: Any) -> None:
    """Alice identifies on the shared laptop and looks at pricing; then Bob identifies on it and reads."""
    identify(track, "shared", email=ALICE)
    visit(track, "shared", "/pricing")
    scored_all(score, new_records, filters)
    identify(track, "shared", email=BOB)
    visit(track, "shared", "/blog/one")
    visit(track, "shared", "/blog/two")
    scored_all(score, new_records, filters)


def test_a_second_person_on_a_shared_device_takes_its_later_events_not_the_first_persons_history(
    track, score, new_records, filters, scores, profiles, moto_endpoint, capsys, aws, leads_table
):
    identities = IdentityRepository(leads_table)
    identify(track, "shared", email=ALICE)
    visit(track, "shared", "/pricing")
    scored_all(score, new_records, filters)
    alice = person(identities, scores, ALICE)
    before = scores.load(alice).score

    identify(track, "shared", email=BOB)
    visit(track, "shared", "/blog/one")
    visit(track, "shared", "/blog/two")
    scored_all(score, new_records, filters)

    bob = person(identities, scores, BOB)
    assert bob != alice
    assert profiles.load(bob).email == BOB  # type: ignore[union-attr]
    assert profiles.load(alice).email == ALICE  # type: ignore[union-attr]
    alice_now, bob_now = scores.load(alice).score, scores.load(bob).score
    assert (alice_now.events, alice_now.page_views) == (before.events, before.page_views) == (2, 1)
    assert alice_now.contributions == before.contributions
    assert alice_now.stage == before.stage
    assert (bob_now.events, bob_now.page_views) == (3, 2)  # his identify and his two pages
    assert {s.lead_id for s in scores.scores()} == {alice, bob}  # two people, neither merged into the other
    assert pages(exported(moto_endpoint, capsys, ALICE)) == ["/pricing"]
    bobs = exported(moto_endpoint, capsys, BOB)
    assert pages(bobs) == ["/blog/one", "/blog/two"]
    assert calls(bobs) == 3
    assert ALICE not in json.dumps(bobs)


def test_the_first_person_identifying_again_takes_the_device_back(
    track, score, new_records, filters, scores, profiles, moto_endpoint, capsys, leads_table
):
    identities = IdentityRepository(leads_table)
    alice_then_bob(track, score, new_records, filters)

    identify(track, "shared", email=ALICE)
    visit(track, "shared", "/docs")
    scored_all(score, new_records, filters)
    identify(track, "shared", email=BOB)  # and once more the other way
    visit(track, "shared", "/blog/three")
    scored_all(score, new_records, filters)

    alice, bob = person(identities, scores, ALICE), person(identities, scores, BOB)
    assert alice == lead_of("shared")
    assert (scores.load(alice).score.events, scores.load(alice).score.page_views) == (4, 2)
    assert (scores.load(bob).score.events, scores.load(bob).score.page_views) == (5, 3)
    assert pages(exported(moto_endpoint, capsys, ALICE)) == ["/docs", "/pricing"]
    assert pages(exported(moto_endpoint, capsys, BOB)) == ["/blog/one", "/blog/three", "/blog/two"]
    assert profiles.load(alice).email == ALICE  # type: ignore[union-attr]


def test_a_device_merged_into_the_first_persons_lead_is_handed_over_the_same_way(
    track, score, new_records, filters, scores, profiles, moto_endpoint, capsys, leads_table
):
    identities = IdentityRepository(leads_table)
    identify(track, "alices-phone", email=ALICE)  # her lead is her phone's
    visit(track, "alices-phone", "/")
    alice_then_bob(track, score, new_records, filters)  # the laptop's lead merged into hers, then Bob's turn

    alice, bob = person(identities, scores, ALICE), person(identities, scores, BOB)
    assert alice == lead_of("alices-phone")
    assert scores.load(lead_of("shared")).merged_into == alice
    assert bob not in (alice, lead_of("shared"))
    assert (scores.load(alice).score.events, scores.load(alice).score.page_views) == (4, 2)
    assert (scores.load(bob).score.events, scores.load(bob).score.page_views) == (3, 2)
    assert pages(exported(moto_endpoint, capsys, ALICE)) == ["/", "/pricing"]
    assert pages(exported(moto_endpoint, capsys, BOB)) == ["/blog/one", "/blog/two"]
    assert profiles.load(alice).email == ALICE  # type: ignore[union-attr]
    assert profiles.load(bob).email == BOB  # type: ignore[union-attr]


def test_a_replay_of_the_second_persons_identify_changes_nothing(
    track, score, new_records, filters, scores, items, leads_table
):
    identities = IdentityRepository(leads_table)
    identify(track, "shared", email=ALICE)
    visit(track, "shared", "/pricing")
    bobs_identify = {"anonymousId": "shared", "messageId": "bob-1", "traits": {"email": BOB}}
    assert track.lambda_handler(http_request("/v1/identify", bobs_identify), CTX)["statusCode"] == 200
    visit(track, "shared", "/blog/one")
    scored_all(score, new_records, filters)
    alice, bob = person(identities, scores, ALICE), person(identities, scores, BOB)
    held = scores.load(lead_of("shared")).handed

    def stored() -> list[dict[str, Any]]:  # what a replay may touch: not when the profile was last written
        return [{k: v for k, v in i.items() if k != "updated_at"} for i in items()]

    before = stored()
    for _ in range(2):
        answer = track.lambda_handler(http_request("/v1/identify", bobs_identify), CTX)
        assert answer["statusCode"] == 200
    scored_all(score, new_records, filters)

    assert stored() == before
    assert scores.load(lead_of("shared")).handed == held
    assert (person(identities, scores, ALICE), person(identities, scores, BOB)) == (alice, bob)


def test_erasing_the_second_person_leaves_the_first_persons_history(
    track, score, new_records, filters, scores, profiles, moto_endpoint, capsys, leads_table
):
    identities = IdentityRepository(leads_table)
    alice_then_bob(track, score, new_records, filters)
    alice = person(identities, scores, ALICE)
    before = exported(moto_endpoint, capsys, ALICE)
    score_before = scores.load(alice).score

    assert cli(moto_endpoint, capsys, "erase", BOB, "--yes")[0] == 0

    assert exported(moto_endpoint, capsys, ALICE) == before
    assert scores.load(alice).score == score_before
    assert profiles.load(alice).email == ALICE  # type: ignore[union-attr]
    assert calls(exported(moto_endpoint, capsys, BOB)) == 0


def test_erasing_the_first_person_leaves_the_second_persons_history(
    track, score, new_records, filters, scores, profiles, moto_endpoint, capsys, leads_table
):
    identities = IdentityRepository(leads_table)
    alice_then_bob(track, score, new_records, filters)
    bob = person(identities, scores, BOB)
    before = exported(moto_endpoint, capsys, BOB)
    score_before = scores.load(bob).score

    assert cli(moto_endpoint, capsys, "erase", ALICE, "--yes")[0] == 0

    assert exported(moto_endpoint, capsys, BOB) == before
    assert scores.load(bob).score == score_before
    assert profiles.load(bob).email == BOB  # type: ignore[union-attr]
    assert calls(exported(moto_endpoint, capsys, ALICE)) == 0

    visit(track, "shared", "/blog/three")  # the device is still Bob's: neither dropped nor Alice's again
    identify(track, "shared", email=BOB)
    scored_all(score, new_records, filters)
    assert pages(exported(moto_endpoint, capsys, BOB)) == ["/blog/one", "/blog/three", "/blog/two"]
    assert (scores.load(bob).score.events, scores.load(bob).score.page_views) == (5, 3)


def test_a_rebuild_of_either_person_counts_the_device_events_of_their_own_windows(
    track, score, new_records, filters, scores, leads_table
):
    identities = IdentityRepository(leads_table)
    alice_then_bob(track, score, new_records, filters)
    alice, bob = person(identities, scores, ALICE), person(identities, scores, BOB)
    rebuild = Rebuild(EventRepository(leads_table), scores, load_model())

    assert (rebuild.lead(alice).events, rebuild.lead(bob).events) == (2, 3)

    assert (scores.load(alice).score.events, scores.load(alice).score.page_views) == (2, 1)
    assert (scores.load(bob).score.events, scores.load(bob).score.page_views) == (3, 2)


def test_an_alias_call_from_a_device_of_a_known_person_joins_the_new_user_id_to_them(
    track, score, new_records, filters, scores, leads_table
):
    identities = IdentityRepository(leads_table)
    identify(track, "shared", user_id="old-id")
    alias = {"previousId": "shared", "userId": "new-id", "messageId": "alias-1"}  # the device's anonymous id
    assert track.lambda_handler(http_request("/v1/alias", alias), CTX)["statusCode"] == 200
    identify(track, "shared", user_id="new-id")  # the same person, known by the new id from now on
    visit(track, "shared", "/pricing")
    scored_all(score, new_records, filters)

    old, new = (
        named(identities, scores, i)
        for i in identifiers(None, "old-id", None) + identifiers(None, "new-id", None)
    )
    assert old == new == lead_of("shared")
    assert scores.load(lead_of("shared")).handed == ()
    assert (scores.load(old).score.events, scores.load(old).score.page_views) == (3, 1)
