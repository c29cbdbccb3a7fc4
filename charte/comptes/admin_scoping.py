"""The admin goes through the same scoping policy as the portal.

Superusers keep seeing and changing every row (they run the platform). Any other staff member acts with the
scope of their current membership, put on the request by `CurrentOrganisationMiddleware` (the first active one
unless they switched); without an active membership that scope is empty. For them, every registered admin is
one of three kinds, each a mixin of this module:

- `ScopedAdminMixin`: rows, change / delete / history pages, bulk actions, form choices (ForeignKey and
  ManyToMany, autocompletes included) and inlines all derive from the models' querysets
  (`Model.objects.visible_to(scope)`). An admin declares only how its model is scoped: by its own
  `visible_to`, or, for a model reached through another one, `scoped_through` (e.g. "company" for a contact:
  the company's `visible_to`). A foreign row answers as a missing one.
- `ReferentialAdminMixin`: pure referential data (territories, catalogue, labels), readable by all staff,
  written only by superusers and the national level. As form choices, a territory is offered only within the
  editor's scope (`choices_scoped`: the model's `visible_to`).
- `SuperuserOnlyAdminMixin`: the platform's own machinery (groups and permissions, DSFR settings, login
  attempts): superusers only.

Inlines use `ScopedInlineMixin` (their rows follow the parent's page, their choices are scoped) or
`ReferentialInlineMixin`.
"""

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import FieldDoesNotExist
from django.http import Http404

from . import scoping


def request_scope(request):
    return getattr(request, "scope", None) or scoping.Scope.none()


def is_unrestricted(request):
    """Superusers run the platform: the admin is not scoped for them."""
    user = request.user
    return user.is_active and user.is_superuser


def writes_referential(request):
    return is_unrestricted(request) or request_scope(request).is_national


def allowed_choices(request, model, queryset, admin_site=None):
    """Rows of `model` a non-superuser may pick in an admin form: those the model's own admin offers
    (`choice_queryset`). A model without a scoped admin offers nothing."""
    if is_unrestricted(request):
        return queryset
    model_admin = (admin_site or admin.site)._registry.get(model)
    if model_admin is None or not hasattr(model_admin, "choice_queryset"):
        return queryset.none()
    return queryset.filter(pk__in=model_admin.choice_queryset(request).values("pk"))


class ScopedChoicesMixin:
    """Form choices of ForeignKey and ManyToMany fields follow the scoping policy. `choice_scoping` narrows a
    field to another method of the related model's queryset than the one its admin uses (e.g. a convention's
    animating club among `clubs_visible_to`, not among every organisation the person sees)."""

    choice_scoping = {}

    def field_choices(self, request, db_field, queryset):
        if is_unrestricted(request):
            return queryset
        method = self.choice_scoping.get(db_field.name)
        if method:
            visible = getattr(db_field.related_model.objects, method)(request_scope(request))
            return queryset.filter(pk__in=visible.values("pk"))
        return allowed_choices(request, db_field.related_model, queryset, self.admin_site)

    def _scoped_formfield(self, request, db_field, formfield):
        if formfield is not None and hasattr(formfield, "queryset"):
            formfield.queryset = self.field_choices(request, db_field, formfield.queryset)
        return formfield

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return self._scoped_formfield(request, db_field, formfield)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        return self._scoped_formfield(request, db_field, formfield)


class AutocompleteChoicesMixin:
    """The admin's autocomplete endpoint searches the related model's admin: narrow its answer to what the
    source field's form offers, so that the widget proposes nothing the form would refuse."""

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        match = getattr(request, "resolver_match", None)
        if is_unrestricted(request) or match is None or match.url_name != "autocomplete":
            return queryset, may_have_duplicates
        try:
            source_model = apps.get_model(request.GET["app_label"], request.GET["model_name"])
            source_field = source_model._meta.get_field(request.GET["field_name"])
        except (KeyError, LookupError, FieldDoesNotExist):
            return queryset.none(), may_have_duplicates
        source_admin = self.admin_site._registry.get(source_model)
        if source_admin is None or not hasattr(source_admin, "field_choices"):
            return queryset.none(), may_have_duplicates
        return source_admin.field_choices(request, source_field, queryset), may_have_duplicates


