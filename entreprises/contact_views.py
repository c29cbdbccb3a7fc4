"""A company contact's personal data: export (JSON) and anonymisation, for an organisation's administrators.

The contact comes through `Contact.objects.visible_to(scope)` (out of scope: 404); the permission is
`permissions.can_manage_contact_data` (403 with the reason). The work is in `charte.comptes.personal_data`.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from charte.comptes import personal_data
from charte.web import json_download

from . import permissions
from .models import Contact

REFUSED = (
    "Seuls les administrateurs d'une organisation qui peut modifier la fiche de l'entreprise gèrent les données de ses contacts."
)


def _managed_contact(request, pk):
    contact = get_object_or_404(Contact.objects.visible_to(request.scope).select_related("company"), pk=pk)
    if not permissions.can_manage_contact_data(request.scope, contact.company):
        raise PermissionDenied(REFUSED)
    return contact


@require_GET
def contact_export(request, pk):
    contact = _managed_contact(request, pk)
    return json_download(personal_data.contact_export(contact), f"donnees-personnelles-contact-{contact.pk}.json")


@require_http_methods(["GET", "POST"])
def contact_erase(request, pk):
    contact = _managed_contact(request, pk)
    company = contact.company
    back = reverse("entreprises:detail", args=[company.pk])
    if request.method == "POST":
        name = str(contact)
        personal_data.erase_contact(contact, request.user)
        messages.success(request, f"Les données personnelles du contact {name} sont anonymisées.")
        return redirect(back)
    return render(
        request,
        "entreprises/contact_erase.html",
        {
            "contact": contact,
            "company": company,
            "export_url": reverse("entreprises:contact_export", args=[contact.pk]),
            "cancel_url": back,
            "breadcrumb_data": {
                "links": [
                    {"title": "Entreprises", "url": reverse("entreprises:list")},
                    {"title": company.name, "url": back},
                ],
                "current": f"Données personnelles de {contact}",
            },
        },
    )
