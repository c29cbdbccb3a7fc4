"""The convention pages: list and CSV export, detail, create/edit with commitments and targets, and one
page per lifecycle step. Thin: rows come from the models' `visible_to(scope)`, rights from `permissions`, writes
from `services`. Out of scope answers 404; visible but not allowed answers 403 with a French message.
"""

import os
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render

from charte.catalogue.models import ActionType
from charte.comptes.models import Organisation
from charte.concurrency import StaleEditError
from charte.territoires.models import Departement
from charte.web import add_service_error, csv_export_response, parse_pk
from entreprises.models import Company, Diagnostic, DiagnosticItem

from . import permissions, services
from .exports import convention_export, convention_queryset
from .forms import ConfirmForm, ConventionEditor, RenewForm, SignatoryFormSet, SignForm, TerminateForm
from .models import Action, Convention, ConventionDocument, Target

# Renewal chains are short (one convention every one to three years); the bound keeps the page's
# number of queries finite even if bad data made a very long one.
MAX_CHAIN = 10


def _visible_or_404(request, pk, queryset=None):
    queryset = Convention.objects.visible_to(request.scope) if queryset is None else queryset
    return get_object_or_404(queryset, pk=pk)


def _refuse_unless_convention_pages(request):
    # Partners follow aggregates only: no convention page exists for them, not even a refusal.
    if request.scope.kind is None or request.scope.is_partner:
        raise Http404("Page introuvable.")


# --- list and export -----------------------------------------------------------------------------------


def _filtered(request):
    return convention_queryset(request.scope, request.GET)


def convention_list(request):
    filterset = _filtered(request)
    page_obj = Paginator(filterset.qs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "conventions/list.html",
        {
            "filter": filterset,
            "page_obj": page_obj,
            "conventions": page_obj.object_list,
            "export_query": query.urlencode(),
            "can_create": permissions.can_create_convention(request.scope),
        },
    )


def export(request):
    return csv_export_response(request, convention_export(request.scope, request.GET))


# --- detail --------------------------------------------------------------------------------------------


@dataclass
class CommitmentTable:
    commitment: object
    years: list
    rows: list  # (indicator, [value or None per year])


def _commitment_tables(convention, commitments):
    tables = []
    for commitment in commitments:
        targets = list(commitment.targets.all())
        years = sorted(set(convention.years) | {t.year for t in targets})
        values = {(t.indicator_id, t.year): t.value for t in targets}
        indicators = sorted({t.indicator for t in targets}, key=lambda i: i.label)
        rows = [(indicator, [values.get((indicator.pk, year)) for year in years]) for indicator in indicators]
        tables.append(CommitmentTable(commitment, years, rows))
    return tables


def _renewal_chain(scope, convention):
    """(predecessors oldest first, successors in order), limited to the conventions this person may see."""
    fields = ("pk", "reference", "title", "status", "start_date", "end_date", "predecessor_id")
    predecessors, successors, seen = [], [], {convention.pk}
    current = convention.predecessor_id
    while current and current not in seen and len(predecessors) < MAX_CHAIN:
        row = Convention.objects.filter(pk=current).values(*fields).first()
        if row is None:
            break
        predecessors.insert(0, row)
        seen.add(current)
        current = row["predecessor_id"]
    current = convention.pk
    while len(successors) < MAX_CHAIN:
        row = Convention.objects.filter(predecessor_id=current).values(*fields).first()
        if row is None or row["pk"] in seen:
            break
        successors.append(row)
        seen.add(row["pk"])
        current = row["pk"]
    chain = predecessors + successors
    visible = set()
    if chain:
        visible = set(Convention.objects.visible_to(scope).filter(pk__in=[r["pk"] for r in chain]).values_list("pk", flat=True))
    labels = dict(Convention.Status.choices)
    for row in chain:
        row["visible"] = row["pk"] in visible
        row["status_label"] = labels.get(row["status"], row["status"])
    return predecessors, successors


