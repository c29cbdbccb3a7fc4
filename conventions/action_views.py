"""Action pages: the list (filters, CSV export), the logging form, detail, edit and delete.

Every queryset starts from `Action.objects.visible_to(request.scope)`: an action out of scope answers 404; a
visible action that the person may not change answers 403 with a French message (PermissionDenied, shown by
the shared `403.html`).
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.forms.utils import ErrorDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from charte.api.base import visible_fk
from charte.concurrency import StaleEditError
from charte.pagination import LargeListPaginator
from charte.territoires.models import QPV
from charte.web import add_service_error, csv_export_response, parse_pk, role_required

from .action_filters import ActionFilter
from .action_forms import (
    GRID_DEFAULT_ROWS,
    GRID_MAX_ROWS,
    KEPT_FOR_NEXT,
    PARTNERS_HELP,
    ActionForm,
    GridRowForm,
    GridSharedForm,
    grid_formset_class,
    partner_formset,
    partners_from,
)
from .action_permissions import ACTION_WRITERS, can_create_action, can_delete_action, can_edit_action
from .action_services import RowRefused, save_action, save_actions
from .exports import action_export as action_export_of
from .exports import companies_with_visibility, others_label
from .models import Action, Convention
from .practices import services as practice_services


def _actions(scope):
    """The actions in scope. Their companies and convention are marked with whether the reader may see them
    (the API's rule, issue 10): the pages name only those, and count the others (`_with_visibility`)."""
    return (
        Action.objects.visible_to(scope)
        .select_related("action_type__family", "departement", "convention", "club", "logged_by")
        .annotate(visible_convention_id=visible_fk("convention_id", Convention.objects.visible_to(scope).values("pk")))
        .prefetch_related(
            Prefetch("companies", queryset=companies_with_visibility(scope)),
            Prefetch("qpvs", queryset=QPV.objects.only("pk", "code", "name").order_by("code")),
        )
    )


def _with_visibility(action):
    """`shown_companies`: those the reader may see; `other_companies`: "2 autres entreprises" for the rest;
    `shown_convention`: the convention when the reader may see it (else the pages say it is not visible)."""
    companies = list(action.companies.all())
    action.shown_companies = [company for company in companies if company.is_visible]
    action.other_companies = others_label(len(companies) - len(action.shown_companies))
    action.shown_convention = action.convention if action.visible_convention_id else None
    return action


def _crumbs(current, action=None):
    links = [{"url": reverse("actions:list"), "title": "Actions"}]
    if action is not None:
        links.append({"url": reverse("actions:detail", args=[action.pk]), "title": action.title})
    return {"links": links, "current": current}


def action_list(request):
    action_filter = ActionFilter(request.GET or None, queryset=_actions(request.scope), scope=request.scope)
    page_obj = LargeListPaginator(action_filter.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "actions/list.html",
        {
            "filter": action_filter,
            "page_obj": page_obj,
            "actions": [_with_visibility(action) for action in page_obj.object_list],
            "can_create": can_create_action(request.scope),
            "export_query": query.urlencode(),
            "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
            "breadcrumb_data": {"links": [], "current": "Actions"},
        },
    )


def action_export(request):
    # Columns: the import's (conventions.imports), "Identifiant" first, by which a re-imported row finds its action.
    return csv_export_response(request, action_export_of(request.scope, request.GET))


def action_detail(request, pk):
    action = _with_visibility(get_object_or_404(_actions(request.scope).prefetch_related("partners"), pk=pk))
    return render(
        request,
        "actions/detail.html",
        {
            "action": action,
            "can_edit": can_edit_action(request.user, request.scope, action),
            "can_delete": can_delete_action(request.user, request.scope, action),
            "can_duplicate": can_create_action(request.scope),
            "can_make_practice": practice_services.can_author(request.scope),
            "breadcrumb_data": _crumbs(action.title),
        },
    )


def _save(request, form, partners, action):
    """Save through the service; its refusals go back to the fields. True when saved."""
    try:
        save_action(
            form.save(commit=False),
            companies=form.cleaned_data["companies"],
            qpvs=form.cleaned_data["qpvs"],
            partners=partners_from(partners),
            logged_by=request.user,
            expected_version=form.cleaned_data.get("version"),
        )
    except StaleEditError:
        raise
    except ValidationError as error:
        form.add_error(None, error)
        return False
    return True


def _reloaded(request, action):
    """The form again, unbound but prefilled with what was typed: the national user asked for the QPV
    list of the département just chosen (no error shown, nothing saved)."""
    form = ActionForm(instance=action, scope=request.scope)
    form.initial_from_query(request.POST)
    return form, partner_formset(request.POST)


def _form_page(request, form, partners, action, creating, conflict="", source=None, continued=None):
    return render(
        request,
        "actions/form.html",
        {
            "conflict": conflict,
            "source": source,
            "continued": continued,
            "form": form,
            "partners": partners,
            "action": action,
            "creating": creating,
            "breadcrumb_data": _crumbs("Nouvelle action" if creating else "Modifier", action),
        },
    )


@role_required(*ACTION_WRITERS)
@require_http_methods(["GET", "POST"])
def action_create(request):
    scope = request.scope
    action = Action()
    if scope.is_club:
        action.club_id = scope.organisation_id
    if request.method == "POST" and "show_qpvs" in request.POST:
        form, partners = _reloaded(request, action)
    elif request.method == "POST":
        form = ActionForm(request.POST, instance=action, scope=scope)
        partners = partner_formset(request.POST)
        if form.is_valid() and partners.is_valid() and _save(request, form, partners, action):
            action = form.instance
            messages.success(request, f"L'action « {action.title} » a été enregistrée.")
            if "save_and_new" in request.POST:
                # The next form starts from this one's circumstances (KEPT_FOR_NEXT and the partners).
                return redirect(f"{reverse('actions:create')}?suite={action.pk}")
            return redirect("actions:detail", pk=action.pk)
    else:
        form = ActionForm(instance=action, scope=scope)
        form.initial_from_query(request.GET)
        previous = _visible_action(scope, request.GET.get("suite"))
        if previous is not None:
            form.initial_from_action(previous, KEPT_FOR_NEXT)
            partners = partner_formset(action=previous)
        else:
            partners = partner_formset()
        return _form_page(request, form, partners, None, creating=True, continued=previous)
    return _form_page(request, form, partners, None, creating=True)


def _visible_action(scope, pk):
    """The action the query string names, when this person may see it; None otherwise (a stale or
    foreign id simply gives an empty form)."""
    pk = parse_pk(pk)
    if pk is None:
        return None
    return _actions(scope).prefetch_related("partners").filter(pk=pk).first()


@role_required(*ACTION_WRITERS)
@require_http_methods(["GET"])
def action_duplicate(request, pk):
    """The creation form prefilled with every field of a visible action, date included; it posts to the
    creation view, so nothing is written until the person saves."""
    scope = request.scope
    source = get_object_or_404(_actions(scope).prefetch_related("partners"), pk=pk)
    action = Action()
    if scope.is_club:
        action.club_id = scope.organisation_id
    form = ActionForm(instance=action, scope=scope)
    form.initial_from_action(source, [name for name in form.fields if name != "version"])
    partners = partner_formset(action=source)
    return _form_page(request, form, partners, None, creating=True, source=source)


@require_http_methods(["GET", "POST"])
def action_edit(request, pk):
    scope = request.scope
    action = get_object_or_404(_actions(scope).prefetch_related("partners"), pk=pk)
    if not can_edit_action(request.user, scope, action):
        raise PermissionDenied(
            "Seuls l'auteur de la saisie, la préfecture du département de l'action et le niveau national "
            "peuvent modifier cette action."
        )
    if request.method == "POST" and "show_qpvs" in request.POST:
        form, partners = _reloaded(request, action)
    elif request.method == "POST":
        form = ActionForm(request.POST, instance=action, scope=scope)
        partners = partner_formset(request.POST)
        try:
            if form.is_valid() and partners.is_valid() and _save(request, form, partners, action):
                messages.success(request, f"L'action « {action.title} » a été mise à jour.")
                return redirect("actions:detail", pk=action.pk)
        except StaleEditError as error:
            # Nothing was written: what the person typed comes back, with the current version, so that
            # saving again (after checking the other person's changes) is deliberate.
            data = request.POST.copy()
            data["version"] = str(error.current_version)
            action = get_object_or_404(_actions(scope).prefetch_related("partners"), pk=pk)
            form, partners = ActionForm(data, instance=action, scope=scope), partner_formset(data)
            return _form_page(request, form, partners, action, creating=False, conflict=error.messages[0])
    else:
        form = ActionForm(instance=action, scope=scope)
        partners = partner_formset(action=action)
    return _form_page(request, form, partners, action, creating=False)


@require_http_methods(["GET", "POST"])
def action_delete(request, pk):
    scope = request.scope
    action = get_object_or_404(_actions(scope), pk=pk)
    if not can_delete_action(request.user, scope, action):
        raise PermissionDenied(
            "Seuls l'auteur de la saisie, la préfecture du département de l'action et le niveau national "
            "peuvent supprimer cette action."
        )
    if request.method == "POST":
        title = action.title
        action.delete()
        messages.success(request, f"L'action « {title} » a été supprimée.")
        return redirect("actions:list")
    return render(request, "actions/delete.html", {"action": action, "breadcrumb_data": _crumbs("Supprimer", action)})


def _grid_rows(value):
    """The number of empty rows asked for in the query string (the page works without JavaScript)."""
    number = parse_pk(value)
    return min(number, GRID_MAX_ROWS) if number else GRID_DEFAULT_ROWS


def _grid_choices(scope, departement_id):
    """The rows' company and QPV lists, read once for the whole grid from the same scoped querysets as
    the single form. QPV: those of the chosen département only, the rule every row must meet."""
    probe = GridRowForm(scope=scope)
    companies = [(c.pk, f"{c.name} (SIREN {c.siren})") for c in probe.fields["companies"].queryset]
    qpvs = []
    if departement_id:
        qpv_rows = probe.fields["qpvs"].queryset.filter(departement_id=departement_id)
        qpvs = [(q.pk, f"{q.name} ({q.code})") for q in qpv_rows]
    return {"companies": companies, "qpvs": qpvs}


def _label(form, name):
    field = form.fields.get(name)
    return str(field.label)[:1].upper() + str(field.label)[1:] if field is not None else ""


def _error_summary(shared, formset):
    """Every error of the page in reading order, each linked to the field it concerns (DSFR summary)."""
    items = []
    for name, errors in shared.errors.items():
        anchor = shared[name].auto_id if name in shared.fields else "grid-form"
        prefix = f"{_label(shared, name)} : " if name in shared.fields else ""
        items += [{"text": prefix + error, "anchor": anchor} for error in errors]
    items += [{"text": error, "anchor": "grid-table"} for error in formset.non_form_errors()]
    for number, form in enumerate(formset.forms, start=1):
        for name, errors in form.errors.items():
            anchor = form[name].auto_id if name in form.fields else f"grid-row-{number}"
            prefix = f"Ligne {number}, {_label(form, name).lower()} : " if name in form.fields else f"Ligne {number} : "
            items += [{"text": prefix + error, "anchor": anchor} for error in errors]
    return items


def _grid_formset(request, shared, data=None, rows=GRID_DEFAULT_ROWS):
    scope = request.scope
    valid_header = shared.is_bound and shared.is_valid()
    values = shared.shared_values() if valid_header else {}
    departement = values.get("departement") or shared["departement"].value()
    departement_id = getattr(departement, "pk", departement)
    return grid_formset_class(rows)(
        data,
        prefix="lignes",
        scope=scope,
        shared={key: value for key, value in values.items() if value is not None},
        default_date=shared.cleaned_data.get("default_date") if valid_header else None,
        choices=_grid_choices(scope, parse_pk(departement_id)),
    )


GRID_ADDED_ROWS = 5


def _grid_with_more_rows(request, header):
    """The grid posted back with N more empty rows ("Ajouter des lignes", a plain submit: no JavaScript needed).
    What was typed comes back as typed; nothing is checked or saved yet, so no error is shown."""
    data = request.POST.copy()
    total = parse_pk(data.get("lignes-TOTAL_FORMS")) or 0
    added = min(parse_pk(data.get("ajouter")) or GRID_ADDED_ROWS, GRID_MAX_ROWS)
    new_total = min(total + added, GRID_MAX_ROWS)
    data["lignes-TOTAL_FORMS"] = str(new_total)
    if total + added > GRID_MAX_ROWS:
        messages.info(request, f"Une grille compte au plus {GRID_MAX_ROWS} lignes : enregistrez celles-ci, puis continuez.")
    shared = GridSharedForm(data, instance=header, scope=request.scope)
    # The new rows are bound forms with nothing posted: give them the initial values an empty row shows (counts
    # at 0, a company's own company), else their cells would come up blank and a row filled later would lack them.
    empty = _grid_formset(request, shared, data=data).empty_form
    for index in range(total, new_total):
        for name, field in empty.fields.items():
            initial = empty.get_initial_for_field(field, name)
            key = f"lignes-{index}-{name}"
            if isinstance(initial, list | tuple):
                data.setlist(key, [str(value) for value in initial])
            elif initial not in (None, ""):
                data[key] = str(initial)
    formset = _grid_formset(request, shared, data=data)
    # Bound forms would validate when rendered: mark them checked and clean of errors instead.
    shared._errors = ErrorDict()
    formset._errors, formset._non_form_errors = [], formset.error_class()
    for form in formset.forms:
        form._errors = ErrorDict()
    return shared, formset


@role_required(*ACTION_WRITERS)
@require_http_methods(["GET", "POST"])
def action_grid(request):
    """Several actions of one type at once: a header (type, département, convention, club, a common date)
    and one row per action. Saved all together or not at all; each refusal shown at its row and field."""
    scope = request.scope
    header = Action()
    if scope.is_club:
        header.club_id = scope.organisation_id
    adding = request.method == "POST" and "add_rows" in request.POST
    if adding:
        shared, formset = _grid_with_more_rows(request, header)
        started = True
    elif request.method == "POST":
        shared = GridSharedForm(request.POST, instance=header, scope=scope)
        formset = _grid_formset(request, shared, data=request.POST)
        if shared.is_valid() and formset.is_valid():
            filled = formset.filled_forms()
            rows = [
                (
                    form.save(commit=False),
                    form.cleaned_data["companies"],
                    form.cleaned_data["qpvs"],
                    form.cleaned_data["partners"],
                )
                for form in filled
            ]
            try:
                saved = save_actions(rows, logged_by=request.user)
            except RowRefused as refusal:
                add_service_error(filled[refusal.index], refusal.error)
            else:
                count = len(saved)
                messages.success(
                    request, "1 action a été enregistrée." if count == 1 else f"{count} actions ont été enregistrées."
                )
                return redirect("actions:list")
        started = True
    else:
        shared = GridSharedForm(instance=header, scope=scope)
        shared.initial_from_query(request.GET)
        if request.GET.get("default_date"):
            shared.initial["default_date"] = request.GET["default_date"]
        # The first step (type, département…) is sent by GET: the rows' QPV follow its département.
        started = bool(request.GET.get("action_type"))
        formset = _grid_formset(request, shared, rows=_grid_rows(request.GET.get("lignes")))
    summary = _error_summary(shared, formset) if request.method == "POST" and not adding else []
    return render(
        request,
        "actions/grid.html",
        {
            "shared": shared,
            "formset": formset,
            "started": started,
            "summary": summary,
            "max_rows": GRID_MAX_ROWS,
            "added_rows": GRID_ADDED_ROWS,
            "partners_help": PARTNERS_HELP,
            "breadcrumb_data": _crumbs("Saisie en grille"),
        },
    )
