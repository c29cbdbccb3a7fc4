"""Dates written the French way: « 1er décembre 2026 », never « 1 décembre 2026 »."""

import datetime

from django.template.defaultfilters import date as date_filter
from django.utils import timezone, translation

DEFAULT_FORMAT = "j F Y"


def _with_ordinal(format_string, day):
    """The format with each bare `j` (day of the month) replaced by the escaped literal « 1er » on the first of
    the month; escaped characters (`\\j`) are copied as they are."""
    if day != 1:
        return format_string
    out, chars = [], iter(format_string)
    for char in chars:
        if char == "\\":
            out.append(char + next(chars, ""))
        elif char == "j":
            out.append(r"1\e\r")
        else:
            out.append(char)
    return "".join(out)


def french_date(value, format_string=DEFAULT_FORMAT):
    """`value` (a date or a datetime, shown in the local time zone like the `date` filter does) in French, with
    « 1er » for the first day of a month. Empty for None or for what is not a date."""
    if not isinstance(value, datetime.date):
        return ""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    with translation.override("fr"):
        return date_filter(value, _with_ordinal(format_string, value.day))
