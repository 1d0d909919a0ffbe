"""Privacy's pure parts: suppression hashes, the kinds of items, parked messages about a person."""

from leadstream.identity.identifiers import Identifier, IdKind
from leadstream.privacy.people import _mentions, kind_of
from leadstream.privacy.repository import plain
from leadstream.privacy.suppression import suppression_hash, suppression_hashes


def test_a_suppression_hash_is_keyed_and_never_the_identifier():
    key = Identifier(IdKind.EMAIL, "jane@acme.com").key

    hashed = suppression_hash("secret-1", key)

    assert hashed == suppression_hash("secret-1", key)
    assert hashed != suppression_hash("secret-2", key)  # without the secret, no guess can be tested
    assert "jane" not in hashed
    assert key.split(":")[1] not in hashed
    assert len(hashed) == 64
    assert suppression_hashes("secret-1", [Identifier(IdKind.EMAIL, "jane@acme.com")]) == [hashed]


def test_items_are_reported_by_kind():
    assert kind_of("leads", "PROFILE") == "profile"
    assert kind_of("leads", "STATE") == "score_state"
    assert kind_of("leads", "EVT#m1") == "events"
    assert kind_of("leads", "LINK") == "identity_links"
    assert kind_of("leads", "LINKED#email:ab") == "identity_records"
    assert kind_of("leads", "TRANS#x") == "score_ledger"
    assert kind_of("accounts", "LEAD#L1") == "account_membership"


def test_a_parked_notification_is_about_a_person_by_lead_or_email():
    card = {"requestPayload": {"detail": {"card": {"lead_id": "L1", "email": "Jane@ACME.com"}}}}

    assert _mentions(card, {"L1"}, "nobody@x.test")
    assert _mentions(card, {"L9"}, "jane@acme.com")
    assert not _mentions(card, {"L9"}, "bob@acme.com")
    assert not _mentions(["text", 1], {"L1"}, "jane@acme.com")


def test_dynamodb_values_become_plain_json():
    assert plain({"N": "3"}) == 3
    assert plain({"N": "1.5"}) == 1.5
    assert plain({"M": {"a": {"L": [{"S": "x"}, {"BOOL": True}, {"NULL": True}]}}}) == {
        "a": ["x", True, None]
    }
    assert plain({"SS": ["b", "a"]}) == ["a", "b"]
