"""SIREN / SIRET validation (entreprises.validators) and the messages a user sees on the company form.

Examples checked by hand: SIREN 732829320 and 552100554 pass Luhn; SIRET 73282932000074 passes Luhn.
La Poste (SIREN 356000000): 35600000000015 fails Luhn but its digits sum to 20, a multiple of 5, so it is
valid; 35600000000012 fails both (digit sum 17). La Poste's head office 35600000000048 is a real SIRET that
passes Luhn but whose digits sum to 26: it is the one La Poste SIRET checked with Luhn.
"""

import pytest
from django.core.exceptions import ValidationError

from entreprises.models import Company, Establishment
from entreprises.validators import (
    is_valid_siren,
    is_valid_siret,
    luhn_ok,
    normalize_identifier,
    validate_siren,
    validate_siret,
)

SIREN_CHECKSUM = "Ce SIREN n'est pas valide (clé de contrôle incorrecte)."
SIREN_FORMAT = "Le SIREN doit comporter exactement 9 chiffres."
SIRET_CHECKSUM = "Ce SIRET n'est pas valide (clé de contrôle incorrecte)."
SIRET_FORMAT = "Le SIRET doit comporter exactement 14 chiffres."


def messages_of(validator, value):
    with pytest.raises(ValidationError) as excinfo:
        validator(value)
    return excinfo.value.messages


def digit_sum(value):
    return sum(int(c) for c in value)


def test_examples_are_what_the_docstring_says():
    # Guards the examples themselves, so a typo in a number cannot make a test pass for the wrong reason.
    assert luhn_ok("732829320") and luhn_ok("552100554") and luhn_ok("73282932000074")
    assert not luhn_ok("35600000000015") and digit_sum("35600000000015") % 5 == 0
    assert not luhn_ok("35600000000012") and digit_sum("35600000000012") % 5 != 0
    assert luhn_ok("35600000000048") and digit_sum("35600000000048") == 26


@pytest.mark.parametrize("siren", ["732829320", "552100554", "356000000"])
def test_valid_siren(siren):
    assert is_valid_siren(siren)
    validate_siren(siren)


@pytest.mark.parametrize("siren", ["732829321", "552100555", "123456789"])
def test_siren_with_wrong_checksum(siren):
    assert not is_valid_siren(siren)
    assert messages_of(validate_siren, siren) == [SIREN_CHECKSUM]


@pytest.mark.parametrize("siren", ["73282932", "7328293200", "73282932A", "", "SIREN1234"])
def test_siren_with_wrong_length_or_letters(siren):
    assert not is_valid_siren(siren)
    assert messages_of(validate_siren, siren) == [SIREN_FORMAT]


@pytest.mark.parametrize("siret", ["73282932000074", "55210055400013"])
def test_valid_siret(siret):
    assert luhn_ok(siret)
    assert is_valid_siret(siret)
    validate_siret(siret)


def test_siret_with_wrong_checksum():
    assert not is_valid_siret("73282932000079")
    assert messages_of(validate_siret, "73282932000079") == [SIRET_CHECKSUM]


@pytest.mark.parametrize("siret", ["7328293200007", "732829320000745", "7328293200007A", "732829320 0007"])
def test_siret_with_wrong_length_or_letters(siret):
    assert not is_valid_siret(siret)
    assert messages_of(validate_siret, siret) == [SIRET_FORMAT]


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [("552 100 554", "552100554"), (" 732.829.320 ", "732829320"), ("732 829 320 00074", "73282932000074")],
)
def test_spaces_and_dots_are_tolerated(typed, normalized):
    assert normalize_identifier(typed) == normalized
    validator = validate_siren if len(normalized) == 9 else validate_siret
    validator(typed)


def test_la_poste_siret_valid_by_digit_sum_although_luhn_fails():
    assert is_valid_siret("35600000000015")
    validate_siret("35600000000015")


