from django import forms
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.utils import timezone

from .api_keys_admin import ApiKeyAdmin
from .models import ApiKey, Membership, Organisation, User


class EmailUniqueMixin:
    """E-mail addresses are stored lower-case and compared case-insensitively: say so at the field."""

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        others = User.objects.filter(email__iexact=email)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError("Un utilisateur avec cette adresse électronique existe déjà.")
        return email


class UserCreationForm(EmailUniqueMixin, auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "first_name", "last_name")


class UserChangeForm(EmailUniqueMixin, auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInlineMixin:
    """Memberships are deactivated, never deleted: the inline offers no delete box and records who changed what."""

    model = Membership
    extra = 0
    can_delete = False
    fields = ("user", "organisation", "role", "is_active", "updated_at", "updated_by")
    readonly_fields = ("updated_at", "updated_by")
    autocomplete_fields = ("user", "organisation")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "organisation", "updated_by")


class UserMembershipInline(MembershipInlineMixin, admin.TabularInline):
    fk_name = "user"


class OrganisationMembershipInline(MembershipInlineMixin, admin.TabularInline):
    fk_name = "organisation"


class RecordsMembershipChangesMixin:
    def save_formset(self, request, form, formset, change):
        if formset.model is Membership:
            for membership in formset.save(commit=False):
                membership.updated_by = request.user
                membership.save()
            formset.save_m2m()
            return
        super().save_formset(request, form, formset, change)


@admin.register(User)
class UserAdmin(RecordsMembershipChangesMixin, auth_admin.UserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Informations personnelles", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates importantes", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "first_name", "last_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "memberships__organisation__kind", "groups")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    inlines = [UserMembershipInline]

    def get_inlines(self, request, obj):
        # Memberships are added once the user exists, from its change page.
        return self.inlines if obj is not None else []


@admin.register(Organisation)
class OrganisationAdmin(RecordsMembershipChangesMixin, admin.ModelAdmin):
    list_display = ("name", "kind", "network", "partner_category", "epci", "is_active")
    list_select_related = ("epci",)
    list_filter = ("kind", "network", "partner_category", "is_active", "departements")
    search_fields = ("name", "email")
    autocomplete_fields = ("departements", "epci")
    readonly_fields = ("created_at", "updated_at")
    inlines = [OrganisationMembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "organisation_kind", "role", "is_active", "updated_at", "updated_by")
    list_select_related = ("user", "organisation", "updated_by")
    list_filter = ("is_active", "role", "organisation__kind")
    search_fields = ("user__email", "user__first_name", "user__last_name", "organisation__name")
    autocomplete_fields = ("user", "organisation")
    readonly_fields = ("created_at", "updated_at", "updated_by")
    actions = ["deactivate"]

    @admin.display(description="type d'organisation", ordering="organisation__kind")
    def organisation_kind(self, membership):
        return membership.organisation.get_kind_display()

    def has_delete_permission(self, request, obj=None):
        # History of who belonged where must stay readable: deactivate instead.
        return False

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Désactiver les adhésions sélectionnées", permissions=["change"])
    def deactivate(self, request, queryset):
        # update() skips auto_now, hence the explicit updated_at.
        count = queryset.filter(is_active=True).update(is_active=False, updated_by=request.user, updated_at=timezone.now())
        self.message_user(request, f"{count} adhésion(s) désactivée(s).", level=messages.SUCCESS)


admin.site.register(ApiKey, ApiKeyAdmin)
