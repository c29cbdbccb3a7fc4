"""Export or anonymise what the portal holds about a person (RGPD), for an organisation's administrators.

A person is found through `User.objects.visible_to(scope)` (out of scope: 404). Exporting or anonymising also
needs to manage every organisation the person belongs to (`personal_data.can_manage_person`): visible but not
yours answers 403 with the reason. The work is in `personal_data.py`.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from charte.web import json_download

from . import people, personal_data
from .models import User

REFUSED_PERSON = (
    "Seuls les administrateurs de toutes les organisations dont cette personne est membre peuvent exporter ou "
    "anonymiser ses données : adressez-vous au niveau national."
)


def _managed_person(request, pk):
    person = get_object_or_404(User.objects.visible_to(request.scope), pk=pk)
    if not personal_data.can_manage_person(people.managed_organisations(request.scope), person):
        raise PermissionDenied(REFUSED_PERSON)
    return person


@require_GET
def person_export(request, pk):
    person = _managed_person(request, pk)
    return json_download(personal_data.user_export(person), f"donnees-personnelles-compte-{person.pk}.json")


@require_http_methods(["GET", "POST"])
def person_erase(request, pk):
    person = _managed_person(request, pk)
    memberships = list(person.memberships.select_related("organisation").order_by("organisation__name"))
    back = reverse("comptes:organisation_members", args=[memberships[0].organisation_id])
    refusal = personal_data.erasure_refusal(person, request.user)
    if request.method == "POST" and not refusal:
        name = str(person)
        try:
            personal_data.erase_user(person, request.user)
        except ValidationError as error:
            refusal = " ".join(error.messages)
        else:
            messages.success(request, f"Les données personnelles de {name} sont anonymisées ; le compte est désactivé.")
            return redirect(back)
    return render(
        request,
        "comptes/person_erase.html",
        {
            "person": person,
            "memberships": memberships,
            "refusal": refusal,
            "export_url": reverse("comptes:person_export", args=[person.pk]),
            "cancel_url": back,
            "breadcrumb_data": {
                "links": [
                    {"title": "Membres", "url": reverse("comptes:members")},
                    {"title": str(memberships[0].organisation), "url": back},
                ],
                "current": "Données personnelles",
            },
        },
    )
