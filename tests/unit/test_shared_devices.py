"""The shared-device policy of identity.resolution (pure): who a message on a device tied to a known person
belongs to, and from when a device's events count for whom."""

from leadstream.identity.identifiers import IdKind, identifiers
from leadstream.identity.resolution import holder_at, resolve_on_device

ALICE, BOB = "alice@acme.com", "bob@beta.com"


def test_given_a_device_tied_to_alice_when_bob_identifies_on_it_then_it_is_handed_over_not_merged() -> None:
    ids = identifiers("laptop", None, BOB)
    [bob, laptop] = [i.derived_lead_id() for i in ids]
    roots = {bob: bob, laptop: laptop}  # the laptop's lead is Alice's

    resolution = resolve_on_device(ids, {}, roots, laptop, frozenset({IdKind.EMAIL}))

    assert resolution.lead_id == bob  # Bob's own e-mail lead
    assert resolution.merges == ()  # neither joins the other
    assert resolution.links == ()  # nothing of Bob's is linked to Alice (his e-mail's own lead needs none)
    assert resolution.hands_over == laptop


def test_given_a_device_tied_to_alice_when_bob_already_known_identifies_then_his_lead_takes_it() -> None:
    ids = identifiers("laptop", None, BOB)
    [bob_email, _] = ids
    bob_root, laptop = "Lbob-phone", ids[1].derived_lead_id()
    roots = {bob_root: bob_root, bob_email.derived_lead_id(): bob_root, laptop: laptop}

    resolution = resolve_on_device(ids, {bob_email.key: bob_root}, roots, laptop, frozenset({IdKind.EMAIL}))

    assert (resolution.lead_id, resolution.merges, resolution.hands_over) == (bob_root, (), laptop)


def test_given_a_device_of_someone_known_by_user_id_only_when_an_email_comes_then_it_is_the_same_person() -> (
    None
):
    ids = identifiers("laptop", None, ALICE)
    [alice, laptop] = [i.derived_lead_id() for i in ids]

    resolution = resolve_on_device(ids, {}, {alice: alice, laptop: laptop}, laptop, frozenset({IdKind.USER}))

    assert resolution.hands_over is None
    assert resolution.lead_id == laptop  # her history and score stay: a first e-mail joins her
    assert resolution.merges == (alice,)


def test_given_a_device_handed_to_bob_when_bob_identifies_again_then_nothing_changes() -> None:
    ids = identifiers("laptop", None, BOB)
    [bob, laptop] = [i.derived_lead_id() for i in ids]
    roots = {bob: bob, laptop: laptop}

    resolution = resolve_on_device(ids, {}, roots, bob, frozenset({IdKind.EMAIL}))

    assert (resolution.lead_id, resolution.links, resolution.merges, resolution.hands_over) == (
        bob,
        (),
        (),
        None,
    )


def test_given_a_device_handed_to_bob_when_alice_identifies_again_then_it_is_handed_back() -> None:
    ids = identifiers("laptop", None, ALICE)
    [alice_email, device] = ids
    laptop, bob = device.derived_lead_id(), "Lbob"
    roots = {laptop: laptop, bob: bob, alice_email.derived_lead_id(): laptop}

    resolution = resolve_on_device(ids, {alice_email.key: laptop}, roots, bob, frozenset({IdKind.EMAIL}))

    assert (resolution.lead_id, resolution.merges, resolution.hands_over) == (laptop, (), laptop)


def test_given_a_device_handed_to_bob_when_a_user_id_comes_with_no_email_then_it_joins_bob_not_alice() -> (
    None
):
    ids = identifiers("laptop", "u-9", None)
    [user, device] = ids
    laptop, bob = device.derived_lead_id(), "Lbob"
    roots = {laptop: laptop, bob: bob, user.derived_lead_id(): user.derived_lead_id()}

    resolution = resolve_on_device(ids, {}, roots, bob, frozenset({IdKind.EMAIL}))

    assert resolution.lead_id == bob
    assert resolution.merges == (user.derived_lead_id(),)
    assert laptop not in resolution.merges
    assert resolution.hands_over is None


def test_given_hand_overs_when_asked_who_an_event_counts_for_then_the_window_it_was_stored_in_says() -> None:
    handed = ((100.0, "Lbob"), (200.0, "Lalice"))

    assert holder_at(handed, 99.999) is None  # before any: the device lead's own root
    assert holder_at(handed, 100.0) == "Lbob"  # the hand-over's own message is the new holder's
    assert holder_at(handed, 199.0) == "Lbob"
    assert holder_at(handed, 250.0) == "Lalice"
    assert holder_at(handed, None) is None  # stored before events carried when
    assert holder_at((), 150.0) is None