class _ObjectPagesMixin:
    """A foreign row's history pages answer 404, like a missing one (change and delete pages already do
    through `get_object`, which reads `get_queryset`)."""

    def _refuse_foreign(self, request, object_id):
        if not is_unrestricted(request) and self.get_object(request, unquote(object_id)) is None:
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self._refuse_foreign(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # Only routed by django-simple-history's admin, which reads the historical row unscoped.
        self._refuse_foreign(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


class ScopedAdminMixin(_ObjectPagesMixin, AutocompleteChoicesMixin, ScopedChoicesMixin):
    """Put before `admin.ModelAdmin`. The rows are those the model's queryset method `visibility` (by default
    `visible_to`) answers for the person's scope, or, with `scoped_through`, those whose related row reached
    through that lookup it answers (`scoped_through = "commitment__convention"` for a target: the visible
    conventions). `may_write(request, obj)` refuses changes to some visible rows (read-only page)."""

    scoped_through = None
    visibility = "visible_to"

    def visible_model(self):
        """The model whose `visibility` method decides the rows: this admin's, or the one `scoped_through` reaches."""
        model = self.model
        for name in self.scoped_through.split("__") if self.scoped_through else ():
            model = model._meta.get_field(name).related_model
        return model

    def scoped_rows(self, request, queryset):
        visible = getattr(self.visible_model().objects, self.visibility)(request_scope(request))
        lookup = f"{self.scoped_through}__in" if self.scoped_through else "pk__in"
        # A subquery keeps the admin's own select_related / prefetch_related and ordering.
        return queryset.filter(**{lookup: visible.values("pk")})

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if is_unrestricted(request):
            return queryset
        return self.scoped_rows(request, queryset)

    def choice_queryset(self, request):
        """What a form of another admin may offer from this model."""
        return self.get_queryset(request)

    def may_write(self, request, obj):
        return True

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        if allowed and obj is not None and not is_unrestricted(request):
            return self.may_write(request, obj)
        return allowed

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        if allowed and obj is not None and not is_unrestricted(request):
            return self.may_write(request, obj)
        return allowed


class ReferentialAdminMixin(AutocompleteChoicesMixin, ScopedChoicesMixin):
    """Referential data: every staff member may read it; only superusers and the national level write it.
    `choices_scoped` limits what another admin's form offers from it to the model's `visible_to` (e.g. the
    départements of the person's scope)."""

    choices_scoped = False

    def choice_queryset(self, request):
        queryset = self.get_queryset(request)
        if is_unrestricted(request) or not self.choices_scoped:
            return queryset
        visible = self.model.objects.visible_to(request_scope(request))
        return queryset.filter(pk__in=visible.values("pk"))

    def has_add_permission(self, request, *args):
        return writes_referential(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return writes_referential(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return writes_referential(request) and super().has_delete_permission(request, obj)


class ScopedInlineMixin(ScopedChoicesMixin):
    """Put before `admin.TabularInline`: the rows are those of a parent the person may see (its page refuses
    any other); the choices of the inline's fields are scoped."""


class ReferentialInlineMixin(ScopedChoicesMixin):
    """An inline of referential data, written only by superusers and the national level."""

    def has_add_permission(self, request, obj=None):
        return writes_referential(request) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return writes_referential(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return writes_referential(request) and super().has_delete_permission(request, obj)


class SuperuserOnlyAdminMixin:
    """The platform's own machinery (groups and permissions, DSFR settings, login attempts): invisible to
    staff members who are not superusers, and never offered as a choice to them."""

    def has_module_permission(self, request):
        return is_unrestricted(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return is_unrestricted(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return is_unrestricted(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return is_unrestricted(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return is_unrestricted(request) and super().has_delete_permission(request, obj)

    def choice_queryset(self, request):
        queryset = self.get_queryset(request)
        return queryset if is_unrestricted(request) else queryset.none()


PORTAL_APPS = ("comptes", "territoires", "catalogue", "entreprises", "conventions", "evaluation", "surveys")


def restrict_third_party_admins(site=None):
    """Re-register every admin of an app outside the portal's own (auth's groups, DSFR, axes) as superuser-only."""
    site = site or admin.site
    for model, model_admin in list(site._registry.items()):
        if model._meta.app_label in PORTAL_APPS or isinstance(model_admin, SuperuserOnlyAdminMixin):
            continue
        restricted = type(type(model_admin).__name__, (SuperuserOnlyAdminMixin, type(model_admin)), {})
        site.unregister(model)
        site.register(model, restricted)
