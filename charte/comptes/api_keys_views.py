"""The organisation administrator's pages for the API keys: list, create (the full key shown once), revoke.

Keys belong to the organisation the person currently acts for; only its administrators (membership role
"admin") manage them. The full key is never stored: it is kept in the session only between the creation
and the next page, which removes it while showing it.
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from charte.web import DsfrModelForm

from .models import ApiKey

NEW_KEY_SESSION = "api_key_just_created"
REFUSED = "Seul un administrateur de l'organisation pour laquelle vous agissez peut gérer ses clés d'API."


class ApiKeyForm(DsfrModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "scope"]
        widgets = {"scope": forms.RadioSelect()}
        help_texts = {
            "name": "Pour la reconnaître dans la liste, par exemple « Outil de suivi du club » ou « Tableau de bord Région ».",
            "scope": "Lecture seule suffit pour consulter les données ; l'écriture permet de saisir des actions.",
        }


def _refused(request):
    return render(request, "comptes/api_keys_forbidden.html", {"message": REFUSED}, status=403)


def _is_admin(request):
    return request.scope.kind is not None and request.scope.is_org_admin


def _crumbs(current=None):
    links = []
    if current:
        links.append({"title": "Clés d'API", "url": reverse("comptes:api_keys")})
    return {"links": links, "current": current or "Clés d'API"}


@require_http_methods(["GET"])
def api_key_list(request):
    if not _is_admin(request):
        return _refused(request)
    keys = ApiKey.objects.filter(organisation=request.organisation).select_related("created_by").order_by("-created_at", "-pk")
    page_obj = Paginator(keys, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "comptes/api_keys_list.html",
        {"page_obj": page_obj, "keys": page_obj.object_list, "breadcrumb_data": _crumbs()},
    )


@require_http_methods(["GET", "POST"])
def api_key_create(request):
    if not _is_admin(request):
        return _refused(request)
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key, full_key = ApiKey.issue(
            request.organisation, form.cleaned_data["name"], form.cleaned_data["scope"], created_by=request.user
        )
        request.session[NEW_KEY_SESSION] = {"id": key.pk, "key": full_key}
        return redirect("comptes:api_key_created")
    return render(request, "comptes/api_keys_form.html", {"form": form, "breadcrumb_data": _crumbs("Nouvelle clé")})


@require_http_methods(["GET"])
def api_key_created(request):
    if not _is_admin(request):
        return _refused(request)
    new = request.session.pop(NEW_KEY_SESSION, None)
    key = ApiKey.objects.filter(pk=(new or {}).get("id"), organisation=request.organisation).first()
    if key is None:
        messages.info(request, "Une clé n'est affichée qu'une fois, juste après sa création : créez-en une autre si besoin.")
        return redirect("comptes:api_keys")
    response = render(
        request,
        "comptes/api_keys_created.html",
        {"key": key, "full_key": new["key"], "breadcrumb_data": _crumbs("Clé créée")},
    )
    # The page holds a secret: no cache may keep it.
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def api_key_revoke(request, pk):
    if not _is_admin(request):
        return _refused(request)
    key = get_object_or_404(ApiKey.objects.filter(organisation=request.organisation), pk=pk)
    if request.method == "POST":
        if key.is_revoked:
            messages.info(request, f"La clé « {key.name} » était déjà révoquée.")
        else:
            key.revoke()
            messages.success(request, f"La clé « {key.name} » ({key.prefix}) est révoquée : elle ne donne plus accès à l'API.")
        return redirect("comptes:api_keys")
    return render(request, "comptes/api_keys_revoke.html", {"key": key, "breadcrumb_data": _crumbs("Révoquer une clé")})