def test_la_poste_siret_whose_digit_sum_is_not_a_multiple_of_5_is_refused():
    assert not is_valid_siret("35600000000012")
    assert messages_of(validate_siret, "35600000000012") == [SIRET_CHECKSUM]


def test_la_poste_head_office_siret_is_valid():
    """The head office (real SIRET) keeps a Luhn key although its digits sum to 26."""
    assert is_valid_siret("35600000000048")


@pytest.mark.django_db
def test_company_form_validation_shows_the_french_messages():
    with pytest.raises(ValidationError) as excinfo:
        Company(siren="732829321", name="Entreprise test").full_clean()
    assert excinfo.value.message_dict == {"siren": [SIREN_CHECKSUM]}

    with pytest.raises(ValidationError) as excinfo:
        Company(siren="73282932A", name="Entreprise test").full_clean()
    assert excinfo.value.message_dict == {"siren": [SIREN_FORMAT]}

    Company(siren="732829320", name="Entreprise test").full_clean()


@pytest.mark.django_db
def test_establishment_validation_shows_the_french_messages():
    company = Company.objects.create(siren="732829320", name="Entreprise test")
    with pytest.raises(ValidationError) as excinfo:
        Establishment(company=company, siret="73282932000079").full_clean()
    assert excinfo.value.message_dict == {"siret": [SIRET_CHECKSUM]}

    with pytest.raises(ValidationError) as excinfo:
        Establishment(company=company, siret="55210055400013").full_clean()
    assert excinfo.value.message_dict == {"siret": ["Le SIRET doit commencer par le SIREN de l'entreprise."]}

    Establishment(company=company, siret="73282932000074").full_clean()


@pytest.mark.django_db
def test_company_siren_typed_with_spaces_is_stored_as_nine_digits():
    company = Company(siren="552 100 554", name="Entreprise test")
    company.full_clean()
    assert company.siren == "552100554"


# --- security review (issue 10): other digits than ASCII, zeros only --------------------------------------

ARABIC_INDIC_732829320 = "\u0667\u0663\u0662\u0668\u0662\u0669\u0663\u0662\u0660"  # ٧٣٢٨٢٩٣٢٠


@pytest.mark.parametrize("siren", [ARABIC_INDIC_732829320, "７３２８２９３２０"])
def test_siren_in_other_digits_than_ascii_is_refused(siren):
    assert siren.isdigit() and int(siren) == 732829320  # what Python alone would have accepted
    assert not is_valid_siren(siren)
    assert messages_of(validate_siren, siren) == [SIREN_FORMAT]


def test_siret_in_other_digits_than_ascii_is_refused():
    siret = ARABIC_INDIC_732829320 + "00074"
    assert not is_valid_siret(siret)
    assert messages_of(validate_siret, siret) == [SIRET_FORMAT]


def test_zeros_only_are_refused_although_they_pass_luhn():
    assert luhn_ok("000000000") and luhn_ok("00000000000000")
    assert not is_valid_siren("000000000") and not is_valid_siret("00000000000000")
    assert messages_of(validate_siren, "000 000 000") == [
        "Ce SIREN n'est pas valide : il ne peut pas être composé uniquement de zéros."
    ]
    assert messages_of(validate_siret, "00000000000000") == [
        "Ce SIRET n'est pas valide : son SIREN ne peut pas être composé de zéros."
    ]


@pytest.mark.django_db
def test_a_second_copy_of_a_siren_in_arabic_digits_is_not_stored(client):
    from charte.comptes.models import OrganisationKind
    from tests.factories import MembershipFactory, OrganisationFactory

    Company.objects.create(siren="732829320", name="Original")
    national = OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT")
    client.force_login(MembershipFactory(organisation=national).user)
    for siren in (ARABIC_INDIC_732829320, "000000000"):
        response = client.post("/entreprises/nouvelle/", {"siren": siren, "name": "Copie", "size": "pme"})
        assert response.status_code == 200
        assert "Ce SIREN" in response.content.decode() or SIREN_FORMAT in response.content.decode()
    assert Company.objects.count() == 1
