"""French writing rules for templates: `{% load francais %}`."""

from django import template

from charte.dates import DEFAULT_FORMAT, french_date

register = template.Library()


@register.filter(expects_localtime=True)
def date_fr(value, format_string=DEFAULT_FORMAT):
    """`{{ d|date_fr }}` or `{{ d|date_fr:"j F Y à H:i" }}`: like `date`, with « 1er » on the first of a month."""
    return french_date(value, format_string)


@register.filter(is_safe=False)
def pluriel(value, suffix="s"):
    """« s » (or `suffix`) from two on: in French 0 and 1 take the singular (« 0 convention », « 1,5 heure »),
    where Django's `pluralize` writes « 0 conventions ». Accepts a number or a sized collection."""
    try:
        count = abs(float(value))
    except (TypeError, ValueError):
        try:
            count = len(value)
        except TypeError:
            return ""
    return suffix if count >= 2 else ""
