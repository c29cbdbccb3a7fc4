"""A club's member companies in the portal: the list (current and past members), adding a company with its
dates, ending a membership (an end date, never a deletion: the club's history stays).

Clubs come from `Organisation.objects.clubs_visible_to(scope)` and memberships from
`ClubMembership.objects.visible_to(scope)`: a club out of scope is a 404. Who may read and write is in
`entreprises.permissions` (club administrators, the préfecture of the club's départements, the national level).
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from charte.comptes.models import Organisation

from . import permissions, services
from .forms import ClubMemberAddForm, ClubMemberEndForm
from .models import ClubMembership

REFUSED_WRITE = (
    "Seuls les administrateurs du club, la préfecture de ses départements et le niveau national peuvent "
    "modifier les adhésions au club."
)


def _readable_clubs(scope):
    """Clubs whose member list the person reads: a partner or a company reads no company-level row."""
    clubs = Organisation.objects.clubs_visible_to(scope)
    if scope.is_club:
        return clubs.filter(pk=scope.organisation_id)
    return clubs if (scope.is_national or scope.is_prefecture) else clubs.none()


def _club(request, pk):
    return get_object_or_404(_readable_clubs(request.scope).prefetch_related("departements"), pk=pk)


def _crumbs(current, *links):
    items = [{"url": reverse("entreprises:clubs"), "title": "Clubs d'entreprises"}] if current != "Clubs d'entreprises" else []
    items += [{"url": url, "title": title} for url, title in links]
    return {"links": items, "current": current}


@require_GET
def club_list(request):
    today = timezone.localdate()
    current = Q(company_memberships__start_date__lte=today) & (
        Q(company_memberships__end_date__isnull=True) | Q(company_memberships__end_date__gte=today)
    )
    clubs = (
        _readable_clubs(request.scope)
        .annotate(current_members=Count("company_memberships", filter=current))
        .prefetch_related("departements")
        .order_by("name")
    )
    page_obj = Paginator(clubs, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "entreprises/club_list.html",
        {"page_obj": page_obj, "clubs": page_obj.object_list, "breadcrumb_data": _crumbs("Clubs d'entreprises")},
    )


@require_GET
def club_members(request, pk):
    scope = request.scope
    club = _club(request, pk)
    today = timezone.localdate()
    memberships = (
        ClubMembership.objects.visible_to(scope)
        .filter(club=club)
        .select_related("company", "recorded_by", "ended_by")
        .order_by("company__name", "-start_date", "pk")
    )
    show = request.GET.get("afficher", "")
    if show != "toutes":
        memberships = memberships.filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    page_obj = Paginator(memberships, settings.PAGE_SIZE).get_page(request.GET.get("page"))
    for membership in page_obj.object_list:
        membership.is_current = membership.start_date <= today and (membership.end_date is None or membership.end_date >= today)
        membership.is_open = membership.end_date is None or membership.end_date >= today
    return render(
        request,
        "entreprises/club_members.html",
        {
            "club": club,
            "page_obj": page_obj,
            "memberships": page_obj.object_list,
            "show_all": show == "toutes",
            "can_manage": permissions.can_manage_club_members(scope, club),
            "breadcrumb_data": _crumbs(club.name),
        },
    )


@require_http_methods(["GET", "POST"])
def club_member_add(request, pk):
    scope = request.scope
    club = _club(request, pk)
    if not permissions.can_manage_club_members(scope, club):
        raise PermissionDenied(REFUSED_WRITE)
    data = request.POST if request.method == "POST" else None
    form = ClubMemberAddForm(data, scope=scope, club=club, initial={"start_date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.add_club_member(
                club=club,
                company=form.cleaned_data["company"],
                start_date=form.cleaned_data["start_date"],
                end_date=form.cleaned_data.get("end_date"),
                by=request.user,
            )
        except services.ClubMembershipError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{membership.company.name} est enregistrée comme membre de {club.name}.")
            return redirect("entreprises:club_members", pk=club.pk)
    return render(
        request,
        "entreprises/club_member_form.html",
        {
            "club": club,
            "form": form,
            "breadcrumb_data": _crumbs(
                "Ajouter une entreprise membre", (reverse("entreprises:club_members", args=[club.pk]), club.name)
            ),
        },
    )


@require_http_methods(["GET", "POST"])
def club_member_end(request, pk):
    scope = request.scope
    membership = get_object_or_404(
        ClubMembership.objects.visible_to(scope)
        .filter(club__in=_readable_clubs(scope).values("pk"))
        .select_related("company", "club"),
        pk=pk,
    )
    club = membership.club
    if not permissions.can_manage_club_members(scope, club):
        raise PermissionDenied(REFUSED_WRITE)
    today = timezone.localdate()
    data = request.POST if request.method == "POST" else None
    form = ClubMemberEndForm(data, membership=membership, initial={"end_date": max(today, membership.start_date)})
    if membership.end_date is not None and membership.end_date < today:
        form = None  # already over: the page says so and offers nothing to submit
    elif request.method == "POST" and form.is_valid():
        try:
            services.end_club_membership(membership, end_date=form.cleaned_data["end_date"], by=request.user)
        except services.ClubMembershipError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                f"L'adhésion de {membership.company.name} à {club.name} prend fin le {form.cleaned_data['end_date']:%d/%m/%Y}.",
            )
            return redirect("entreprises:club_members", pk=club.pk)
    return render(
        request,
        "entreprises/club_member_end.html",
        {
            "club": club,
            "membership": membership,
            "form": form,
            "breadcrumb_data": _crumbs("Fin d'adhésion", (reverse("entreprises:club_members", args=[club.pk]), club.name)),
        },
    )
