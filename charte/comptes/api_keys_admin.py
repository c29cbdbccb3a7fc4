"""Admin of the API keys, to be registered by `charte/comptes/admin.py` (`from .api_keys_admin import ApiKeyAdmin`
then `admin.site.register(ApiKey, ApiKeyAdmin)`). A key created here is shown once, in the confirmation
message; only its prefix and the hash of its secret are stored."""

from django.contrib import admin, messages
from django.utils import timezone

from .admin_scoping import ScopedAdminMixin
from .models import ApiKey


@admin.action(description="Révoquer les clés sélectionnées")
def revoke_keys(modeladmin, request, queryset):
    count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
    modeladmin.message_user(request, f"{count} clé(s) révoquée(s).", messages.SUCCESS)


class ApiKeyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """For a staff member who is not a superuser: the keys of the organisations they manage (their own, or any
    at the national level), and new keys only for those."""

    visibility = "managed_by"
    scoped_through = "organisation"
    choice_scoping = {"organisation": "managed_by"}
    list_display = ["name", "organisation", "prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope", "organisation__kind"]
    list_select_related = ["organisation"]
    search_fields = ["name", "prefix", "organisation__name"]
    autocomplete_fields = ["organisation"]
    actions = [revoke_keys]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organisation", "name", "scope"]
        return ["organisation", "name", "scope", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["organisation", "prefix", "created_by", "created_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, full_key = ApiKey.issue(obj.organisation, obj.name, obj.scope, created_by=request.user)
        # The admin goes on with `obj` (history entry, redirection): make it the stored key.
        obj.__dict__.update({k: v for k, v in key.__dict__.items() if k != "_state"})
        obj._state.adding = False
        messages.warning(request, f"Clé à transmettre maintenant, elle ne sera plus affichée : {full_key}")
