"""The API keys' admin (registered by charte/comptes/admin.py): a key created there is shown once."""

from django.contrib.admin.sites import AdminSite
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.db import SessionStore

from charte.comptes.api_keys_admin import ApiKeyAdmin, revoke_keys
from charte.comptes.models import ApiKey, User
from tests.factories import OrganisationFactory


def admin_request(rf):
    request = rf.post("/")
    request.user = User.objects.create_superuser("admin@example.org", "motdepasse-solide-1")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def test_a_key_created_in_the_admin_is_shown_once(rf, db):
    request = admin_request(rf)
    model_admin = ApiKeyAdmin(ApiKey, AdminSite())
    obj = ApiKey(organisation=OrganisationFactory(), name="Outil de la préfecture", scope=ApiKey.Access.READ)
    model_admin.save_model(request, obj, form=None, change=False)

    key = ApiKey.objects.get()
    assert (obj.pk, obj.prefix, key.created_by) == (key.pk, key.prefix, request.user)
    [message] = [str(m) for m in get_messages(request)]
    full_key = message.rsplit(" ", 1)[1]
    prefix, secret = full_key.split(".")
    assert prefix == key.prefix and key.check_secret(secret)
    assert model_admin.get_readonly_fields(request, key) == ["organisation", "prefix", "created_by", "created_at", "last_used_at"]


def test_the_admin_action_revokes(rf, db):
    request = admin_request(rf)
    organisation = OrganisationFactory()
    active, _ = ApiKey.issue(organisation, "Active", ApiKey.Access.READ)
    revoked, _ = ApiKey.issue(organisation, "Déjà révoquée", ApiKey.Access.READ)
    revoked.revoke()
    before = ApiKey.objects.get(pk=revoked.pk).revoked_at
    revoke_keys(ApiKeyAdmin(ApiKey, AdminSite()), request, ApiKey.objects.all())
    assert ApiKey.objects.get(pk=active.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=revoked.pk).revoked_at == before
