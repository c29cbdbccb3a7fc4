from django.contrib import admin

from charte.comptes.admin_scoping import ReferentialAdminMixin, ScopedAdminMixin, ScopedInlineMixin

from .models import ClubMembership, Company, Contact, Diagnostic, DiagnosticItem, Establishment, Label


@admin.register(Label)
class LabelAdmin(ReferentialAdminMixin, admin.ModelAdmin):
    list_display = ("name",)
    search_fields = ("name",)


class EstablishmentInline(ScopedInlineMixin, admin.TabularInline):
    model = Establishment
    extra = 0
    fields = ("siret", "name", "address", "commune", "is_head_office")
    autocomplete_fields = ("commune",)


class ClubMembershipInline(ScopedInlineMixin, admin.TabularInline):
    model = ClubMembership
    choice_scoping = {"club": "clubs_visible_to"}
    extra = 0
    fields = ("club", "start_date", "end_date")
    autocomplete_fields = ("club",)


class ContactInline(ScopedInlineMixin, admin.TabularInline):
    model = Contact
    extra = 0
    fields = ("last_name", "first_name", "job_title", "email", "phone", "is_main")


@admin.register(Company)
class CompanyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "siren", "size", "commune", "departement", "is_national_signatory")
    list_select_related = ("commune__departement",)
    list_filter = ("size", "is_national_signatory", "labels", ("commune__departement", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "siren")
    autocomplete_fields = ("commune", "parent", "organisation", "labels")
    readonly_fields = ("created_at", "updated_at")
    inlines = [EstablishmentInline, ClubMembershipInline, ContactInline]

    @admin.display(description="département", ordering="commune__departement__code")
    def departement(self, company):
        return company.commune.departement if company.commune else None


@admin.register(Establishment)
class EstablishmentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("siret", "name", "company", "commune", "is_head_office")
    list_select_related = ("company", "commune")
    list_filter = ("is_head_office", ("commune__departement", admin.RelatedOnlyFieldListFilter))
    search_fields = ("siret", "name", "company__name", "company__siren")
    autocomplete_fields = ("company", "commune")


@admin.register(ClubMembership)
class ClubMembershipAdmin(ScopedAdminMixin, admin.ModelAdmin):
    choice_scoping = {"club": "clubs_visible_to"}
    list_display = ("company", "club", "start_date", "end_date")
    list_select_related = ("company", "club")
    list_filter = ("club", "club__network")
    search_fields = ("company__name", "company__siren", "club__name")
    autocomplete_fields = ("company", "club")
    date_hierarchy = "start_date"


@admin.register(Contact)
class ContactAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("last_name", "first_name", "company", "job_title", "email", "phone", "is_main")
    list_select_related = ("company",)
    list_filter = ("is_main",)
    search_fields = ("last_name", "first_name", "email", "company__name", "company__siren")
    autocomplete_fields = ("company",)


class DiagnosticItemInline(ScopedInlineMixin, admin.TabularInline):
    model = DiagnosticItem
    extra = 0
    fields = ("action_type", "status", "comment")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("action_type")


@admin.register(Diagnostic)
class DiagnosticAdmin(ScopedAdminMixin, admin.ModelAdmin):
    choice_scoping = {"club": "clubs_visible_to"}
    list_display = ("company", "date", "club", "author")
    list_select_related = ("company", "club", "author")
    list_filter = ("club", ("company__commune__departement", admin.RelatedOnlyFieldListFilter))
    search_fields = ("company__name", "company__siren", "comment")
    autocomplete_fields = ("company", "club", "author")
    readonly_fields = ("created_at", "updated_at")
    date_hierarchy = "date"
    inlines = [DiagnosticItemInline]

    def save_model(self, request, obj, form, change):
        if not change and obj.author_id is None:
            obj.author = request.user
        super().save_model(request, obj, form, change)


@admin.register(DiagnosticItem)
class DiagnosticItemAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scoped_through = "diagnostic"
    list_display = ("diagnostic", "action_type", "status")
    list_select_related = ("diagnostic__company", "action_type")
    list_filter = ("status", "action_type__family", "action_type")
    search_fields = ("diagnostic__company__name", "diagnostic__company__siren", "comment")
    autocomplete_fields = ("diagnostic",)
