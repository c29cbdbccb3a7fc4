"""The pages to write and review practice sheets: my sheets, create (possibly from an action), edit, detail with
the figures of the linked actions, submit, review, the consent of a named company, attachments.

Every sheet comes from `PracticeSheet.objects.visible_to(request.scope)`: a sheet out of scope answers 404; a
visible sheet the person may not change answers 403 with the reason. Writes go through `services`.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from charte.web import add_service_error, parse_pk
from conventions.models import Action

from . import services
from .forms import AttachmentForm, ConsentForm, PracticeSheetForm, ReviewForm
from .models import PracticeAttachment, PracticeCompany, PracticeSheet, PracticeStatus, PracticeTransition

LISTS = {
    "mes": "Fiches de mon organisation",
    "a-relire": "Fiches à relire",
    "accords": "Fiches qui citent mon entreprise",
}


def _sheets(scope):
    return PracticeSheet.objects.visible_to(scope).select_related("departement", "family", "author_organisation")


def _crumbs(current, sheet=None):
    links = [{"url": reverse("practices:mine"), "title": "Mes fiches de bonnes pratiques"}]
    if sheet is not None:
        links.append({"url": reverse("practices:detail", args=[sheet.pk]), "title": sheet.title})
    return {"links": links, "current": current}


def _listed(scope, which):
    visible = _sheets(scope)
    if which == "a-relire":
        return visible.filter(
            pk__in=PracticeSheet.objects.reviewable_by(scope).filter(status=PracticeStatus.SUBMITTED).values("pk")
        )
    if which == "accords":
        if not (scope.is_company and scope.company_id):
            return visible.none()
        return visible.filter(named_companies__company_id=scope.company_id)
    return visible.filter(pk__in=PracticeSheet.objects.authored_by(scope).values("pk"))


def sheet_list(request):
    """ "Mes fiches": those of my organisation, those to review (préfecture, national), those naming my company."""
    scope = request.scope
    if not services.can_author(scope):
        raise Http404("Page introuvable.")
    which = request.GET.get("liste", "mes")
    if which not in LISTS:
        which = "mes"
    status = request.GET.get("statut", "")
    sheets = _listed(scope, which)
    if status in PracticeStatus.values:
        sheets = sheets.filter(status=status)
    page_obj = Paginator(sheets.order_by("-updated_at", "-pk"), settings.PAGE_SIZE).get_page(request.GET.get("page"))
    tabs = [("mes", LISTS["mes"])]
    if scope.is_prefecture or scope.is_national:
        tabs.append(("a-relire", LISTS["a-relire"]))
    if scope.is_company:
        tabs.append(("accords", LISTS["accords"]))
    return render(
        request,
        "practices/list.html",
        {
            "page_obj": page_obj,
            "which": which,
            "tabs": tabs,
            "title": LISTS[which],
            "status": status,
            "statuses": PracticeStatus.choices,
            "can_create": services.can_author(scope),
            "breadcrumb_data": {"links": [], "current": "Mes fiches de bonnes pratiques"},
        },
    )


def _form_page(request, form, sheet, source=None):
    creating = sheet is None
    return render(
        request,
        "practices/form.html",
        {
            "form": form,
            "sheet": sheet,
            "source": source,
            "creating": creating,
            "breadcrumb_data": _crumbs("Nouvelle fiche" if creating else "Modifier", sheet),
        },
    )


def _save(request, form):
    try:
        return services.save_sheet(
            form.save(commit=False),
            scope=request.scope,
            user=request.user,
            companies=form.cleaned_data["companies"],
            m2m=form.m2m(),
        )
    except ValidationError as error:
        add_service_error(form, error)
        return None


@require_http_methods(["GET", "POST"])
def sheet_create(request):
    scope = request.scope
    if not services.can_author(scope):
        raise Http404("Page introuvable.")
    source = None
    if request.method == "POST":
        form = PracticeSheetForm(request.POST, instance=PracticeSheet(), scope=scope)
        if form.is_valid():
            sheet = _save(request, form)
            if sheet is not None:
                messages.success(request, f"La fiche « {sheet.title} » est enregistrée en brouillon.")
                return redirect("practices:detail", pk=sheet.pk)
    else:
        initial = {}
        action_pk = parse_pk(request.GET.get("action"))
        if action_pk is not None:
            source = (
                Action.objects.visible_to(scope)
                .select_related("action_type")
                .prefetch_related("qpvs", "companies")
                .filter(pk=action_pk)
                .first()
            )
            if source is None:
                raise Http404("Action introuvable.")
            initial = services.prefill_from_action(source)
        form = PracticeSheetForm(instance=PracticeSheet(), initial=initial, scope=scope)
    return _form_page(request, form, None, source)


def _editable(request, pk):
    sheet = get_object_or_404(_sheets(request.scope), pk=pk)
    if not services.can_edit(request.scope, sheet):
        raise PermissionDenied(
            "Seule l'organisation qui a rédigé la fiche peut la modifier, tant qu'elle est en brouillon ou renvoyée."
        )
    return sheet


@require_http_methods(["GET", "POST"])
def sheet_edit(request, pk):
    sheet = _editable(request, pk)
    if request.method == "POST":
        form = PracticeSheetForm(request.POST, instance=sheet, scope=request.scope)
        if form.is_valid() and _save(request, form) is not None:
            messages.success(request, f"La fiche « {sheet.title} » est mise à jour.")
            return redirect("practices:detail", pk=sheet.pk)
    else:
        form = PracticeSheetForm(instance=sheet, scope=request.scope)
    return _form_page(request, form, sheet)


def _detail_sheet(scope, pk):
    visible_actions = Action.objects.visible_to(scope).select_related("departement").order_by("-start_date")
    return get_object_or_404(
        _sheets(scope)
        .select_related("reproduces", "created_by")
        .prefetch_related(
            "qpvs",
            "clubs",
            "action_types",
            "publics",
            "attachments",
            Prefetch("named_companies", queryset=PracticeCompany.objects.select_related("company")),
            Prefetch("transitions", queryset=PracticeTransition.objects.select_related("by", "organisation")),
            Prefetch("actions", queryset=visible_actions, to_attr="visible_actions"),
        ),
        pk=pk,
    )


def sheet_detail(request, pk):
    scope = request.scope
    sheet = _detail_sheet(scope, pk)
    return render(
        request,
        "practices/detail.html",
        {
            "sheet": sheet,
            "figures": services.figures(sheet),
            "can_edit": services.can_edit(scope, sheet),
            "can_submit": services.is_author(scope, sheet) and sheet.is_editable,
            "can_review": services.can_review(scope, sheet),
            "can_withdraw": services.can_withdraw(scope, sheet),
            "naming": services.naming_of(scope, sheet),
            "missing_consents": [row for row in sheet.named_companies.all() if row.consent != PracticeCompany.Consent.GIVEN],
            "review_form": ReviewForm(),
            "attachment_form": AttachmentForm() if services.can_edit(scope, sheet) else None,
            "breadcrumb_data": _crumbs(sheet.title),
        },
    )


@require_POST
def sheet_submit(request, pk):
    sheet = get_object_or_404(_sheets(request.scope), pk=pk)
    try:
        services.submit(sheet, scope=request.scope, user=request.user)
    except ValidationError as error:
        raise PermissionDenied(error.messages[0]) from error
    messages.success(request, f"La fiche « {sheet.title} » est transmise pour relecture.")
    return redirect("practices:detail", pk=sheet.pk)


@require_http_methods(["GET", "POST"])
def sheet_review(request, pk):
    """Publish, return with a comment, or withdraw: one page, three buttons."""
    scope = request.scope
    sheet = get_object_or_404(_sheets(scope), pk=pk)
    if not (services.can_review(scope, sheet) or services.can_withdraw(scope, sheet)):
        raise PermissionDenied(
            "Seuls la préfecture du département de la fiche et le niveau national peuvent la relire, quand elle est en relecture."
        )
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        comment = form.cleaned_data["comment"]
        try:
            if "publish" in request.POST:
                services.publish(sheet, scope=scope, user=request.user)
                messages.success(request, f"La fiche « {sheet.title} » est publiée.")
            elif "return" in request.POST:
                services.return_to_authors(sheet, scope=scope, user=request.user, comment=comment)
                messages.success(request, f"La fiche « {sheet.title} » est renvoyée à ses auteurs.")
            elif "withdraw" in request.POST:
                services.withdraw(sheet, scope=scope, user=request.user, comment=comment)
                messages.success(request, f"La fiche « {sheet.title} » est retirée.")
            else:
                raise ValidationError("Choisissez : publier, renvoyer ou retirer.")
        except ValidationError as error:
            add_service_error(form, error)
        else:
            return redirect("practices:detail", pk=sheet.pk)
    return render(
        request,
        "practices/review.html",
        {
            "sheet": sheet,
            "form": form,
            "can_review": services.can_review(scope, sheet),
            "can_withdraw": services.can_withdraw(scope, sheet),
            "missing_consents": services.missing_consents(sheet),
            "breadcrumb_data": _crumbs("Relire", sheet),
        },
    )


@require_http_methods(["GET", "POST"])
def sheet_consent(request, pk):
    """The company space: a named company gives or refuses its consent to being named."""
    scope = request.scope
    sheet = get_object_or_404(_sheets(scope), pk=pk)
    naming = services.naming_of(scope, sheet)
    if naming is None:
        raise Http404("Page introuvable.")
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        given = "give" in request.POST
        try:
            services.give_consent(sheet, scope=scope, user=request.user, given=given, comment=form.cleaned_data["comment"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request, "Votre accord est enregistré." if given else "Votre refus est enregistré : les auteurs le verront."
            )
            return redirect("practices:detail", pk=sheet.pk)
    return render(
        request,
        "practices/consent.html",
        {"sheet": sheet, "naming": naming, "form": form, "breadcrumb_data": _crumbs("Accord de l'entreprise", sheet)},
    )


@require_http_methods(["GET", "POST"])
def attachment_add(request, pk):
    sheet = _editable(request, pk)
    form = AttachmentForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_attachment(
                sheet,
                scope=request.scope,
                user=request.user,
                upload=form.cleaned_data["file"],
                title=form.cleaned_data["title"],
                alt_text=form.cleaned_data["alt_text"].strip(),
                kind=form.kind,
                content_type=form.content_type,
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "La pièce jointe est ajoutée.")
            return redirect("practices:detail", pk=sheet.pk)
    return render(
        request,
        "practices/attachment_form.html",
        {"sheet": sheet, "form": form, "breadcrumb_data": _crumbs("Ajouter une pièce jointe", sheet)},
    )


def _attachment(request, pk, attachment_pk):
    sheet = get_object_or_404(_sheets(request.scope), pk=pk)
    return get_object_or_404(PracticeAttachment.objects.filter(sheet=sheet).select_related("sheet"), pk=attachment_pk)


def attachment_download(request, pk, attachment_pk):
    attachment = _attachment(request, pk, attachment_pk)
    inline = attachment.kind == PracticeAttachment.Kind.IMAGE
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=not inline,
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )


@require_POST
def attachment_delete(request, pk, attachment_pk):
    attachment = _attachment(request, pk, attachment_pk)
    try:
        services.remove_attachment(attachment, scope=request.scope)
    except ValidationError as error:
        raise PermissionDenied(error.messages[0]) from error
    messages.success(request, f"La pièce jointe « {attachment.title} » est retirée.")
    return redirect("practices:detail", pk=pk)
