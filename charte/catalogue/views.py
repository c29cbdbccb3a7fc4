"""The catalogue in the portal: everybody acting for an organisation reads it (as through the API); the
national level creates and edits families, action types and indicators, with their history.

Nothing is deleted here: a row is deactivated (`is_active`), and the engine's indicators keep what it needs
(`engine_needs`). Every save runs in one transaction, in which django-simple-history writes the change with
the person who made it (its request middleware): a change and its history are written together or not at all.
The catalogue is a few dozen rows, so each list is one table on one page.
"""

from itertools import chain

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from charte.comptes.scoping import referential

from . import engine_needs
from .forms import ActionTypeForm, FamilyForm, IndicatorForm
from .models import ActionType, Family, Indicator

REFUSED = "Seul le niveau national (ANCT) peut modifier le catalogue ; vous pouvez le consulter."
HISTORY_LENGTH = 100


class Kind:
    def __init__(self, model, form, name, article, noun, anchor):
        self.model, self.form, self.name, self.article, self.noun, self.anchor = model, form, name, article, noun, anchor

    def url(self, action, pk=None):
        return reverse(f"catalogue:{self.name}_{action}", args=[pk] if pk else [])


FAMILY = Kind(Family, FamilyForm, "family", "la famille", "Famille", "familles")
ACTION_TYPE = Kind(ActionType, ActionTypeForm, "action_type", "le type d'action", "Type d'action", "types")
INDICATOR = Kind(Indicator, IndicatorForm, "indicator", "l'indicateur", "Indicateur", "indicateurs")
KINDS = {Family: FAMILY, ActionType: ACTION_TYPE, Indicator: INDICATOR}


def _crumbs(current, *links):
    items = [{"url": reverse("catalogue:index"), "title": "Catalogue"}] if current != "Catalogue" else []
    items += [{"url": url, "title": title} for url, title in links]
    return {"links": items, "current": current}


def _require_national(request):
    if not request.scope.is_national:
        raise PermissionDenied(REFUSED)


@require_GET
def index(request):
    scope = request.scope
    return render(
        request,
        "catalogue/index.html",
        {
            "families": referential(scope, Family.objects.order_by("position", "code")),
            "action_types": referential(
                scope,
                ActionType.objects.select_related("family").prefetch_related("indicators").order_by("family__position", "label"),
            ),
            "indicators": referential(scope, Indicator.objects.select_related("numerator", "denominator").order_by("code")),
            "engine_codes": engine_needs.registered_codes(),
            "can_edit": scope.is_national,
            "breadcrumb_data": _crumbs("Catalogue"),
        },
    )


def _changes(record):
    """(field label, before, after) of a historical record against the previous one."""
    previous = record.prev_record
    if previous is None:
        return []
    model = record.instance_type
    delta = record.diff_against(previous)
    rows = []
    for change in delta.changes:
        field = model._meta.get_field(change.field)
        label = str(field.verbose_name)
        rows.append((label, _shown(field, change.old), _shown(field, change.new)))
    return rows


def _shown(field, value):
    if field.many_to_many:
        target = field.related_model
        ids = [row.get(target._meta.model_name) for row in value or []]
        return ", ".join(sorted(str(obj.code) for obj in target.objects.filter(pk__in=ids))) or "—"
    if field.is_relation:
        obj = field.related_model.objects.filter(pk=value).first() if value else None
        return str(obj) if obj else "—"
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, bool):
        return "oui" if value else "non"
    return "—" if value in (None, "") else str(value)


def _history_rows(records):
    kinds = {"+": "Création", "~": "Modification", "-": "Suppression"}
    return [
        {
            "date": record.history_date,
            "user": record.history_user,
            "kind": kinds.get(record.history_type, record.history_type),
            "object": record.instance,
            "label": KINDS[record.instance_type].noun,
            "changes": _changes(record),
        }
        for record in records
    ]


def _form_page(request, kind, obj=None):
    _require_national(request)
    creating = obj is None
    data = request.POST if request.method == "POST" else None
    form = kind.form(data, instance=obj)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save()
        messages.success(request, f"« {saved} » est enregistré dans le catalogue.")
        return redirect(f"{reverse('catalogue:index')}#{kind.anchor}")
    history = []
    if obj is not None:
        history = _history_rows(
            obj.history.select_related("history_user").order_by("-history_date", "-history_id")[:HISTORY_LENGTH]
        )
    title = f"Créer {kind.article}" if creating else f"Modifier {kind.article} « {obj} »"
    return render(
        request,
        "catalogue/form.html",
        {
            "form": form,
            "kind": kind,
            "obj": obj,
            "title": title,
            "history": history,
            "lock_reasons": getattr(form, "lock_reasons", []),
            "breadcrumb_data": _crumbs(title),
        },
    )


@require_http_methods(["GET", "POST"])
def family_create(request):
    return _form_page(request, FAMILY)


@require_http_methods(["GET", "POST"])
def family_edit(request, pk):
    return _form_page(request, FAMILY, get_object_or_404(Family, pk=pk))


@require_http_methods(["GET", "POST"])
def action_type_create(request):
    return _form_page(request, ACTION_TYPE)


@require_http_methods(["GET", "POST"])
def action_type_edit(request, pk):
    return _form_page(request, ACTION_TYPE, get_object_or_404(ActionType, pk=pk))


@require_http_methods(["GET", "POST"])
def indicator_create(request):
    return _form_page(request, INDICATOR)


@require_http_methods(["GET", "POST"])
def indicator_edit(request, pk):
    return _form_page(request, INDICATOR, get_object_or_404(Indicator, pk=pk))


@require_GET
def history(request):
    """The latest changes of the whole catalogue, most recent first (national level: who changed what, when)."""
    _require_national(request)
    records = sorted(
        chain.from_iterable(
            model.history.select_related("history_user").order_by("-history_date")[:HISTORY_LENGTH] for model in KINDS
        ),
        key=lambda record: record.history_date,
        reverse=True,
    )[:HISTORY_LENGTH]
    return render(
        request,
        "catalogue/history.html",
        {"history": _history_rows(records), "breadcrumb_data": _crumbs("Historique des modifications")},
    )
