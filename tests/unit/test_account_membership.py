"""The one account a lead counts in, and why: group call > business e-mail domain > company by IP, free-mail
never; and an account counting its anonymous people as they come and go."""

from dataclasses import replace

import pytest
from leadstream.accounts.membership import Basis, Membership, claims_of, decide
from leadstream.scoring.model_file import load_model

from tests.unit.account_model import T0, build_account_model, build_ledger, lead


def test_a_visitor_known_only_by_its_network_counts_in_the_networks_company():
    assert decide(claims_of({}, "acme.com")) == Membership("acme.com", Basis.IP)


def test_a_business_e_mail_beats_the_network():
    claims = claims_of({"acme.com": {Basis.EMAIL.value}}, "initech.com")

    assert decide(claims) == Membership("acme.com", Basis.EMAIL)


def test_a_group_call_beats_the_e_mail_and_the_network():
    claims = claims_of({"acme.com": {Basis.EMAIL.value}, "globex.com": {Basis.GROUP.value}}, "initech.com")

    assert decide(claims) == Membership("globex.com", Basis.GROUP)


def test_the_same_account_by_e_mail_and_network_is_one_membership_with_the_stronger_basis():
    assert decide(claims_of({"acme.com": {Basis.EMAIL.value}}, "acme.com")) == Membership(
        "acme.com", Basis.EMAIL
    )


@pytest.mark.parametrize("basis", [Basis.GROUP, Basis.EMAIL, Basis.IP])
def test_free_mail_never_makes_an_account_whatever_the_claim(basis):
    claims = {"gmail.com": {basis}}

    assert decide(claims) is None
    assert decide({**claims, "acme.com": {Basis.IP}}) == Membership("acme.com", Basis.IP)


def test_between_claims_of_one_strength_the_account_named_last_wins_then_the_first_domain():
    claims = claims_of({"acme.com": {Basis.EMAIL.value}, "beta.com": {Basis.EMAIL.value}}, None)

    assert decide(claims, latest="beta.com") == Membership("beta.com", Basis.EMAIL)
    assert decide(claims, latest="acme.com") == Membership("acme.com", Basis.EMAIL)
    assert decide(claims) == Membership("acme.com", Basis.EMAIL)  # the same answer for every reader


def test_a_join_recorded_before_claims_were_is_an_e_mails():
    assert claims_of({"acme.com": set()}, None) == {"acme.com": {Basis.EMAIL}}


def test_no_claim_no_account():
    assert decide(claims_of({}, None)) is None


# --- the account's anonymous people ---------------------------------------------------------------------


def anonymous(lead_id, points, version=1):
    return replace(lead(lead_id, points, version=version), anonymous=True, basis=Basis.IP.value)


def test_an_account_counts_its_anonymous_people_and_forgets_one_who_identifies_or_leaves():
    ledger = build_ledger(build_account_model(), load_model())
    ledger.apply(
        anonymous("a", 10), anonymous("b", 5), replace(lead("c", 20, title="CFO"), basis="e-mail domain")
    )
    assert (ledger.card(T0).people, ledger.card(T0).anonymous_people) == (3, 2)

    ledger.apply(replace(lead("a", 12, version=2), basis=Basis.EMAIL.value))  # "a" identified
    ledger.apply(replace(anonymous("b", 5, version=2), member=False))  # "b" left

    card = ledger.card(T0)
    assert (card.people, card.anonymous_people) == (2, 0)
    assert ledger.marks["a"].basis == Basis.EMAIL.value
    assert ledger.marks["b"].basis is None


def test_a_replayed_anonymous_change_counts_once():
    ledger = build_ledger(build_account_model(), load_model())
    ledger.apply(anonymous("a", 10), anonymous("a", 10))

    assert ledger.card(T0).anonymous_people == 1
