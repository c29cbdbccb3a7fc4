"""Filters with thousands of choices (companies, conventions, QPV): a text input instead of a drop-down.

A national reader sees 20,000 companies and 30,000 conventions: listing them all in `<select>` made the actions
list a 3.5 MB page (issue 17). The filter is now a text input with a native `<datalist>`, filled as the person
types by `static/js/autocomplete.js` from a small JSON endpoint (20 suggestions, the reader's `visible_to(scope)`
rows only). Without JavaScript the input still works: an id, a SIREN, a convention reference, an exact name or a
suggestion's label ("Nom — SIREN 123456789", "REF — intitulé") is resolved within the reader's scope, and a
value that matches nothing in it is refused with a French message (never an empty list that looks like a result).
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import JsonResponse
from django.utils.html import format_html
from django.views.decorators.http import require_GET

from charte.territoires.models import QPV
from charte.web import parse_pk
from entreprises.models import Company

from .models import Convention

SUGGESTIONS = 20
SEPARATOR = " — "
_TRAILING_SIREN = re.compile(r"(\d{9})\s*$")


class Kind:
    """One kind of row a filter can pick: how it is searched, labelled and read back from typed text."""

    def __init__(self, noun, queryset, label, search, resolve, none="Aucune"):
        self.noun, self.none = noun, none  # "Aucune entreprise", "Aucun QPV"
        self._queryset, self.label, self._search, self._resolve = queryset, label, search, resolve

    def visible(self, scope):
        return self._queryset(scope)

    def suggestions(self, scope, text):
        rows = self.visible(scope)
        text = text.strip()
        if text:
            rows = rows.filter(self._search(text))
        return [{"id": row.pk, "label": self.label(row)} for row in rows[:SUGGESTIONS]]

    def resolve(self, scope, text):
        """The visible row the typed text designates, or None."""
        text = text.strip()
        rows = self.visible(scope)
        for condition in self._resolve(text):
            found = list(rows.filter(condition)[:2])
            if len(found) == 1:
                return found[0]
        return None


def _company_resolve(text):
    siren = _TRAILING_SIREN.search(text)
    if siren:
        yield Q(siren=siren.group(1))
    pk = parse_pk(text)
    if pk is not None:
        yield Q(pk=pk)
    yield Q(name__iexact=text)


def _convention_resolve(text):
    yield Q(reference__iexact=text.split(SEPARATOR, 1)[0].strip())
    pk = parse_pk(text)
    if pk is not None:
        yield Q(pk=pk)


COMPANIES = Kind(
    "entreprise",
    lambda scope: Company.objects.visible_to(scope).order_by("name", "pk").only("pk", "name", "siren"),
    lambda company: f"{company.name}{SEPARATOR}SIREN {company.siren}",
    lambda text: Q(name__icontains=text) | Q(siren__startswith=text.replace(" ", "")),
    _company_resolve,
)
CONVENTIONS = Kind(
    "convention",
    lambda scope: Convention.objects.visible_to(scope).order_by("reference").only("pk", "reference", "title"),
    lambda convention: f"{convention.reference}{SEPARATOR}{convention.title}",
    lambda text: Q(reference__icontains=text) | Q(title__icontains=text),
    _convention_resolve,
)


def _qpv_resolve(text):
    yield Q(code__iexact=text.split(SEPARATOR, 1)[0].strip())
    pk = parse_pk(text)
    if pk is not None:
        yield Q(pk=pk)
    yield Q(name__iexact=text)


# 1,515 QPV nationally: their `<select>` was most of the national actions list (0.3 s of rendering, 100 kB).
QPVS = Kind(
    "QPV",
    lambda scope: QPV.objects.visible_to(scope).order_by("code").only("pk", "code", "name"),
    lambda qpv: f"{qpv.code}{SEPARATOR}{qpv.name}",
    lambda text: Q(code__icontains=text) | Q(name__icontains=text),
    _qpv_resolve,
    none="Aucun",
)


class AutocompleteInput(forms.TextInput):
    """A DSFR text input tied to an (initially empty) `<datalist>` that the script fills from `url`."""

    def __init__(self, url, attrs=None):
        super().__init__(attrs={"autocomplete": "off", "data-autocomplete-url": url, **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["attrs"]["list"] = f"{context['widget']['attrs'].get('id', name)}-suggestions"
        return context

    def render(self, name, value, attrs=None, renderer=None):
        input_html = super().render(name, value, attrs, renderer)
        list_id = f"{(attrs or {}).get('id', name)}-suggestions"
        return format_html('{}<datalist id="{}"></datalist>', input_html, list_id)


class ScopedLookupField(forms.CharField):
    """A text field whose cleaned value is the visible row the text designates (see the module docstring).
    Once resolved, the field shows that row's label, whatever was typed (an id, a SIREN)."""

    def __init__(self, *, kind, url, **kwargs):
        kwargs.setdefault("widget", AutocompleteInput(url))
        super().__init__(**kwargs)
        self.kind, self.scope, self.resolved = kind, None, None

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        row = self.kind.resolve(self.scope, text)
        if row is None:
            raise ValidationError(
                f"{self.kind.none} {self.kind.noun} de votre périmètre ne correspond à « {text[:80]} » : choisissez une des "
                "suggestions, ou saisissez un identifiant, un SIREN ou une référence.",
                code="not_found",
            )
        self.resolved = row
        return row

    def bound_data(self, data, initial):
        if self.resolved is not None:
            return self.kind.label(self.resolved)
        return super().bound_data(data, initial)


def _suggestions_view(kind):
    @require_GET
    def view(request):
        """Up to 20 rows of the reader's scope matching `q` (name, SIREN, reference or title), as JSON."""
        text = request.GET.get("q", "")[:100]
        # ensure_ascii off: the labels stay readable (and searchable) in the raw answer.
        return JsonResponse({"results": kind.suggestions(request.scope, text)}, json_dumps_params={"ensure_ascii": False})

    return view


company_suggestions = _suggestions_view(COMPANIES)
convention_suggestions = _suggestions_view(CONVENTIONS)
qpv_suggestions = _suggestions_view(QPVS)
