"""The companies pages: list (with filters and CSV export), detail, create/edit, diagnostics.

Every row comes through the models' `visible_to(scope)`: an object out of scope is a 404; a visible object the
person may not change raises PermissionDenied with a French message, shown by the shared `403.html`
(predicates in `entreprises.permissions`).

The "engagements et réalisations" table is not here: it needs the actions and targets of `conventions`, a
higher app this one never imports. It is the page `conventions:company_commitments`
(`conventions/company_views.py`), linked from the company's detail page.
"""

from types import SimpleNamespace

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from charte.comptes import people
from charte.comptes.forms import InvitationForm
from charte.concurrency import StaleEditError
from charte.web import add_service_error, csv_export_response, parse_pk
from conventions.models import Action, Convention

from . import permissions, services
from .exports import company_export as company_export_of
from .exports import filtered_companies
from .forms import (
    COMMUNES_DATALIST_ID,
    CompanyForm,
    ContactFormSet,
    DiagnosticForm,
    EstablishmentFormSet,
    catalogue_for,
    communes_for_datalist,
)
from .models import Company, Diagnostic, DiagnosticItem

RECENT_ACTIONS = 10


def _breadcrumb(current, *links):
    """DSFR breadcrumb data: the companies list first, then the given (url, title) pairs."""
    items = [{"url": reverse("entreprises:list"), "title": "Entreprises"}] if current != "Entreprises" else []
    items += [{"url": url, "title": title} for url, title in links]
    return {"links": items, "current": current}


def _filtered_companies(request):
    return filtered_companies(request.scope, request.GET)


# --- list and export --------------------------------------------------------------------------------


