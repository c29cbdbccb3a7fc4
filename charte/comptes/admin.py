# The third-party admins are imported first so that `restrict_third_party_admins` below finds them registered.
import axes.admin  # noqa: F401
import dsfr.admin  # noqa: F401
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import forms as auth_forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from .admin_scoping import (
    ScopedAdminMixin,
    ScopedInlineMixin,
    is_unrestricted,
    request_scope,
    restrict_third_party_admins,
    writes_referential,
)
from .api_keys_admin import ApiKeyAdmin
from .models import ApiKey, Invitation, Membership, Organisation, User


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


def membership_refusal(request, instance, user, organisation, role):
    """Why a staff member who is not a superuser may not save this membership, or None. Nobody changes their own
    memberships; memberships are managed only for the organisations one manages (`Organisation.objects.managed_by`:
    one's own, or any at the national level), so never for a wider one; only an administrator of the
    organisation gives or changes the administrator role."""
    if is_unrestricted(request):
        return None
    scope = request_scope(request)
    if request.user.pk in {getattr(user, "pk", None), instance.user_id}:
        return "Vous ne pouvez pas modifier vos propres adhésions."
    organisation_ids = {getattr(organisation, "pk", None), instance.organisation_id} - {None}
    managed = Organisation.objects.managed_by(scope).filter(pk__in=organisation_ids)
    if managed.count() != len(organisation_ids):
        return "Vous ne pouvez gérer que les adhésions des organisations pour lesquelles vous agissez."
    admin_role = Membership.Role.ADMIN
    if admin_role in {role, instance.role if instance.pk else None} and not scope.is_org_admin:
        return "Seul un administrateur de l'organisation peut attribuer ou modifier le rôle d'administrateur."
    return None


class MembershipAdminForm(forms.ModelForm):
    """Checks `membership_refusal` for the person saving (set as `request` by the admin)."""

    request = None

    class Meta:
        model = Membership
        fields = ("user", "organisation", "role", "is_active")

    def clean(self):
        cleaned = super().clean()
        if self.request is None or (self.instance.pk and not self.has_changed()):
            return cleaned
        refusal = membership_refusal(
            self.request,
            self.instance,
            cleaned.get("user") or getattr(self.instance, "user", None),
            cleaned.get("organisation") or getattr(self.instance, "organisation", None),
            cleaned.get("role"),
        )
        if refusal:
            raise forms.ValidationError(refusal)
        return cleaned


def _form_for(form_class, request):
    return type(form_class.__name__, (form_class,), {"request": request})


