from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string
from django.views.decorators.http import require_POST

from charte.web import pk_or_404

from .forms import DsfrPasswordResetForm, DsfrSetPasswordForm, EmailAuthenticationForm
from .middleware import SESSION_KEY


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "proconnect_enabled": settings.PROCONNECT_ENABLED}


class LogoutView(auth_views.LogoutView):
    """Signs out of the portal, then, for a person who came through ProConnect, of ProConnect too: the
    browser is sent to the provider's end_session_endpoint, which comes back to `proconnect_logged_out`.
    The portal's session ends first, so that a provider that never answers leaves nobody signed in here."""

    def post(self, request, *args, **kwargs):
        provider_logout = None
        if settings.PROCONNECT_ENABLED:
            provider_logout = import_string(settings.OIDC_OP_LOGOUT_URL_METHOD)(request)
        response = super().post(request, *args, **kwargs)
        if not provider_logout:
            return response
        # Imported here: the ProConnect module (and its library) is loaded only when ProConnect is on.
        from .oidc import LOGOUT_STATE_SESSION_KEY

        # The session was flushed by the sign-out: the state of the round trip goes in the new, empty one.
        request.session[LOGOUT_STATE_SESSION_KEY] = request.proconnect_logout_state
        return HttpResponseRedirect(provider_logout)


@method_decorator(login_not_required, name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    form_class = DsfrPasswordResetForm
    success_url = reverse_lazy("comptes:password_reset_done")
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"


@method_decorator(login_not_required, name="dispatch")
class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    pass


@method_decorator(login_not_required, name="dispatch")
class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = DsfrSetPasswordForm
    success_url = reverse_lazy("comptes:password_reset_complete")


@method_decorator(login_not_required, name="dispatch")
class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    pass


@require_POST
def switch_organisation(request):
    """Act for another of one's organisations: remembered in the session."""
    membership = get_object_or_404(request.user.active_memberships(), pk=pk_or_404(request.POST.get("membership")))
    request.session[SESSION_KEY] = membership.pk
    messages.success(request, f"Vous agissez maintenant pour « {membership.organisation} ».")
    next_url = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = "dashboard"
    return redirect(next_url)