def detail(request, pk):
    _refuse_unless_convention_pages(request)
    convention = _visible_or_404(
        request,
        pk,
        Convention.objects.visible_to(request.scope).select_related(
            "departement", "club", "parent", "framework", "predecessor", "created_by"
        ),
    )
    commitments = list(
        convention.commitments.select_related("family", "action_type").prefetch_related(
            Prefetch("targets", queryset=Target.objects.select_related("indicator"))
        )
    )
    actions = Action.objects.visible_to(request.scope).filter(convention=convention)
    predecessors, successors = _renewal_chain(request.scope, convention)
    steps = permissions.available_steps(request.scope, convention, has_successor=bool(successors))
    # The national parent and the framework are shown to everybody, but linked only when their page opens.
    related = [pk for pk in (convention.parent_id, convention.framework_id) if pk]
    linkable = (
        set(Convention.objects.visible_to(request.scope).filter(pk__in=related).values_list("pk", flat=True))
        if related
        else set()
    )
    return render(
        request,
        "conventions/detail.html",
        {
            "convention": convention,
            "companies": convention.companies.select_related("commune__departement").order_by("name"),
            "signatories": convention.signatories.all(),
            "documents": convention.documents.select_related("uploaded_by"),
            "commitment_tables": _commitment_tables(convention, commitments),
            "actions": actions.select_related("action_type").order_by("-start_date", "-pk")[:20],
            "actions_count": actions.count(),
            "predecessors": predecessors,
            "successors": successors,
            "steps": steps,
            "can_edit": permissions.can_edit_convention(request.scope, convention),
            "linkable": linkable,
        },
    )


def document(request, pk):
    """Documents are not public: served here, after the scope check, never from MEDIA_URL."""
    doc = get_object_or_404(
        ConventionDocument.objects.filter(convention__in=Convention.objects.visible_to(request.scope).values("pk")), pk=pk
    )
    try:
        handle = doc.file.open("rb")
    except (FileNotFoundError, ValueError) as error:
        raise Http404("Le fichier de ce document est introuvable.") from error
    return FileResponse(handle, as_attachment=True, filename=os.path.basename(doc.file.name))


# --- create and edit -----------------------------------------------------------------------------------


def _int_param(request, name):
    return parse_pk(request.GET.get(name))


def _suggested_action_types(diagnostic):
    if hasattr(diagnostic, "suggested_action_types"):
        return list(diagnostic.suggested_action_types())
    statuses = [DiagnosticItem.Status.DOING, DiagnosticItem.Status.WANTS]
    return list(
        ActionType.objects.filter(diagnostic_items__diagnostic=diagnostic, diagnostic_items__status__in=statuses)
        .select_related("family")
        .order_by("family__position", "label")
    )


def _prefill(request):
    """Initial values from `?entreprise=<pk>&diagnostic=<pk>`, each ignored when out of the person's scope."""
    scope = request.scope
    initial, commitments = {}, []
    company = None
    diagnostic_pk = _int_param(request, "diagnostic")
    if diagnostic_pk:
        diagnostic = Diagnostic.objects.visible_to(scope).select_related("company__commune").filter(pk=diagnostic_pk).first()
        if diagnostic is not None:
            company = diagnostic.company
            if diagnostic.club_id and Organisation.objects.clubs_visible_to(scope).filter(pk=diagnostic.club_id).exists():
                initial["club"] = diagnostic.club_id
            commitments = [
                {"family": action_type.family, "action_type": action_type, "description": ""}
                for action_type in _suggested_action_types(diagnostic)
            ]
    company_pk = _int_param(request, "entreprise")
    if company_pk:
        company = Company.objects.visible_to(scope).select_related("commune").filter(pk=company_pk).first() or company
    if company is not None:
        initial["companies"] = [company.pk]
        initial["title"] = f"Convention Entreprises et Quartiers — {company.name}"
        departement_id = company.commune.departement_id if company.commune_id else None
        if departement_id and Departement.objects.visible_to(scope).filter(pk=departement_id).exists():
            initial["departement"] = departement_id
    return initial, commitments


