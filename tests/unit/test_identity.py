"""Who a visitor is: e-mail kinds, organisation domains, identifiers and lead ids."""

import pytest
from leadstream.identity.identifiers import (
    EmailKind,
    Identifier,
    IdKind,
    email_kind,
    identifiers,
    organisation_domain,
)


@pytest.mark.parametrize("email", ["x@gmail.com", "X@GMAIL.COM", "someone@outlook.com"])
def test_given_a_free_mail_address_when_classified_then_it_is_free(email: str) -> None:
    assert email_kind(email) is EmailKind.FREE


def test_given_a_company_address_when_classified_then_it_is_work() -> None:
    assert email_kind("jane@acme.com") is EmailKind.WORK


@pytest.mark.parametrize(
    ("email", "organisation"),
    [
        ("jane@eu.acme.co.uk", "acme.co.uk"),
        ("jane@acme.co.uk", "acme.co.uk"),
        ("Jane@Sales.ACME.com", "acme.com"),
    ],
)
def test_given_a_work_address_when_asked_for_its_organisation_then_the_registrable_domain_is_given(
    email: str, organisation: str
) -> None:
    assert organisation_domain(email) == organisation


def test_given_a_free_mail_address_when_asked_for_its_organisation_then_there_is_none() -> None:
    assert organisation_domain("jane@gmail.com") is None


def test_given_user_email_and_anonymous_ids_when_listed_then_known_identifiers_come_before_anonymous() -> (
    None
):
    ids = identifiers("anon-123", "user-9", "jane@acme.com")

    assert [i.kind for i in ids] == [IdKind.USER, IdKind.EMAIL, IdKind.ANONYMOUS]
    assert [i.value for i in ids] == ["user-9", "jane@acme.com", "anon-123"]


def test_given_only_some_ids_when_listed_then_missing_ones_are_left_out() -> None:
    assert identifiers("anon-123", None, None) == [Identifier(IdKind.ANONYMOUS, "anon-123")]
    assert identifiers(None, None, "") == []


def test_given_the_same_email_in_different_case_and_spacing_when_listed_then_it_is_the_same_identifier() -> (
    None
):
    [shouted] = identifiers(None, None, "  Jane.Doe@ACME.com ")
    [plain] = identifiers(None, None, "jane.doe@acme.com")

    assert shouted == plain
    assert shouted.key == plain.key
    assert shouted.derived_lead_id() == plain.derived_lead_id()


def test_given_an_email_identifier_when_its_storage_key_is_made_then_the_email_does_not_appear_in_it() -> (
    None
):
    [email] = identifiers(None, None, "jane.doe@acme.com")

    assert email.key.startswith("email:")
    for part in ("jane", "doe", "acme", "@"):
        assert part not in email.key


def test_given_an_identifier_when_its_lead_id_is_derived_twice_then_it_is_the_same() -> None:
    first = Identifier(IdKind.ANONYMOUS, "anon-123").derived_lead_id()
    again = Identifier(IdKind.ANONYMOUS, "anon-123").derived_lead_id()

    assert first == again
    # Pinned: a change here would give every returning visitor a new, empty lead.
    assert first == "L06f8f6e7f238a3504e04"


def test_given_the_same_value_as_different_kinds_when_lead_ids_are_derived_then_they_differ() -> None:
    as_anonymous = Identifier(IdKind.ANONYMOUS, "abc").derived_lead_id()
    as_user = Identifier(IdKind.USER, "abc").derived_lead_id()

    assert as_anonymous != as_user
    assert Identifier(IdKind.ANONYMOUS, "abd").derived_lead_id() != as_anonymous


def test_given_an_email_identifier_when_its_lead_id_is_derived_then_the_email_does_not_appear_in_it() -> None:
    lead_id = Identifier(IdKind.EMAIL, "jane@acme.com").derived_lead_id()

    assert lead_id.startswith("L")
    assert "jane" not in lead_id
    assert "acme" not in lead_id