@require_GET
def company_list(request):
    filterset, companies = _filtered_companies(request)
    page_obj = Paginator(companies, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    export_query = request.GET.copy()
    export_query.pop("page", None)
    return render(
        request,
        "entreprises/company_list.html",
        {
            "filter": filterset,
            "page_obj": page_obj,
            "companies": page_obj.object_list,
            "export_query": export_query.urlencode(),
            "can_create": permissions.can_create_company(request.scope),
            "breadcrumb_data": _breadcrumb("Entreprises"),
        },
    )


@require_GET
def company_export(request):
    """One row per establishment, in the columns the import reads (entreprises.table)."""
    return csv_export_response(request, company_export_of(request.scope, request.GET))


# --- detail -------------------------------------------------------------------------------------------


@require_GET
def company_detail(request, pk):
    scope = request.scope
    company = get_object_or_404(
        Company.objects.visible_to(scope)
        .select_related("commune__departement", "parent", "organisation")
        .prefetch_related("labels"),
        pk=pk,
    )
    diagnostics = list(
        Diagnostic.objects.visible_to(scope).filter(company=company).select_related("club").order_by("-date", "-pk")
    )
    latest_diagnostic = diagnostics[0] if diagnostics else None
    latest_items = []
    if latest_diagnostic is not None:
        latest_items = list(_items_in_catalogue_order(latest_diagnostic))
    # The conventions and actions this person may see, reached by the reverse relations of the company.
    conventions = (
        Convention.objects.visible_to(scope)
        .filter(pk__in=company.conventions.values("pk"))
        .select_related("departement", "club")
        .order_by("-start_date", "reference")
    )
    actions_qs = Action.objects.visible_to(scope).filter(pk__in=company.actions.values("pk"))
    actions = list(actions_qs.select_related("action_type", "departement").order_by("-start_date", "-pk")[:RECENT_ACTIONS])
    today = timezone.localdate()
    memberships = list(company.club_memberships.select_related("club").order_by("-start_date"))
    for membership in memberships:
        membership.is_current = membership.start_date <= today and (membership.end_date is None or membership.end_date >= today)
    context = {
        "company": company,
        "establishments": company.establishments.select_related("commune"),
        # Not "memberships": the base template's organisation switcher reads that name.
        "club_memberships": memberships,
        "contacts": company.contacts.all(),
        "diagnostics": diagnostics,
        "latest_diagnostic": latest_diagnostic,
        "latest_by_family": _group_by_family(latest_items),
        "conventions": conventions,
        "actions": actions,
        "actions_count": actions_qs.count(),
        "can_edit": permissions.can_edit_company(scope, company),
        "can_diagnose": permissions.can_create_diagnostic(scope, company),
        "can_invite_people": permissions.can_invite_people(scope, company),
        "can_manage_contact_data": permissions.can_manage_contact_data(scope, company),
        "can_see_members": company.organisation_id is not None
        and (people.can_manage_members(scope, company.organisation) or people.can_invite(scope, company.organisation)),
        "breadcrumb_data": _breadcrumb(company.name),
    }
    return render(request, "entreprises/company_detail.html", context)


def _items_in_catalogue_order(diagnostic):
    return diagnostic.items.select_related("action_type__family").order_by(
        "action_type__family__position", "action_type__family__code", "action_type__label"
    )


def _group_by_family(items):
    groups = []
    for item in items:
        family = item.action_type.family
        if not groups or groups[-1]["family"] != family:
            groups.append({"family": family, "items": []})
        groups[-1]["items"].append(item)
    return groups


# --- inviting people to the company's account ------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def company_invite(request, pk):
    """Invite a person (one of the declared contacts, or anybody) to become a user of the company's account;
    the account is created with the invitation when the company has none yet."""
    scope = request.scope
    company = get_object_or_404(Company.objects.visible_to(scope).select_related("organisation"), pk=pk)
    if not permissions.can_invite_people(scope, company):
        raise PermissionDenied("Vous pouvez consulter cette entreprise, mais pas inviter de personne dans son compte.")
    contacts = company.contacts.all()
    contact = None
    if request.method == "GET":
        contact = contacts.filter(pk=parse_pk(request.GET.get("contact"))).first()
    initial = {"role": "admin" if company.organisation_id is None else "member"}
    if contact is not None:
        initial.update(email=contact.email, first_name=contact.first_name, last_name=contact.last_name)
    form = InvitationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation = services.invite_to_company(
                company, data["email"], data["role"], request.user, first_name=data["first_name"], last_name=data["last_name"]
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                f"Invitation envoyée à {invitation.email} pour le compte « {invitation.organisation} » : le lien est "
                f"valable jusqu'au {invitation.expires_at:%d/%m/%Y} et ne sert qu'une fois.",
            )
            return redirect("entreprises:detail", pk=company.pk)
    organisation = company.organisation or SimpleNamespace(name=f"le compte de {company.name}")
    return render(
        request,
        "comptes/invite_form.html",
        {
            "form": form,
            "organisation": organisation,
            "contact": contact,
            "company": company,
            "validity_days": settings.INVITATION_VALIDITY_DAYS,
            "cancel_url": reverse("entreprises:detail", args=[company.pk]),
            "breadcrumb_data": _breadcrumb(
                "Inviter une personne", (reverse("entreprises:detail", args=[company.pk]), company.name)
            ),
        },
    )


# --- create and edit ------------------------------------------------------------------------------------


def _territory_error(scope, form, establishments):
    """A préfecture must keep the company it creates in its territory, or it would lose sight of it."""
    if not scope.is_prefecture:
        return None
    communes = [form.cleaned_data.get("commune")]
    communes += [
        f.cleaned_data.get("commune")
        for f in establishments.forms
        if getattr(f, "cleaned_data", None) and not establishments._should_delete_form(f)
    ]
    if any(c is not None and c.departement_id in scope.departement_ids for c in communes):
        return None
    return (
        "Indiquez une commune de l'un de vos départements pour le siège ou pour un établissement : "
        "sinon l'entreprise sortirait de votre périmètre."
    )


def _company_forms(scope, data, company):
    form = CompanyForm(data, instance=company, scope=scope)
    establishments_qs = company.establishments.select_related("commune") if company else None
    establishments = EstablishmentFormSet(data, instance=company, prefix="etablissements", queryset=establishments_qs)
    contacts = ContactFormSet(data, instance=company, prefix="contacts")
    return form, establishments, contacts


def _company_form_page(request, company=None):
    scope = request.scope
    creating = company is None
    data = request.POST if request.method == "POST" else None
    form, establishments, contacts = _company_forms(scope, data, company)
    conflict = ""
    if request.method == "POST":
        form_ok = form.is_valid()
        establishments.siren = form.cleaned_data.get("siren") if form_ok else (company.siren if company else None)
        formsets_ok = establishments.is_valid() & contacts.is_valid()
        if form_ok and formsets_ok and creating:
            error = _territory_error(scope, form, establishments)
            if error:
                form.add_error("commune", error)
                form_ok = False
        if form_ok and formsets_ok:
            try:
                company = services.save_company(
                    form,
                    [establishments, contacts],
                    joining_club_id=scope.organisation_id if scope.is_club else None,
                    by=request.user,
                    expected_version=form.cleaned_data.get("version"),
                )
            except StaleEditError as error:
                # Nothing was written: what the person typed comes back, with the current version, so that
                # saving again (after checking the other person's changes) is deliberate.
                data = request.POST.copy()
                data["version"] = str(error.current_version)
                company = type(company).objects.select_related("commune").get(pk=company.pk)
                form, establishments, contacts = _company_forms(scope, data, company)
                conflict = error.messages[0]
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request, "L'entreprise a été créée." if creating else "Les modifications de l'entreprise sont enregistrées."
                )
                return redirect("entreprises:detail", pk=company.pk)
    return render(
        request,
        "entreprises/company_form.html",
        {
            "form": form,
            "establishments": establishments,
            "contacts": contacts,
            "company": company,
            "creating": creating,
            "communes": communes_for_datalist(scope),
            "communes_datalist_id": COMMUNES_DATALIST_ID,
            "has_errors": not conflict
            and bool(form.errors or establishments.total_error_count() or contacts.total_error_count()),
            "conflict": conflict,
            "breadcrumb_data": _breadcrumb("Ajouter une entreprise")
            if creating
            else _breadcrumb("Modifier", (reverse("entreprises:detail", args=[company.pk]), company.name)),
        },
    )