def _editor_page(request, editor, convention=None):
    conflict = ""
    if request.method == "POST" and editor.is_valid():
        instance, companies, commitments = editor.service_arguments()
        try:
            saved = services.save_convention(
                instance,
                companies=companies,
                commitments=commitments,
                by=request.user,
                expected_version=editor.expected_version,
            )
        except StaleEditError as error:
            # Nothing was written: the page comes back with what the person typed, and the version becomes the
            # current one, so that saving again (after checking the other person's changes) is deliberate.
            data = request.POST.copy()
            data["version"] = str(error.current_version)
            convention = Convention.objects.get(pk=convention.pk)
            editor = ConventionEditor(data, scope=request.scope, instance=convention)
            conflict = error.messages[0]
        except ValidationError as error:
            add_service_error(editor.form, error)
        else:
            messages.success(request, "La convention a été créée." if convention is None else "La convention a été enregistrée.")
            return redirect("conventions:detail", pk=saved.pk)
    return render(
        request,
        "conventions/form.html",
        {
            "editor": editor,
            "form": editor.form,
            "convention": convention,
            "has_errors": not conflict and editor.has_errors,
            "conflict": conflict,
        },
    )


def create(request):
    _refuse_unless_convention_pages(request)
    if not permissions.can_create_convention(request.scope):
        raise PermissionDenied("Votre organisation ne peut pas créer de convention : la préfecture ou le club s'en charge.")
    initial, initial_commitments = _prefill(request)
    editor = ConventionEditor(
        request.POST if request.method == "POST" else None,
        scope=request.scope,
        initial=initial,
        initial_commitments=initial_commitments,
    )
    return _editor_page(request, editor)


def edit(request, pk):
    _refuse_unless_convention_pages(request)
    convention = _visible_or_404(request, pk)
    if not permissions.may_edit(request.scope, convention):
        raise PermissionDenied("Vous pouvez consulter cette convention, mais pas la modifier.")
    if convention.status not in permissions.EDITABLE_STATUSES:
        raise PermissionDenied(
            f"Une convention {services.STATUS_PHRASES[Convention.Status(convention.status)]} ne peut plus être modifiée : "
            "seule une convention en brouillon ou en négociation peut l'être."
        )
    editor = ConventionEditor(request.POST if request.method == "POST" else None, scope=request.scope, instance=convention)
    return _editor_page(request, editor, convention)


# --- lifecycle -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    title: str
    button: str
    explanation: str
    refused: str
    done: str
    form_class: type = ConfirmForm
    danger: bool = False


NEGOTIATORS = "Seuls le club animateur, la préfecture du département et le niveau national peuvent"
CONCLUDERS = "Seules la préfecture du département et le niveau national peuvent"

STEPS = {
    "submit": Step(
        title="Soumettre la convention à la négociation",
        button="Soumettre à la négociation",
        explanation="La convention passe en négociation avec l'entreprise : ses engagements restent modifiables.",
        refused=f"{NEGOTIATORS} soumettre cette convention à la négociation.",
        done="La convention est en négociation.",
    ),
    "back_to_draft": Step(
        title="Remettre la convention en brouillon",
        button="Remettre en brouillon",
        explanation="La négociation est suspendue et la convention redevient un brouillon.",
        refused=f"{NEGOTIATORS} remettre cette convention en brouillon.",
        done="La convention est de nouveau en brouillon.",
    ),
    "activate": Step(
        title="Mettre la convention en vigueur",
        button="Mettre en vigueur",
        explanation="La convention signée entre en vigueur : l'entreprise déclarera chaque année ses résultats.",
        refused=f"{CONCLUDERS} mettre cette convention en vigueur.",
        done="La convention est en vigueur.",
    ),
    "terminate": Step(
        title="Résilier la convention",
        button="Résilier la convention",
        explanation="La résiliation est définitive : la convention ne pourra plus évoluer.",
        refused=f"{CONCLUDERS} résilier cette convention.",
        done="La convention est résiliée.",
        form_class=TerminateForm,
        danger=True,
    ),
    "renew": Step(
        title="Renouveler la convention",
        button="Créer le renouvellement",
        explanation="Une nouvelle convention en brouillon est créée pour la période choisie ; elle reprend les "
        "entreprises et les engagements, avec pour objectifs ceux de la dernière année.",
        refused=f"{CONCLUDERS} renouveler cette convention.",
        done="Le renouvellement a été créé en brouillon : complétez-le puis soumettez-le à la négociation.",
        form_class=RenewForm,
    ),
    "sign": Step(
        title="Signer la convention",
        button="Enregistrer la signature",
        explanation="Indiquez les signataires et joignez la convention signée.",
        refused=f"{CONCLUDERS} signer cette convention.",
        done="La signature de la convention a été enregistrée.",
    ),
}


