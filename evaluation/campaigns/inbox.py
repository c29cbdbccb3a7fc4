"""A person's notifications in the portal ("Mes notifications") and their choice of e-mails.

The inbox is personal: it lists what was addressed to the signed-in account
(`NotificationDelivery.objects.addressed_to(user)`), whatever organisation the person acts for, and nothing
else; another person's notification answers 404. E-mail preferences are per family of events
(`Notification.Family`); the in-portal notification is always kept.
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.views.decorators.http import require_http_methods, require_POST
from dsfr.forms import DsfrBaseForm

from ..models import EmailOptOut, Notification, NotificationDelivery
from .notifications import inbox_path

Family = Notification.Family


def unread_notifications(request):
    """Context processor: the unread count of the header, counted only when a page shows it (signed in)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: NotificationDelivery.objects.addressed_to(user).unread().count())}


def _crumbs(current, parent=False):
    links = []
    if parent:
        links.append({"title": "Mes notifications", "url": reverse("notifications:list")})
    return {"links": links, "current": current}


@require_http_methods(["GET"])
def notification_list(request):
    deliveries = NotificationDelivery.objects.addressed_to(request.user).select_related("notification")
    only_unread = request.GET.get("non-lues") == "1"
    if only_unread:
        deliveries = deliveries.unread()
    page_obj = Paginator(deliveries.order_by("-notification__created_at", "-pk"), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "evaluation/notifications/list.html",
        {
            "page_obj": page_obj,
            "deliveries": page_obj.object_list,
            "only_unread": only_unread,
            "breadcrumb_data": _crumbs("Mes notifications"),
        },
    )


@require_http_methods(["GET"])
def notification_open(request, pk):
    """Marks the notification read and goes to the page it is about (or back to the list)."""
    delivery = NotificationDelivery.objects.addressed_to(request.user).select_related("notification").filter(pk=pk).first()
    if delivery is None:
        raise Http404("Notification introuvable.")
    if delivery.read_at is None:
        NotificationDelivery.objects.filter(pk=delivery.pk).update(read_at=timezone.now())
    return redirect(inbox_path(delivery.notification) or reverse("notifications:list"))


@require_POST
def mark_all_read(request):
    count = NotificationDelivery.objects.addressed_to(request.user).unread().update(read_at=timezone.now())
    if count:
        plural = "s" if count > 1 else ""
        messages.success(request, f"{count} notification{plural} marquée{plural} comme lue{plural}.")
    else:
        messages.info(request, "Aucune notification non lue.")
    return redirect("notifications:list")


class PreferencesForm(DsfrBaseForm):
    families = forms.MultipleChoiceField(
        label="Je reçois par courriel",
        choices=Family.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Décochez une famille pour ne plus en recevoir les courriels : les notifications restent visibles ici.",
    )


@require_http_methods(["GET", "POST"])
def preferences(request):
    refused = set(EmailOptOut.objects.filter(user=request.user).values_list("family", flat=True))
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            wanted = set(form.cleaned_data["families"])
            with transaction.atomic():
                EmailOptOut.objects.filter(user=request.user, family__in=wanted).delete()
                EmailOptOut.objects.bulk_create(
                    [EmailOptOut(user=request.user, family=f) for f in Family.values if f not in wanted and f not in refused]
                )
            messages.success(request, "Vos choix de courriels sont enregistrés.")
            return redirect("notifications:preferences")
    else:
        form = PreferencesForm(initial={"families": [f for f in Family.values if f not in refused]})
    return render(
        request,
        "evaluation/notifications/preferences.html",
        {"form": form, "breadcrumb_data": _crumbs("Courriels reçus", parent=True)},
    )


app_name = "notifications"
urlpatterns = [
    path("", notification_list, name="list"),
    path("<int:pk>/ouvrir/", notification_open, name="open"),
    path("tout-lire/", mark_all_read, name="mark_all_read"),
    path("courriels/", preferences, name="preferences"),
]
