"""The pages of the annual campaigns: campaigns (list, opening, detail with the expected declarations),
the declaration page (filling, evidence, validation, reopening, history), the completeness report and the
history of a convention. Thin: rows come from the models' `visible_to(scope)`, rights from `permissions`, every
write from `services`. Out of scope answers 404; visible but not allowed answers 403 with a French message.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from charte.territoires.models import Departement
from charte.web import add_service_error, csv_response
from conventions.models import Convention

from ..models import Campaign, Declaration, Evidence
from . import history, notifications, permissions, services
from .filters import AllDeclarationsFilter, CampaignFilter, DeclarationFilter
from .forms import CampaignForm, CompletenessFilterForm, DeclarationForm, EvidenceForm, ReopenForm, ReturnForm, show_number

Status = Declaration.Status


def _refuse_unless_campaign_pages(request):
    # Partners follow aggregates only: no campaign or declaration page exists for them, not even a refusal.
    if request.scope.kind is None or request.scope.is_partner:
        raise Http404("Page introuvable.")


def _forbidden(request, message, declaration=None, campaign=None):
    campaign = campaign or (declaration.campaign if declaration is not None else None)
    context = {"message": message, "declaration": declaration, "campaign": campaign}
    return render(request, "evaluation/forbidden.html", context, status=403)


def _plural(count, words):
    """« 1 déclaration attendue », « 3 déclarations attendues »: every word of `words` takes the plural."""
    if count > 1:
        words = " ".join(f"{word}s" for word in words.split())
    return f"{count} {words}"


def _page(request, items):
    return Paginator(items, settings.PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request):
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _status_counts(queryset):
    return queryset.order_by().aggregate(
        total=Count("pk"),
        draft=Count("pk", filter=Q(status=Status.DRAFT)),
        submitted=Count("pk", filter=Q(status=Status.SUBMITTED)),
        validated=Count("pk", filter=Q(status=Status.VALIDATED)),
        returned=Count("pk", filter=Q(status=Status.RETURNED)),
    )


def _declaration_rows(queryset):
    """The columns of the declaration tables, with the number of values entered, in one query per page."""
    # A GROUP BY query ignores Meta.ordering: the pages need a stable order to paginate.
    return (
        queryset.select_related("campaign", "company", "convention", "convention__club")
        .annotate(filled=Count("values", filter=Q(values__value__isnull=False)))
        .order_by("company__name", "convention__reference", "pk")
    )


# --- campaigns ---------------------------------------------------------------------------------------


def campaign_list(request):
    _refuse_unless_campaign_pages(request)
    scope = request.scope
    visible = Declaration.objects.visible_to(scope).filter(campaign=OuterRef("pk")).order_by().values("campaign")
    expected = visible.annotate(n=Count("pk")).values("n")
    to_validate = visible.filter(status=Status.SUBMITTED).annotate(n=Count("pk")).values("n")
    queryset = (
        Campaign.objects.visible_to(scope)
        .select_related("organisation")
        .prefetch_related(Prefetch("departements", queryset=Departement.objects.order_by("code")))
        .annotate(
            expected=Coalesce(Subquery(expected, output_field=IntegerField()), Value(0)),
            to_validate=Coalesce(Subquery(to_validate, output_field=IntegerField()), Value(0)),
        )
    )
    filterset = CampaignFilter(request.GET or None, queryset=queryset, request=request)
    page_obj = _page(request, filterset.qs)
    return render(
        request,
        "evaluation/campaign_list.html",
        {
            "filter": filterset,
            "page_obj": page_obj,
            "campaigns": page_obj.object_list,
            "can_create": permissions.may_open_campaigns(scope),
            "today": timezone.localdate(),
        },
    )


def campaign_create(request):
    _refuse_unless_campaign_pages(request)
    scope = request.scope
    if not permissions.may_open_campaigns(scope):
        return _forbidden(request, "Seule une préfecture (pour ses départements) ou le niveau national peut ouvrir une campagne.")
    form = CampaignForm(request.POST or None, scope=scope)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = services.open_campaign(
                request.organisation,
                request.user,
                data["year"],
                data["title"],
                data["opens_on"],
                data["reminder_on"],
                data["closes_on"],
                departements=list(data["departements"]),
            )
        except PermissionDenied as error:
            return _forbidden(request, str(error))
        except ValidationError as error:
            add_service_error(form, error)
        else:
            count = campaign.declarations.count()
            messages.success(request, f"La campagne « {campaign} » est ouverte : {_plural(count, 'déclaration attendue')}.")
            return redirect("evaluation:campaign_detail", pk=campaign.pk)
    return render(request, "evaluation/campaign_form.html", {"form": form})


def _campaign_or_404(request, pk):
    _refuse_unless_campaign_pages(request)
    return get_object_or_404(Campaign.objects.visible_to(request.scope).select_related("organisation", "created_by"), pk=pk)


def campaign_detail(request, pk):
    campaign = _campaign_or_404(request, pk)
    scope = request.scope
    base = Declaration.objects.visible_to(scope).filter(campaign=campaign)
    filterset = DeclarationFilter(request.GET or None, queryset=_declaration_rows(base), request=request)
    page_obj = _page(request, filterset.qs)
    return render(
        request,
        "evaluation/campaign_detail.html",
        {
            "campaign": campaign,
            "departements": campaign.departements.order_by("code"),
            "filter": filterset,
            "page_obj": page_obj,
            "declarations": page_obj.object_list,
            "counts": _status_counts(base),
            "can_manage": permissions.can_manage_campaign(scope, campaign),
            "can_see_completeness": not scope.is_company,
            "can_import_values": scope.is_company,
            "today": timezone.localdate(),
        },
    )


@require_POST
def campaign_sync(request, pk):
    campaign = _campaign_or_404(request, pk)
    if not permissions.can_manage_campaign(request.scope, campaign):
        return _forbidden(
            request,
            "Seuls la préfecture qui a ouvert la campagne et le niveau national peuvent mettre à jour les déclarations "
            "attendues.",
            campaign=campaign,
        )
    created = services.sync_expected_declarations(campaign, by=request.user)
    if created:
        messages.success(request, f"{_plural(created, 'déclaration attendue ajoutée')}.")
    else:
        messages.info(request, "Les déclarations attendues étaient déjà à jour : aucune n'a été ajoutée.")
    return redirect("evaluation:campaign_detail", pk=campaign.pk)


def declaration_list(request):
    """Every declaration the person may see, across campaigns (the dashboard links here)."""
    _refuse_unless_campaign_pages(request)
    queryset = _declaration_rows(Declaration.objects.visible_to(request.scope)).order_by(
        "-year", "company__name", "convention__reference", "pk"
    )
    filterset = AllDeclarationsFilter(request.GET or None, queryset=queryset, request=request)
    page_obj = _page(request, filterset.qs)
    return render(
        request,
        "evaluation/declaration_list.html",
        {"filter": filterset, "page_obj": page_obj, "declarations": page_obj.object_list},
    )


# --- completeness ------------------------------------------------------------------------------------


def _completeness(request, pk):
    campaign = _campaign_or_404(request, pk)
    if request.scope.is_company:
        return campaign, None, None, None
    data = services.completeness(campaign, request.scope)
    filter_form = CompletenessFilterForm(request.GET or None)
    companies = [row for row in data["by_company"] if filter_form.keep(row)]
    return campaign, data, filter_form, companies


@require_POST
def completeness_remind(request, pk):
    """Remind every company still missing, after a confirmation page that says how many will receive it."""
    campaign = _campaign_or_404(request, pk)
    if request.scope.is_company:
        return _forbidden(request, COMPLETENESS_REFUSED, campaign=campaign)
    today = timezone.localdate()
    plan = notifications.manual_reminder_plan(campaign, request.scope, today)
    if plan.event is None:
        messages.error(request, f"La campagne ouvre le {campaign.opens_on:%d/%m/%Y} : aucune relance avant son ouverture.")
        return redirect("evaluation:completeness", pk=campaign.pk)
    if not plan.groups:
        messages.info(request, "Aucune entreprise à relancer : toutes les déclarations attendues sont transmises.")
        return redirect("evaluation:completeness", pk=campaign.pk)
    if "confirm" not in request.POST:
        return render(request, "evaluation/completeness_remind.html", {"campaign": campaign, "plan": plan})
    sent, already = notifications.send_manual_reminder(campaign, plan, today)
    parts = [f"Relance envoyée à {_plural(sent, 'entreprise')}." if sent else "Aucune relance n'est partie."]
    if already:
        reminded = f"{_plural(already, 'entreprise')} déjà {_plural(already, 'relancée').split()[1]}"
        parts.append(f"{reminded} aujourd'hui depuis le portail : rien de plus ne part.")
    if plan.unreachable:
        parts.append(f"{_plural(len(plan.unreachable), 'entreprise')} sans destinataire : ajoutez un contact sur sa fiche.")
    (messages.success if sent else messages.info)(request, " ".join(parts))
    return redirect("evaluation:completeness", pk=campaign.pk)


COMPLETENESS_REFUSED = "Le suivi de complétude d'une campagne est réservé aux préfectures, aux clubs et au niveau national."


def completeness(request, pk):
    campaign, data, filter_form, companies = _completeness(request, pk)
    if data is None:
        return _forbidden(request, COMPLETENESS_REFUSED, campaign=campaign)
    page_obj = _page(request, companies)
    return render(
        request,
        "evaluation/completeness.html",
        {
            "campaign": campaign,
            "total": data["total"],
            "by_club": data["by_club"],
            "filter_form": filter_form,
            "page_obj": page_obj,
            "companies": page_obj.object_list,
            "export_query": _query_without_page(request),
        },
    )


def completeness_export(request, pk):
    campaign, data, _, companies = _completeness(request, pk)
    if data is None:
        return _forbidden(request, COMPLETENESS_REFUSED, campaign=campaign)
    header = ["Regroupement", "Nom", "Attendues", "Manquantes", "En brouillon", "Transmises", "Validées", "Renvoyées"]

    def row(group, item):
        return [group, item.name, item.expected, item.missing, item.draft, item.submitted, item.validated, item.returned]

    rows = [row("Total", data["total"])]
    rows += [row("Club", item) for item in data["by_club"]]
    rows += [row("Entreprise", item) for item in companies]
    return csv_response(f"completude-campagne-{campaign.year}", header, rows)


# --- the declaration page ------------------------------------------------------------------------------


def _declaration_or_404(request, pk):
    _refuse_unless_campaign_pages(request)
    queryset = Declaration.objects.visible_to(request.scope).select_related(
        "campaign",
        "convention",
        "convention__club",
        "convention__departement",
        "company",
        "submitted_by",
        "validated_by",
        "returned_by",
        "reopened_by",
        "updated_by",
    )
    return get_object_or_404(queryset, pk=pk)


@dataclass
class Row:
    line: object
    value_field: object
    comment_field: object

    @property
    def saved_value(self):
        return show_number(self.line.value)

    @property
    def gap(self):
        """Declared (saved) minus computed, None when one of them is missing."""
        if self.line.value is None or self.line.computed is None:
            return None
        return self.line.value - Decimal(self.line.computed)

    @property
    def gap_text(self):
        line = self.line
        if line.computed is None:
            return "Non calculée : les actions saisies ne renseignent pas cet indicateur."
        if line.value is None:
            return "Pas encore de valeur déclarée à comparer."
        gap = self.gap
        if gap == 0:
            return "Identique à la valeur calculée d'après les actions."
        sign = "+" if gap > 0 else "−"
        return f"Écart de {sign}{show_number(abs(gap))} entre la valeur déclarée et les actions saisies."


@dataclass
class CommitmentBlock:
    commitment: object
    rows: list


def _blocks(lines, form):
    rows = form.rows() if form is not None else [(line, None, None) for line in lines]
    blocks = []
    for line, value_field, comment_field in rows:
        if not blocks or blocks[-1].commitment.pk != line.commitment.pk:
            blocks.append(CommitmentBlock(line.commitment, []))
        blocks[-1].rows.append(Row(line, value_field, comment_field))
    return blocks


def _render_declaration(
    request,
    declaration,
    *,
    lines=None,
    form=None,
    upload_form=None,
    return_form=None,
    reopen_form=None,
    conflict=None,
    refusal=None,
):
    scope = request.scope
    today = timezone.localdate()
    lines = services.expected_lines(declaration) if lines is None else lines
    may_fill = permissions.can_edit_declaration(scope, declaration)
    editable = may_fill and services.can_be_edited(declaration, today)
    if editable and form is None:
        form = DeclarationForm(lines=lines, initial={"version": declaration.version})
    elif not editable and form is not None and not form.is_bound:
        form = None
    locked = declaration.is_locked(today)
    may_validate = not scope.is_company and permissions.can_validate_declaration(scope, declaration)
    submitted = declaration.status == Status.SUBMITTED
    may_reopen = permissions.can_reopen_declaration(scope, declaration)
    context = {
        "declaration": declaration,
        "campaign": declaration.campaign,
        "blocks": _blocks(lines, form if editable else None),
        "form": form if editable else None,
        "conflict": conflict,
        "refusal": refusal,
        "may_fill": may_fill,
        "editable": editable,
        "locked": locked,
        "not_open_yet": today < declaration.campaign.opens_on,
        "evidence_files": declaration.evidence_files.select_related("uploaded_by"),
        "upload_form": upload_form or (EvidenceForm() if editable else None),
        "can_validate": may_validate and submitted,
        # After the close, returning also reopens the declaration (services.return_declaration): the préfecture's.
        "can_return": may_validate and submitted and (not locked or permissions.can_reopen_declaration(scope, declaration)),
        "return_needs_prefecture": may_validate
        and submitted
        and locked
        and not permissions.can_reopen_declaration(scope, declaration),
        "return_form": return_form or ReturnForm(),
        "can_reopen": may_reopen and locked,
        "reopen_form": reopen_form or ReopenForm(),
        # A save that only bumped the version (the values changed are their own entries) says nothing to a reader.
        "history": [e for e in history.declaration_history(declaration) if e.changes or e.kind != "Modification"],
        "year": declaration.year,
        "previous_year": declaration.year - 1,
    }
    return render(request, "evaluation/declaration.html", context)


def declaration(request, pk):
    declaration = _declaration_or_404(request, pk)
    if request.method == "POST":
        return _save_declaration(request, declaration)
    return _render_declaration(request, declaration)


def _save_declaration(request, declaration):
    scope = request.scope
    if not permissions.can_edit_declaration(scope, declaration):
        return _forbidden(request, "Seule l'entreprise concernée peut remplir sa déclaration.", declaration=declaration)
    lines = services.expected_lines(declaration)
    form = DeclarationForm(request.POST, lines=lines)
    if not form.is_valid():
        return _render_declaration(request, declaration, lines=lines, form=form)
    try:
        changed = services.save_draft(declaration, request.user, form.service_values(), form.cleaned_data["version"], scope=scope)
    except services.ConcurrentEditError as error:
        # The second person keeps what they typed; the version becomes the current one, so that saving again
        # (after checking what the first person changed, shown beside each field) is a deliberate choice.
        data = request.POST.copy()
        data["version"] = str(error.current_version)
        declaration.refresh_from_db()
        form = DeclarationForm(data, lines=services.expected_lines(declaration))
        form.is_valid()
        return _render_declaration(request, declaration, lines=form.lines, form=form, conflict=error.messages[0])
    except ValidationError as error:
        add_service_error(form, error)
        return _render_declaration(request, declaration, lines=lines, form=form, refusal=form.non_field_errors())
    except PermissionDenied as error:
        return _forbidden(request, str(error), declaration=declaration)

    if "submit" not in request.POST:
        if changed:
            messages.success(request, f"Brouillon enregistré : {_plural(changed, 'valeur modifiée')}.")
        else:
            messages.info(request, "Aucune modification à enregistrer.")
        return redirect("evaluation:declaration", pk=declaration.pk)
    try:
        services.submit(declaration, request.user, scope=scope, expected_version=declaration.version)
    except ValidationError as error:
        saved = "Vos valeurs sont enregistrées en brouillon, mais la" if changed else "La"
        messages.error(request, f"{saved} déclaration n'a pas été transmise : {' '.join(error.messages)}")
    else:
        _tell(request, "Déclaration transmise : le club animateur ou la préfecture va la vérifier. ", declaration, "submitted")
    return redirect("evaluation:declaration", pk=declaration.pk)


# --- evidence --------------------------------------------------------------------------------------------


@require_POST
def evidence_upload(request, pk):
    declaration = _declaration_or_404(request, pk)
    if not permissions.can_edit_declaration(request.scope, declaration):
        return _forbidden(request, "Seule l'entreprise concernée peut déposer des justificatifs.", declaration=declaration)
    upload_form = EvidenceForm(request.POST, request.FILES)
    if upload_form.is_valid():
        try:
            item = services.add_evidence(declaration, request.user, upload_form.cleaned_data["file"], scope=request.scope)
        except ValidationError as error:
            add_service_error(upload_form, error)
        else:
            messages.success(request, f"Justificatif « {item.original_name} » ajouté.")
            return redirect(reverse("evaluation:declaration", args=[declaration.pk]) + "#justificatifs")
    return _render_declaration(request, declaration, upload_form=upload_form)


def _evidence_or_404(request, pk):
    _refuse_unless_campaign_pages(request)
    visible = Evidence.objects.filter(declaration__in=Declaration.objects.visible_to(request.scope).values("pk"))
    return get_object_or_404(visible.select_related("declaration"), pk=pk)


def evidence_download(request, pk):
    """Evidence is not public: served here after the scope check, never from MEDIA_URL."""
    item = _evidence_or_404(request, pk)
    try:
        handle = item.file.open("rb")
    except (FileNotFoundError, ValueError) as error:
        raise Http404("Le fichier de ce justificatif est introuvable.") from error
    return FileResponse(handle, as_attachment=True, filename=item.original_name, content_type=item.content_type)


@require_POST
def evidence_delete(request, pk):
    item = _evidence_or_404(request, pk)
    declaration = _declaration_or_404(request, item.declaration_id)
    if not permissions.can_edit_declaration(request.scope, declaration):
        return _forbidden(request, "Seule l'entreprise concernée peut retirer ses justificatifs.", declaration=declaration)
    try:
        services.delete_evidence(item, request.user, scope=request.scope)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Justificatif « {item.original_name} » retiré.")
    return redirect(reverse("evaluation:declaration", args=[declaration.pk]) + "#justificatifs")


# --- validation -------------------------------------------------------------------------------------------


def _tell(request, done, declaration, event):
    """The truth about the notification just recorded: who receives an e-mail, who only the in-portal
    notification, or (a warning) that nobody could be told; the same recipients as the notification itself."""
    recipients = notifications.declaration_event_recipients(declaration, event)
    level = messages.success if recipients else messages.warning
    level(request, done + notifications.describe(recipients, event))


def _confirm(request, declaration, decision, comment=""):
    """The confirmation step of a validation or a return: what will happen, then one button that posts again with
    `confirm` (the comment typed travels in a hidden field). Works without JavaScript."""
    today = timezone.localdate()
    return render(
        request,
        "evaluation/declaration_confirm.html",
        {
            "declaration": declaration,
            "campaign": declaration.campaign,
            "year": declaration.year,
            "decision": decision,
            "comment": comment,
            "reopens": decision == "return" and declaration.is_locked(today),
        },
    )


NOT_VALIDATOR = (
    "Seuls le club animateur de la convention, la préfecture du département de la convention et le niveau "
    "national peuvent valider ou renvoyer une déclaration."
)


@require_POST
def declaration_validate(request, pk):
    declaration = _declaration_or_404(request, pk)
    if request.scope.is_company or not permissions.can_validate_declaration(request.scope, declaration):
        return _forbidden(request, NOT_VALIDATOR, declaration=declaration)
    if "confirm" not in request.POST:
        return _confirm(request, declaration, "validate")
    try:
        services.validate(declaration, request.user, request.scope)
    except PermissionDenied as error:
        return _forbidden(request, str(error), declaration=declaration)
    except ValidationError as error:
        messages.error(request, "La déclaration n'a pas été validée : " + " ".join(error.messages))
    else:
        _tell(request, "Déclaration validée. ", declaration, "validated")
    return redirect("evaluation:declaration", pk=declaration.pk)


@require_POST
def declaration_return(request, pk):
    declaration = _declaration_or_404(request, pk)
    if request.scope.is_company or not permissions.can_validate_declaration(request.scope, declaration):
        return _forbidden(request, NOT_VALIDATOR, declaration=declaration)
    form = ReturnForm(request.POST)
    if form.is_valid() and "confirm" not in request.POST:
        return _confirm(request, declaration, "return", comment=form.cleaned_data["comment"])
    if form.is_valid():
        try:
            services.return_declaration(declaration, request.user, request.scope, form.cleaned_data["comment"])
        except PermissionDenied as error:
            return _forbidden(request, str(error), declaration=declaration)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            _tell(request, "Déclaration renvoyée à l'entreprise avec votre commentaire. ", declaration, "returned")
            return redirect("evaluation:declaration", pk=declaration.pk)
    declaration.refresh_from_db()
    return _render_declaration(request, declaration, return_form=form)


@require_POST
def declaration_reopen(request, pk):
    declaration = _declaration_or_404(request, pk)
    if not permissions.can_reopen_declaration(request.scope, declaration):
        return _forbidden(
            request,
            "Seule la préfecture du département ou le niveau national peut rouvrir une déclaration.",
            declaration=declaration,
        )
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            services.reopen(declaration, request.user, request.scope, form.cleaned_data["reason"])
        except PermissionDenied as error:
            return _forbidden(request, str(error), declaration=declaration)
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Déclaration rouverte : l'entreprise peut de nouveau la modifier puis la transmettre.")
            return redirect("evaluation:declaration", pk=declaration.pk)
    declaration.refresh_from_db()
    return _render_declaration(request, declaration, reopen_form=form)


# --- history of a convention --------------------------------------------------------------------------


def convention_history(request, pk):
    """Linked from the convention page (the conventions app does not import evaluation)."""
    _refuse_unless_campaign_pages(request)
    convention = get_object_or_404(Convention.objects.visible_to(request.scope), pk=pk)
    page_obj = _page(request, history.convention_history(convention))
    return render(
        request,
        "evaluation/convention_history.html",
        {"convention": convention, "page_obj": page_obj, "entries": page_obj.object_list},
    )