class MembershipInlineMixin(ScopedInlineMixin):
    """Memberships are deactivated, never deleted: the inline offers no delete box and records who changed what.
    A staff member who is not a superuser adds them only for the organisations they manage, never to
    themselves."""

    model = Membership
    form = MembershipAdminForm
    extra = 0
    can_delete = False
    fields = ("user", "organisation", "role", "is_active", "updated_at", "updated_by")
    readonly_fields = ("updated_at", "updated_by")
    autocomplete_fields = ("user", "organisation")
    choice_scoping = {"organisation": "managed_by"}

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "organisation", "updated_by")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form = _form_for(formset.form, request)
        return formset

    def _manages(self, request, obj):
        if is_unrestricted(request) or obj is None:
            return True
        if isinstance(obj, User):
            return obj.pk != request.user.pk
        return Organisation.objects.managed_by(request_scope(request)).filter(pk=obj.pk).exists()

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and self._manages(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._manages(request, obj)


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


PRIVILEGES = ("is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(ScopedAdminMixin, RecordsMembershipChangesMixin, auth_admin.UserAdmin):
    """For a staff member who is not a superuser: the people of their scope, never their privileges (staff
    status, superuser status, groups and permissions are shown read-only or not at all), and only the people
    whose every membership belongs to an organisation they manage."""

    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Informations personnelles", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates importantes", {"fields": ("last_login", "date_joined")}),
        ("ProConnect", {"fields": ("proconnect_sub",)}),
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
    # The ProConnect link is written by the sign-in only: editing it would let an administrator sign in as
    # another person with their own ProConnect identity.
    readonly_fields = ("last_login", "date_joined", "proconnect_sub")
    inlines = [UserMembershipInline]

    def get_inlines(self, request, obj):
        # Memberships are added once the user exists, from its change page.
        return self.inlines if obj is not None else []

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if is_unrestricted(request) or obj is None:
            return fieldsets
        hidden = ("groups", "user_permissions")
        return [(name, {**options, "fields": [f for f in options["fields"] if f not in hidden]}) for name, options in fieldsets]

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if is_unrestricted(request):
            return readonly
        return readonly + ("is_staff", "is_superuser")

    def may_write(self, request, obj):
        if obj.pk == request.user.pk:
            return True
        if obj.is_superuser:
            return False
        scope = request_scope(request)
        memberships = obj.memberships.all()
        if memberships.exclude(organisation__in=Organisation.objects.managed_by(scope).values("pk")).exists():
            return False
        return scope.is_org_admin or not memberships.filter(role=Membership.Role.ADMIN).exists()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        scope = request_scope(request)
        if not change and not is_unrestricted(request) and scope.organisation_id:
            # Created by a member of an organisation: the new account joins it (as a member), so that its
            # creator finds it in their scope.
            Membership.objects.create(user=obj, organisation_id=scope.organisation_id, updated_by=request.user)


@admin.register(Organisation)
class OrganisationAdmin(ScopedAdminMixin, RecordsMembershipChangesMixin, admin.ModelAdmin):
    """Organisations of the person's scope; created and changed (kind, départements) by the national level only."""

    list_display = ("name", "kind", "network", "partner_category", "epci", "is_active")
    list_select_related = ("epci",)
    list_filter = ("kind", "network", "partner_category", "is_active", "departements")
    search_fields = ("name", "email")
    autocomplete_fields = ("departements", "epci", "communes")
    readonly_fields = ("created_at", "updated_at")
    inlines = [OrganisationMembershipInline]

    def has_add_permission(self, request):
        return writes_referential(request) and super().has_add_permission(request)

    def may_write(self, request, obj):
        return writes_referential(request)


@admin.register(Membership)
class MembershipAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Memberships of the organisations a person sees; changed only as `membership_refusal` allows."""

    scoped_through = "organisation"
    choice_scoping = {"organisation": "managed_by"}
    form = MembershipAdminForm
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

    def get_form(self, request, obj=None, **kwargs):
        return _form_for(super().get_form(request, obj, **kwargs), request)

    def may_write(self, request, obj):
        return membership_refusal(request, obj, obj.user, obj.organisation, obj.role) is None

    def writable(self, request, queryset):
        if is_unrestricted(request):
            return queryset
        scope = request_scope(request)
        queryset = queryset.filter(organisation__in=Organisation.objects.managed_by(scope).values("pk")).exclude(
            user=request.user
        )
        return queryset if scope.is_org_admin else queryset.exclude(role=Membership.Role.ADMIN)

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Désactiver les adhésions sélectionnées", permissions=["change"])
    def deactivate(self, request, queryset):
        # update() skips auto_now, hence the explicit updated_at.
        count = (
            self.writable(request, queryset)
            .filter(is_active=True)
            .update(is_active=False, updated_by=request.user, updated_at=timezone.now())
        )
        self.message_user(request, f"{count} adhésion(s) désactivée(s).", level=messages.SUCCESS)


admin.site.register(ApiKey, ApiKeyAdmin)


class InvitationAdminForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ("organisation", "email", "first_name", "last_name", "role")

    def clean(self):
        from .people import check_invitable

        cleaned = super().clean()
        if self.instance.pk is None and cleaned.get("organisation") and cleaned.get("email"):
            try:
                check_invitable(cleaned["organisation"], cleaned["email"])
            except forms.ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(Invitation)
class InvitationAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """The portal's members pages are where invitations are made; here a staff member may also create one
    (it goes through the same service, which sends the e-mail), read them, and revoke open ones, for the
    organisations they may invite into."""

    form = InvitationAdminForm
    choice_scoping = {"organisation": "invitable_by"}
    list_display = ("email", "organisation", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_select_related = ("organisation", "invited_by")
    list_filter = ("role", "organisation__kind")
    search_fields = ("email", "organisation__name")
    autocomplete_fields = ("organisation",)
    readonly_fields = (
        "organisation",
        "email",
        "first_name",
        "last_name",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "sent_at",
        "accepted_at",
        "accepted_by",
        "revoked_at",
        "revoked_by",
    )
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return InvitationAdminForm.Meta.fields if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        from .people import invite

        try:
            invitation = invite(
                obj.organisation, obj.email, obj.role, request.user, first_name=obj.first_name, last_name=obj.last_name
            )
        except ValidationError as error:
            # Raced by another invitation since the form's check: nothing was written; show the one that won.
            invitation = Invitation.objects.open().filter(organisation=obj.organisation, email__iexact=obj.email).first()
            if invitation is None:
                raise
            messages.warning(request, " ".join(error.messages))
        obj.__dict__.update({k: v for k, v in invitation.__dict__.items() if k != "_state"})
        obj._state.adding = False

    @admin.action(description="Annuler les invitations sélectionnées", permissions=["change"])
    def revoke(self, request, queryset):
        if not is_unrestricted(request):
            queryset = queryset.filter(organisation__in=Organisation.objects.invitable_by(request_scope(request)).values("pk"))
        count = queryset.open().update(revoked_at=timezone.now(), revoked_by=request.user)
        self.message_user(request, f"{count} invitation(s) annulée(s).", level=messages.SUCCESS)


restrict_third_party_admins()