@require_http_methods(["GET", "POST"])
def company_create(request):
    if not permissions.can_create_company(request.scope):
        raise PermissionDenied("Votre organisation ne peut pas créer d'entreprise dans le portail.")
    return _company_form_page(request)


@require_http_methods(["GET", "POST"])
def company_edit(request, pk):
    company = get_object_or_404(Company.objects.visible_to(request.scope).select_related("commune"), pk=pk)
    if not permissions.can_edit_company(request.scope, company):
        raise PermissionDenied("Vous pouvez consulter cette entreprise, mais pas la modifier.")
    return _company_form_page(request, company)


# --- diagnostics ---------------------------------------------------------------------------------------


def _diagnostic_form_page(request, company, diagnostic=None):
    scope = request.scope
    data = request.POST if request.method == "POST" else None
    initial = {} if diagnostic else {"date": timezone.localdate()}
    form = DiagnosticForm(data, instance=diagnostic, initial=initial, scope=scope, action_types=catalogue_for(diagnostic))
    if request.method == "POST" and form.is_valid():
        club_id = scope.organisation_id if scope.is_club else getattr(form.cleaned_data.get("club"), "pk", None)
        try:
            diagnostic = services.save_diagnostic(
                company=company,
                date=form.cleaned_data["date"],
                club_id=club_id,
                comment=form.cleaned_data["comment"],
                author=request.user,
                answers=form.answers(),
                diagnostic=diagnostic,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Le diagnostic est enregistré.")
            return redirect("entreprises:diagnostic_detail", pk=diagnostic.pk)
    return render(
        request,
        "entreprises/diagnostic_form.html",
        {
            "form": form,
            "company": company,
            "diagnostic": diagnostic,
            "breadcrumb_data": _breadcrumb(
                "Modifier le diagnostic" if diagnostic else "Nouveau diagnostic",
                (reverse("entreprises:detail", args=[company.pk]), company.name),
            ),
        },
    )


@require_http_methods(["GET", "POST"])
def diagnostic_create(request, company_pk):
    company = get_object_or_404(Company.objects.visible_to(request.scope), pk=company_pk)
    if not permissions.can_create_diagnostic(request.scope, company):
        raise PermissionDenied(
            "Seuls la préfecture, le niveau national ou un club dont l'entreprise est membre peuvent enregistrer son diagnostic.",
        )
    return _diagnostic_form_page(request, company)


def _scoped_diagnostic(request, pk):
    return get_object_or_404(Diagnostic.objects.visible_to(request.scope).select_related("company", "club", "author"), pk=pk)


@require_http_methods(["GET", "POST"])
def diagnostic_edit(request, pk):
    diagnostic = _scoped_diagnostic(request, pk)
    if not permissions.can_edit_diagnostic(request.scope, diagnostic):
        raise PermissionDenied("Vous pouvez consulter ce diagnostic, mais pas le modifier.")
    return _diagnostic_form_page(request, diagnostic.company, diagnostic)


@require_GET
def diagnostic_detail(request, pk):
    diagnostic = _scoped_diagnostic(request, pk)
    items = list(_items_in_catalogue_order(diagnostic))
    counts = {status: sum(1 for item in items if item.status == status) for status in DiagnosticItem.Status.values}
    return render(
        request,
        "entreprises/diagnostic_detail.html",
        {
            "diagnostic": diagnostic,
            "company": diagnostic.company,
            "by_family": _group_by_family(items),
            "doing_count": counts[DiagnosticItem.Status.DOING],
            "wants_count": counts[DiagnosticItem.Status.WANTS],
            "not_concerned_count": counts[DiagnosticItem.Status.NOT_CONCERNED],
            "can_edit": permissions.can_edit_diagnostic(request.scope, diagnostic),
            "can_prepare_convention": permissions.can_prepare_convention(request.scope, diagnostic.company),
            "breadcrumb_data": _breadcrumb(
                f"Diagnostic du {diagnostic.date:%d/%m/%Y}",
                (reverse("entreprises:detail", args=[diagnostic.company.pk]), diagnostic.company.name),
            ),
        },
    )