def _run(step, request, convention, data):
    user = request.user
    if step == "submit":
        return services.submit_for_negotiation(convention, by=user)
    if step == "back_to_draft":
        return services.back_to_draft(convention, by=user)
    if step == "activate":
        return services.activate(convention, by=user)
    if step == "terminate":
        return services.terminate(convention, by=user, reason=data["termination_reason"])
    if step == "renew":
        return services.renew(convention, by=user, start_date=data["start_date"], end_date=data["end_date"])
    raise ValueError(step)


def _step_target(request, pk, step):
    """The convention, once the step is allowed to this person (404 out of scope, 403 visible but not allowed)."""
    _refuse_unless_convention_pages(request)
    convention = _visible_or_404(request, pk)
    if not permissions.may_run_step(request.scope, convention, step):
        raise PermissionDenied(STEPS[step].refused)
    return convention


def _not_possible_message(convention, step):
    """Shown instead of the form when a stale page or a typed address leads to a step the status forbids."""
    has_successor = step == "renew" and Convention.objects.filter(predecessor=convention).exists()
    if permissions.step_possible(convention, step, has_successor):
        return ""
    if has_successor:
        return "Cette convention a déjà été renouvelée."
    phrase = services.STATUS_PHRASES[Convention.Status(convention.status)]
    return f"Cette étape n'est pas possible : la convention est {phrase}."


def _step_page(request, pk, step):
    convention = _step_target(request, pk, step)
    spec = STEPS[step]
    not_possible = ""
    if request.method == "POST":
        form = spec.form_class(request.POST)
        if form.is_valid():
            try:
                result = _run(step, request, convention, form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, spec.done)
                return redirect("conventions:detail", pk=result.pk)
    else:
        initial = RenewForm.initial_for(convention) if step == "renew" else None
        form = spec.form_class(initial=initial)
        not_possible = _not_possible_message(convention, step)
    return render(
        request,
        "conventions/step.html",
        {"convention": convention, "step": spec, "form": form, "not_possible": not_possible},
    )


def submit(request, pk):
    return _step_page(request, pk, "submit")


def back_to_draft(request, pk):
    return _step_page(request, pk, "back_to_draft")


def activate(request, pk):
    return _step_page(request, pk, "activate")


def terminate(request, pk):
    return _step_page(request, pk, "terminate")


def renew(request, pk):
    return _step_page(request, pk, "renew")


def sign(request, pk):
    convention = _step_target(request, pk, "sign")
    spec = STEPS["sign"]
    not_possible = ""
    if request.method == "POST":
        form = SignForm(request.POST, request.FILES)
        signatories = SignatoryFormSet(request.POST, prefix="signatories")
        if form.is_valid() and signatories.is_valid():
            try:
                services.sign_with_document(
                    convention,
                    by=request.user,
                    signatories=signatories.signatories(),
                    file=form.cleaned_data["document"],
                    title=form.cleaned_data["title"],
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, spec.done)
                return redirect("conventions:detail", pk=convention.pk)
    else:
        form = SignForm()
        signatories = SignatoryFormSet(prefix="signatories")
        not_possible = _not_possible_message(convention, "sign")
    return render(
        request,
        "conventions/sign.html",
        {"convention": convention, "step": spec, "form": form, "signatories": signatories, "not_possible": not_possible},
    )
