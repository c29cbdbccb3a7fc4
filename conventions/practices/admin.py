from django.contrib import admin

from charte.comptes.admin_scoping import ReferentialAdminMixin, ScopedAdminMixin, ScopedInlineMixin, request_scope

from . import services
from .models import PracticeAttachment, PracticeCompany, PracticeInterest, PracticePublic, PracticeSheet, PracticeTransition


class PracticeCompanyInline(ScopedInlineMixin, admin.TabularInline):
    model = PracticeCompany
    extra = 0
    fields = ("company", "consent", "consent_by", "consent_at", "consent_comment")
    # The consent is the company's own answer, given on its page: the admin shows it, never writes it.
    readonly_fields = ("consent", "consent_by", "consent_at", "consent_comment")
    autocomplete_fields = ("company",)


class PracticeAttachmentInline(ScopedInlineMixin, admin.TabularInline):
    model = PracticeAttachment
    extra = 0
    fields = ("title", "kind", "alt_text", "original_name", "size", "uploaded_by", "uploaded_at")
    readonly_fields = ("kind", "original_name", "size", "uploaded_by", "uploaded_at")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        # Uploads are checked (type, size) by the sheet's page, not by the admin.
        return False


class PracticeTransitionInline(ScopedInlineMixin, admin.TabularInline):
    model = PracticeTransition
    extra = 0
    fields = ("at", "from_status", "to_status", "by", "organisation", "comment")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(PracticeSheet)
class PracticeSheetAdmin(ScopedAdminMixin, admin.ModelAdmin):
    choice_scoping = {"clubs": "clubs_visible_to"}
    list_display = ("title", "status", "departement", "family", "author_organisation", "public", "is_demo", "updated_at")
    list_select_related = ("departement", "family", "author_organisation")
    list_filter = ("status", "family", "departement", "public", "is_demo")
    search_fields = ("title", "author_organisation__name")
    autocomplete_fields = ("departement", "qpvs", "clubs", "actions", "reproduces", "author_organisation", "action_types")
    readonly_fields = ("status", "review_comment", "published_at", "created_by", "created_at", "updated_at")
    inlines = [PracticeCompanyInline, PracticeAttachmentInline, PracticeTransitionInline]

    def may_write(self, request, obj):
        # The workflow's rule: its authors, while draft or returned (the status itself only changes on its pages).
        return services.can_edit(request_scope(request), obj)


@admin.register(PracticePublic)
class PracticePublicAdmin(ReferentialAdminMixin, admin.ModelAdmin):
    list_display = ("label", "code", "position")
    search_fields = ("label", "code")


@admin.register(PracticeInterest)
class PracticeInterestAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Read-only: an interest is said on the sheet's page, which tells the authors."""

    list_display = ("sheet", "organisation", "user", "created_at")
    list_select_related = ("sheet", "organisation", "user")
    search_fields = ("sheet__title", "organisation__name")
    readonly_fields = ("sheet", "organisation", "user", "message", "created_at")

    def has_add_permission(self, request):
        return False

    def may_write(self, request, obj):
        return False
