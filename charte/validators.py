"""Bounds on what people and tools may type, shared by the models, the forms and the API.

Dates of conventions, actions and campaigns: the charter began in 2013 and its conventions run a few years,
so a date outside 2000-2100 is a typing error (or an attack: year 9999 made date arithmetic overflow and a
convention from year 1 to 9999 spans ten thousand yearly targets). Long free texts are capped so that a
description cannot be a 3 MB document.
"""

import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

MIN_YEAR = 2000
MAX_YEAR = 2100
MIN_DATE = datetime.date(MIN_YEAR, 1, 1)
MAX_DATE = datetime.date(MAX_YEAR, 12, 31)
DATE_RANGE_MESSAGE = f"Saisissez une date comprise entre le 01/01/{MIN_YEAR} et le 31/12/{MAX_YEAR}."
YEAR_RANGE_MESSAGE = f"Saisissez une année comprise entre {MIN_YEAR} et {MAX_YEAR}."

# Characters of a long free text (a description, a comment, a reason).
LONG_TEXT_MAX_LENGTH = 5000


def validate_plausible_date(value):
    if value is not None and not MIN_DATE <= value <= MAX_DATE:
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_out_of_range")


def validate_plausible_year(value):
    if value is not None and not MIN_YEAR <= value <= MAX_YEAR:
        raise ValidationError(YEAR_RANGE_MESSAGE, code="year_out_of_range")


# On the models as a validator rather than a max_length: a TextField's max_length would rebuild the tables on
# SQLite, dropping the triggers of conventions.0002; the validator runs in every ModelForm and full_clean.
validate_long_text = MaxLengthValidator(LONG_TEXT_MAX_LENGTH)
