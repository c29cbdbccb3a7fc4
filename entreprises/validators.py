"""SIREN / SIRET checks: digits only and a Luhn checksum, with La Poste's exception (its
establishments, SIREN 356000000, have SIRET whose digits sum to a multiple of 5, except the head office
35600000000048 which has a Luhn key). Digits are ASCII only (Python's isdigit() also takes "٧٣٢٨٢٩٣٢٠", which
would be a second copy of 732829320) and an identifier of zeros only, which passes Luhn, is refused."""

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


def _ascii_digits(value: str, length: int) -> bool:
    return len(value) == length and value.isascii() and value.isdigit()


def _zeros(value: str) -> bool:
    # A SIRET whose SIREN is 000000000 belongs to no company.
    return not value[:9].strip("0")


def is_valid_siren(value: str) -> bool:
    value = normalize_identifier(value)
    return _ascii_digits(value, 9) and not _zeros(value) and luhn_ok(value)


def is_valid_siret(value: str) -> bool:
    value = normalize_identifier(value)
    if not _ascii_digits(value, 14) or _zeros(value):
        return False
    if value.startswith(LA_POSTE_SIREN) and value != LA_POSTE_HEAD_OFFICE_SIRET:
        return sum(int(c) for c in value) % 5 == 0
    return luhn_ok(value)


def validate_siren(value):
    value = normalize_identifier(value)
    if not _ascii_digits(value, 9):
        raise ValidationError("Le SIREN doit comporter exactement 9 chiffres.", code="siren_format")
    if _zeros(value):
        raise ValidationError("Ce SIREN n'est pas valide : il ne peut pas être composé uniquement de zéros.", code="siren_zeros")
    if not luhn_ok(value):
        raise ValidationError("Ce SIREN n'est pas valide (clé de contrôle incorrecte).", code="siren_checksum")


def validate_siret(value):
    value = normalize_identifier(value)
    if not _ascii_digits(value, 14):
        raise ValidationError("Le SIRET doit comporter exactement 14 chiffres.", code="siret_format")
    if _zeros(value):
        raise ValidationError("Ce SIRET n'est pas valide : son SIREN ne peut pas être composé de zéros.", code="siret_zeros")
    if not is_valid_siret(value):
        raise ValidationError("Ce SIRET n'est pas valide (clé de contrôle incorrecte).", code="siret_checksum")
