"""The trust rules of `identity.provenance`: which fields a call may write, and which leads it may join."""

from datetime import UTC, datetime

from leadstream.identity.provenance import Rank, Stamp, decide, refused_joins
from leadstream.identity.resolution import Resolution

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def stamped(rank: Rank) -> Stamp:
    return Stamp("site", rank, NOW)


def test_a_browser_adds_missing_facts_but_keeps_what_a_form_set():
    values = {"email": "jane@acme.com", "name": "Jane Doe"}
    stamps = {"email": stamped(Rank.FORM), "name": stamped(Rank.FORM)}
    given = {"email": "jane@acme.com", "name": "Mallory", "phone": "+1 555 0100"}

    decision = decide(values, stamps, Rank.FORM, given, Rank.BROWSER)

    assert decision.changes == {"phone": "+1 555 0100"}
    assert decision.kept == ("name",)
    assert not decision.establish
    assert decision.applies("email", given)  # the same address: the profile holds it
    assert not decision.applies("name", given)


def test_a_call_overwrites_what_its_own_rank_or_a_lower_one_set():
    values = {"name": "Jane", "title": "VP"}
    stamps = {"name": stamped(Rank.SERVER), "title": stamped(Rank.BROWSER)}

    decision = decide(values, stamps, Rank.SERVER, {"name": "Jane Doe", "title": "CRO"}, Rank.SERVER)

    assert decision.changes == {"name": "Jane Doe", "title": "CRO"}
    assert decision.kept == ()


def test_the_same_value_from_a_higher_rank_is_vouched_for_again_and_from_the_same_rank_is_nothing_new():
    values = {"email": "jane@acme.com"}
    stamps = {"email": stamped(Rank.BROWSER)}

    assert decide(values, stamps, Rank.BROWSER, {"email": "jane@acme.com"}, Rank.BROWSER).writes is False
    higher = decide(values, stamps, Rank.BROWSER, {"email": "jane@acme.com"}, Rank.FORM)
    assert higher.changes == {"email": "jane@acme.com"}
    assert higher.establish


def test_fields_set_before_provenance_was_kept_may_be_changed_by_anyone():
    decision = decide({"name": "Old"}, {}, Rank.BROWSER, {"name": "New"}, Rank.BROWSER)

    assert decision.changes == {"name": "New"}


def test_a_first_identify_establishes_the_lead_at_its_rank():
    assert decide({}, {}, None, {"email": "a@b.co"}, Rank.BROWSER).establish


def test_a_call_may_not_join_the_sender_to_a_lead_established_above_it():
    into_known = Resolution("known", (), ("device",))

    assert refused_joins(into_known, "device", {"known": Rank.FORM}, Rank.BROWSER) == ("known",)
    assert refused_joins(into_known, "device", {"known": Rank.FORM}, Rank.FORM) == ()
    assert refused_joins(into_known, "device", {}, Rank.BROWSER) == ()  # identified by browsers only


def test_a_known_device_may_add_identifiers_but_is_never_handed_to_another_lead_by_a_lower_rank():
    absorbing = Resolution("device", (), ("stranger",))
    handed_over = Resolution("stranger", (), ("device",))
    established = {"device": Rank.SERVER}

    assert refused_joins(absorbing, "device", established, Rank.BROWSER) == ()
    assert refused_joins(handed_over, "device", established, Rank.BROWSER) == ("stranger",)
    assert refused_joins(Resolution("device", (), ()), "device", established, Rank.BROWSER) == ()
