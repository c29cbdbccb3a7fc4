"""SIREN / SIRET checks: digits only and a Luhn checksum, with La Poste's exception (its
establishments, SIREN 356000000, have SIRET whose digits sum to a multiple of 5, except the head office
35600000000048 which has a Luhn key)."""

from django.core.exceptions import ValidationError

LA_POSTE_SIREN = "356000000"
# La Poste's head office keeps an ordinary Luhn key; its other establishments use the sum-of-digits rule.
LA_POSTE_HEAD_OFFICE_SIRET = "35600000000048"


def luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def normalize_identifier(value: str) -> str:
    """Drop the spaces and dots people type or paste (e.g. '552 100 554')."""
    return "".join(str(value).split()).replace(".", "")


def is_valid_siren(value: str) -> bool:
    value = normalize_identifier(value)
    return len(value) == 9 and value.isdigit() and luhn_ok(value)


def is_valid_siret(value: str) -> bool:
    value = normalize_identifier(value)
    if len(value) != 14 or not value.isdigit():
        return False
    if value.startswith(LA_POSTE_SIREN) and value != LA_POSTE_HEAD_OFFICE_SIRET:
        return sum(int(c) for c in value) % 5 == 0
    return luhn_ok(value)


def validate_siren(value):
    value = normalize_identifier(value)
    if len(value) != 9 or not value.isdigit():
        raise ValidationError("Le SIREN doit comporter exactement 9 chiffres.", code="siren_format")
    if not luhn_ok(value):
        raise ValidationError("Ce SIREN n'est pas valide (clé de contrôle incorrecte).", code="siren_checksum")


def validate_siret(value):
    value = normalize_identifier(value)
    if len(value) != 14 or not value.isdigit():
        raise ValidationError("Le SIRET doit comporter exactement 14 chiffres.", code="siret_format")
    if not is_valid_siret(value):
        raise ValidationError("Ce SIRET n'est pas valide (clé de contrôle incorrecte).", code="siret_checksum")
