"""Finding and reproducing practice sheets (issue 15, items 3 and 4): the catalogue of published sheets for signed-in
people, the public catalogue and public page (sheets whose authors chose "visible sans connexion", without any
personal data), and "je veux reproduire".

Rows: `PracticeSheet.objects.visible_to(scope).published()` for signed-in people; `published_public()` for the
public (no scope: the sheets the authors opened to everyone). Writes go through `interests`.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from dsfr.forms import DsfrBaseForm

from charte.web import add_service_error

from . import interests, services
from .filters import PracticeFilter
from .models import PracticeCompany, PracticeSheet


class InterestForm(DsfrBaseForm):
    message = forms.CharField(
        label="Message aux auteurs (facultatif)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text="Votre projet, vos questions : les auteurs le liront avec votre nom et celui de votre organisation.",
    )


CATALOGUE_TITLE = "Bonnes pratiques"
PUBLIC_TITLE = "Bonnes pratiques ouvertes au public"


def _listed(queryset):
    return queryset.select_related("family", "departement__region").prefetch_related("publics", "action_types")


def _catalogue_page(request, queryset, *, public):
    filterset = PracticeFilter(request.GET or None, queryset=_listed(queryset))
    # A choice that does not exist (an old link) is said at its field, and lists nothing rather than everything.
    sheets = filterset.queryset.none() if filterset.is_bound and not filterset.is_valid() else filterset.qs
    if not (request.GET.get("q") or "").strip():
        sheets = sheets.order_by("-published_at", "-pk")
    page_obj = Paginator(sheets, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    title = PUBLIC_TITLE if public else CATALOGUE_TITLE
    return render(
        request,
        "practices/catalogue.html",
        {
            "filter": filterset,
            "page_obj": page_obj,
            "sheets": page_obj.object_list,
            "public": public,
            "title": title,
            "is_filtered": any(value for key, value in request.GET.items() if key != "page"),
            "detail_url": "practices:public_detail" if public else "practices:detail",
            "reset_url": reverse("practices:public_catalogue" if public else "practices:catalogue"),
            "can_create": not public and services.can_author(request.scope),
            "breadcrumb_data": {"links": [], "current": title},
        },
    )


@login_not_required
def catalogue(request):
    """The published sheets a signed-in person may read; a visitor without an account is sent to the public one."""
    if not request.user.is_authenticated:
        return redirect("practices:public_catalogue")
    return _catalogue_page(request, PracticeSheet.objects.visible_to(request.scope).published(), public=False)


@login_not_required
def public_catalogue(request):
    return _catalogue_page(request, PracticeSheet.objects.published_public(), public=True)


@login_not_required
def public_detail(request, pk):
    """A sheet opened to the public by its authors: its text, its places and its figures, never a person (no
    contact, no history, no author's name; the named companies consented to being named when it was published)."""
    sheet = get_object_or_404(
        PracticeSheet.objects.published_public()
        .select_related("family", "departement", "author_organisation")
        .prefetch_related(
            "qpvs",
            "action_types",
            "publics",
            "clubs",
            Prefetch("named_companies", queryset=PracticeCompany.objects.select_related("company")),
        ),
        pk=pk,
    )
    reproductions = (
        PracticeSheet.objects.published_public().filter(reproduces=sheet).select_related("departement").order_by("-published_at")
    )
    return render(
        request,
        "practices/public_detail.html",
        {
            "sheet": sheet,
            "figures": services.figures(sheet),
            "reproductions": reproductions,
            "breadcrumb_data": {
                "links": [{"url": reverse("practices:public_catalogue"), "title": PUBLIC_TITLE}],
                "current": sheet.title,
            },
        },
    )


@require_http_methods(["GET", "POST"])
def reproduce(request, pk):
    """ "Je veux reproduire": the authors are told, once per organisation."""
    scope = request.scope
    sheet = get_object_or_404(PracticeSheet.objects.visible_to(scope).select_related("author_organisation"), pk=pk)
    reason = interests.refusal(scope, sheet)
    if reason:
        raise PermissionDenied(reason)
    form = InterestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            interests.record_interest(sheet, scope=scope, user=request.user, message=form.cleaned_data["message"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request, f"C'est noté : l'organisation autrice de « {sheet.title} » est prévenue que vous voulez la reproduire."
            )
            return redirect("practices:detail", pk=sheet.pk)
    return render(
        request,
        "practices/reproduce.html",
        {
            "sheet": sheet,
            "form": form,
            "breadcrumb_data": {
                "links": [
                    {"url": reverse("practices:catalogue"), "title": CATALOGUE_TITLE},
                    {"url": reverse("practices:detail", args=[sheet.pk]), "title": sheet.title},
                ],
                "current": "Je veux reproduire",
            },
        },
    )
