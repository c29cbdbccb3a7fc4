"""The people pages: members of an organisation (roles, deactivation), invitations, and accepting one.

Every organisation comes through `Organisation.objects.visible_to(scope)`: one out of scope is a 404; one in
scope that the person may not manage raises PermissionDenied with a French reason (templates/403.html). The
rules are in `people.py`.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import BooleanField, Case, Count, Q, Value, When
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from charte.web import add_service_error

from . import people
from .forms import AcceptInvitationForm, InvitationForm
from .middleware import SESSION_KEY
from .models import (
    Invitation,
    InvitationError,
    InvitationNotFound,
    Membership,
    Organisation,
    OrganisationKind,
    User,
)
from .scoping import Scope

MEMBERS_PER_PAGE = 50
REFUSED_HUB = "Seuls les administrateurs d'une organisation, les préfectures et les clubs peuvent gérer des membres."
REFUSED_MANAGE = "Vous pouvez voir cette organisation, mais pas gérer ses membres."
REFUSED_INVITE = "Vous ne pouvez pas inviter de personne dans cette organisation."


def _crumbs(current, *links):
    items = [{"title": title, "url": url} for url, title in links]
    return {"links": items, "current": current}


def _visible_organisation(request, pk):
    return get_object_or_404(Organisation.objects.visible_to(request.scope), pk=pk)


def _back(organisation):
    return redirect("comptes:organisation_members", pk=organisation.pk)


# --- the hub and an organisation's members ------------------------------------------------------------------


@require_http_methods(["GET"])
def members(request):
    """The « Membres » entry: the organisations whose members the person manages or may invite into."""
    scope = request.scope
    if not people.has_people_pages(scope):
        raise PermissionDenied(REFUSED_HUB)
    others = people.invitable_organisations(scope).exclude(pk=scope.organisation_id)
    if not others.exists():
        return _back(request.organisation)
    query = (request.GET.get("q") or "").strip()[:100]
    kind = request.GET.get("type") or ""
    if query:
        others = others.filter(name__icontains=query)
    if kind in OrganisationKind.values:
        others = others.filter(kind=kind)
    managed = people.managed_organisations(scope).values("pk")
    others = others.annotate(
        active_members=Count("memberships", filter=Q(memberships__is_active=True), distinct=True),
        managed=Case(When(pk__in=managed, then=Value(True)), default=Value(False), output_field=BooleanField()),
    ).order_by("name", "pk")
    page_obj = Paginator(others, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "comptes/members_hub.html",
        {
            "own_managed": scope.is_org_admin,
            "page_obj": page_obj,
            "organisations": page_obj.object_list,
            "query": query,
            "kind": kind,
            "kinds": [(value, label) for value, label in OrganisationKind.choices if value not in ("national", "prefecture")],
            "breadcrumb_data": _crumbs("Membres"),
        },
    )


@require_http_methods(["GET"])
def organisation_members(request, pk):
    scope = request.scope
    organisation = _visible_organisation(request, pk)
    can_manage = people.can_manage_members(scope, organisation)
    can_invite = people.can_invite(scope, organisation)
    if not (can_manage or can_invite):
        raise PermissionDenied(REFUSED_MANAGE)
    memberships = organisation.memberships.select_related("user", "updated_by").order_by(
        "-is_active", "user__last_name", "user__first_name", "user__email"
    )
    page_obj = Paginator(memberships, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    invitations = list(organisation.invitations.open().select_related("invited_by").order_by("-created_at", "-pk")[:100])
    return render(
        request,
        "comptes/organisation_members.html",
        {
            "organisation": organisation,
            "page_obj": page_obj,
            "members": page_obj.object_list,
            "invitations": invitations,
            "can_manage": can_manage,
            "can_invite": can_invite,
            "roles": Membership.Role,
            "me": request.user,
            "breadcrumb_data": _crumbs(organisation.name, (reverse("comptes:members"), "Membres")),
        },
    )


def _managed_membership(request, pk):
    membership = get_object_or_404(
        Membership.objects.select_related("organisation", "user").filter(
            organisation__in=Organisation.objects.visible_to(request.scope).values("pk")
        ),
        pk=pk,
    )
    if not people.can_manage_members(request.scope, membership.organisation):
        raise PermissionDenied(REFUSED_MANAGE)
    return membership


@require_POST
def membership_role(request, pk):
    membership = _managed_membership(request, pk)
    role = request.POST.get("role")
    try:
        people.change_role(membership, role, request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        label = Membership.Role(role).label.lower()
        messages.success(request, f"{membership.user} est maintenant {label} de « {membership.organisation} ».")
    return _back(membership.organisation)


@require_POST
def membership_status(request, pk):
    membership = _managed_membership(request, pk)
    active = request.POST.get("active") == "1"
    try:
        people.set_active(membership, active, request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        state = "réactivée" if active else "désactivée : cette personne n'agit plus pour l'organisation"
        messages.success(request, f"L'adhésion de {membership.user} est {state}.")
    return _back(membership.organisation)


# --- invitations ----------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def invite(request, pk):
    organisation = _visible_organisation(request, pk)
    if not people.can_invite(request.scope, organisation):
        raise PermissionDenied(REFUSED_INVITE)
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation = people.invite(
                organisation,
                data["email"],
                data["role"],
                request.user,
                first_name=data["first_name"],
                last_name=data["last_name"],
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            messages.success(
                request,
                f"Invitation envoyée à {invitation.email} : le lien est valable jusqu'au "
                f"{invitation.expires_at:%d/%m/%Y} et ne sert qu'une fois.",
            )
            return _back(organisation)
    return render(
        request,
        "comptes/invite_form.html",
        {
            "form": form,
            "organisation": organisation,
            "validity_days": settings.INVITATION_VALIDITY_DAYS,
            "cancel_url": reverse("comptes:organisation_members", args=[organisation.pk]),
            "breadcrumb_data": _crumbs(
                "Inviter une personne",
                (reverse("comptes:members"), "Membres"),
                (reverse("comptes:organisation_members", args=[organisation.pk]), organisation.name),
            ),
        },
    )


def _invitation_to_handle(request, pk):
    invitation = get_object_or_404(Invitation.objects.visible_to(request.scope).select_related("organisation"), pk=pk)
    if not people.can_invite(request.scope, invitation.organisation):
        raise PermissionDenied(REFUSED_INVITE)
    return invitation


@require_POST
def invitation_resend(request, pk):
    invitation = _invitation_to_handle(request, pk)
    try:
        invitation = people.resend(invitation, request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"Invitation renvoyée à {invitation.email} avec un nouveau lien ; l'ancien lien ne fonctionne plus."
        )
    return _back(invitation.organisation)


@require_POST
def invitation_revoke(request, pk):
    invitation = _invitation_to_handle(request, pk)
    try:
        people.revoke(invitation, request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"L'invitation de {invitation.email} est annulée : son lien ne fonctionne plus.")
    return _back(invitation.organisation)


# --- accepting ----------------------------------------------------------------------------------------------


def landing_url(membership):
    """Where a person arrives after joining: a company on its company page, everybody else on the dashboard."""
    scope = Scope.for_membership(membership)
    if scope.is_company and scope.company_id:
        return reverse("entreprises:detail", args=[scope.company_id])
    return reverse("dashboard")


def _joined(request, membership):
    request.session[SESSION_KEY] = membership.pk
    messages.success(request, f"Bienvenue : vous avez rejoint « {membership.organisation} » et agissez maintenant pour elle.")
    return redirect(landing_url(membership))


def _refused(request, error):
    response = render(
        request, "comptes/invitation_refused.html", {"message": error.message, "breadcrumb_data": None}, status=error.status
    )
    response["Cache-Control"] = "no-store"
    return response


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    """The link of the e-mail. Without an account: name and password, then the account and the membership are
    created together and the person is signed in. With an account: sign in as it, then accept."""
    try:
        invitation = Invitation.objects.for_token(token)
        if invitation is None:
            raise InvitationNotFound()
        invitation.check_usable()
    except InvitationError as error:
        return _refused(request, error)
    user = request.user if request.user.is_authenticated else None
    has_account = User.objects.filter(email__iexact=invitation.email).exists()
    wrong_account = user is not None and user.email.lower() != invitation.email.lower()
    form = None
    if not wrong_account and user is None and not has_account:
        form = AcceptInvitationForm(
            request.POST or None,
            email=invitation.email,
            initial={"first_name": invitation.first_name, "last_name": invitation.last_name},
        )
    if request.method == "POST" and not wrong_account:
        try:
            if user is not None:
                return _joined(request, invitation.accept(user))
            if form is not None and form.is_valid():
                data = form.cleaned_data
                new_user, membership = people.accept_with_new_account(
                    invitation, data["first_name"], data["last_name"], data["password1"]
                )
                login(request, new_user, backend="django.contrib.auth.backends.ModelBackend")
                return _joined(request, membership)
        except InvitationError as error:
            return _refused(request, error)
        except ValidationError as error:
            if form is None:
                messages.error(request, " ".join(error.messages))
            else:
                add_service_error(form, error)
    login_url = f"{reverse('comptes:login')}?next={request.path}"
    response = render(
        request,
        "comptes/invitation_accept.html",
        {
            "invitation": invitation,
            "organisation": invitation.organisation,
            "form": form,
            "has_account": has_account,
            "signed_in_user": user,
            "wrong_account": wrong_account,
            "login_url": login_url,
            "proconnect_enabled": settings.PROCONNECT_ENABLED,
        },
    )
    # The page's address is the invitation's secret: no cache keeps it.
    response["Cache-Control"] = "no-store"
    return response
