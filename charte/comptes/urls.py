from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.urls import path

from . import api_keys_views, people_views, personal_data_views, views

app_name = "comptes"

urlpatterns = [
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", views.LogoutView.as_view(), name="logout"),
    path("mot-de-passe/oubli/", views.PasswordResetView.as_view(), name="password_reset"),
    path("mot-de-passe/oubli/envoye/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("mot-de-passe/nouveau/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("mot-de-passe/modifie/", views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("organisation/", views.switch_organisation, name="switch_organisation"),
    path("cles-api/", api_keys_views.api_key_list, name="api_keys"),
    path("cles-api/nouvelle/", api_keys_views.api_key_create, name="api_key_create"),
    path("cles-api/nouvelle/cle/", api_keys_views.api_key_created, name="api_key_created"),
    path("cles-api/<int:pk>/revoquer/", api_keys_views.api_key_revoke, name="api_key_revoke"),
    path("membres/", people_views.members, name="members"),
    path("organisations/<int:pk>/membres/", people_views.organisation_members, name="organisation_members"),
    path("organisations/<int:pk>/inviter/", people_views.invite, name="invite"),
    path("adhesions/<int:pk>/role/", people_views.membership_role, name="membership_role"),
    path("adhesions/<int:pk>/etat/", people_views.membership_status, name="membership_status"),
    path("invitations/<int:pk>/renvoyer/", people_views.invitation_resend, name="invitation_resend"),
    path("invitations/<int:pk>/annuler/", people_views.invitation_revoke, name="invitation_revoke"),
    path("invitation/<str:token>/", people_views.invitation_accept, name="invitation_accept"),
    path("personnes/<int:pk>/donnees/", personal_data_views.person_export, name="person_export"),
    path("personnes/<int:pk>/anonymiser/", personal_data_views.person_erase, name="person_erase"),
]

if settings.PROCONNECT_ENABLED:
    # Registered only when ProConnect is configured: otherwise these addresses answer 404 like any other.
    from . import oidc

    urlpatterns += [
        path("proconnect/connexion/", login_not_required(oidc.ProConnectLoginView.as_view()), name="proconnect_login"),
        # The redirect_uri and post_logout_redirect_uri registered with ProConnect (README « ProConnect »).
        path("proconnect/retour/", login_not_required(oidc.ProConnectCallbackView.as_view()), name="proconnect_callback"),
        path("proconnect/deconnecte/", login_not_required(oidc.logged_out), name="proconnect_logged_out"),
    ]
