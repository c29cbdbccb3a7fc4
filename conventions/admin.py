from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from charte.comptes.admin_scoping import ScopedAdminMixin, ScopedInlineMixin, request_scope

from . import services
from .models import Action, ActionPartner, Commitment, Convention, ConventionDocument, ImportBatch, Signatory, Target


class SignatoryInline(ScopedInlineMixin, admin.TabularInline):
    model = Signatory
    extra = 0
    fields = ("role", "name", "organisation_name", "signed_on")


class ConventionDocumentInline(ScopedInlineMixin, admin.TabularInline):
    model = ConventionDocument
    extra = 0
    fields = ("kind", "title", "file", "uploaded_by", "uploaded_at")
    readonly_fields = ("uploaded_by", "uploaded_at")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("uploaded_by")


class CommitmentInline(ScopedInlineMixin, admin.TabularInline):
    # Targets hang from commitments; inlines don't nest, so they are edited from the commitment's own page.
    model = Commitment
    extra = 0
    fields = ("family", "action_type", "description")
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("family", "action_type")


@admin.register(Convention)
class ConventionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    choice_scoping = {"club": "clubs_visible_to"}
    list_display = (
        "reference",
        "title",
        "kind",
        "status",
        "generation",
        "departement",
        "club",
        "company_names",
        "start_date",
        "end_date",
    )
    list_select_related = ("departement", "club")
    list_filter = ("kind", "status", "generation", "departement", "club")
    search_fields = ("reference", "title", "companies__name", "companies__siren")
    autocomplete_fields = ("companies", "parent", "framework", "predecessor", "departement", "club")
    # The status changes only through conventions.services, which check the transition and stamp it.
    readonly_fields = ("status", "status_changed_at", "created_by", "created_at", "updated_at")
    date_hierarchy = "start_date"
    fieldsets = (
        (None, {"fields": ("reference", "title", "kind", "generation", "status", "status_changed_at")}),
        ("Parties", {"fields": ("companies", "departement", "club")}),
        ("Période", {"fields": ("start_date", "end_date")}),
        ("Liens", {"fields": ("parent", "framework", "predecessor")}),
        ("Résiliation", {"fields": ("termination_reason",)}),
        ("Suivi", {"fields": ("created_by", "created_at", "updated_at")}),
    )
    inlines = [SignatoryInline, ConventionDocumentInline, CommitmentInline]
    # Termination and renewal need a reason or dates: they belong to the convention's own pages, not to a bulk action.
    actions = ["submit_for_negotiation", "back_to_draft", "sign", "activate"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("companies")

    def may_write(self, request, obj):
        # A préfecture sees the national conventions declined in its départements; only the national level writes them.
        return obj.kind != Convention.Kind.NATIONAL or request_scope(request).is_national

    def _apply(self, request, queryset, transition, done):
        """Run one service per convention: one refusal doesn't stop the others, and each is reported in French."""
        count = 0
        for convention in queryset:
            try:
                transition(convention, by=request.user)
            except ValidationError as error:
                self.message_user(request, f"{convention.reference} : {' '.join(error.messages)}", level=messages.ERROR)
            else:
                count += 1
        if count:
            self.message_user(request, f"{count} convention(s) {done}.", level=messages.SUCCESS)

    @admin.action(description="Mettre en négociation les conventions sélectionnées", permissions=["change"])
    def submit_for_negotiation(self, request, queryset):
        self._apply(request, queryset, services.submit_for_negotiation, "mise(s) en négociation")

    @admin.action(description="Remettre en brouillon les conventions sélectionnées", permissions=["change"])
    def back_to_draft(self, request, queryset):
        self._apply(request, queryset, services.back_to_draft, "remise(s) en brouillon")

    @admin.action(description="Marquer signées les conventions sélectionnées (signataires déjà datés)", permissions=["change"])
    def sign(self, request, queryset):
        self._apply(request, queryset, services.sign, "signée(s)")

    @admin.action(description="Mettre en vigueur les conventions sélectionnées", permissions=["change"])
    def activate(self, request, queryset):
        self._apply(request, queryset, services.activate, "mise(s) en vigueur")

    @admin.display(description="entreprises")
    def company_names(self, convention):
        return ", ".join(company.name for company in convention.companies.all())

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is ConventionDocument:
            for document in formset.save(commit=False):
                if document.uploaded_by_id is None:
                    document.uploaded_by = request.user
                document.save()
            for document in formset.deleted_objects:
                document.delete()
            formset.save_m2m()
            return
        super().save_formset(request, form, formset, change)


@admin.register(Signatory)
class SignatoryAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scoped_through = "convention"
    list_display = ("name", "role", "organisation_name", "signed_on", "convention")
    list_select_related = ("convention",)
    list_filter = ("role", "convention__departement")
    search_fields = ("name", "organisation_name", "convention__reference", "convention__title")
    autocomplete_fields = ("convention",)


@admin.register(ConventionDocument)
class ConventionDocumentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scoped_through = "convention"
    list_display = ("title", "kind", "convention", "uploaded_by", "uploaded_at")
    list_select_related = ("convention", "uploaded_by")
    list_filter = ("kind", "convention__departement")
    search_fields = ("title", "convention__reference", "convention__title")
    autocomplete_fields = ("convention",)
    readonly_fields = ("uploaded_by", "uploaded_at")

    def save_model(self, request, obj, form, change):
        if obj.uploaded_by_id is None:
            obj.uploaded_by = request.user
        super().save_model(request, obj, form, change)


class TargetInline(ScopedInlineMixin, admin.TabularInline):
    model = Target
    extra = 0
    fields = ("indicator", "year", "value")
    autocomplete_fields = ("indicator",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("indicator")


@admin.register(Commitment)
class CommitmentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scoped_through = "convention"
    list_display = ("__str__", "convention", "family", "action_type")
    list_select_related = ("convention", "family", "action_type")
    list_filter = ("family", "convention__status", "convention__departement")
    search_fields = ("description", "convention__reference", "convention__title", "convention__companies__name")
    autocomplete_fields = ("convention", "action_type")
    inlines = [TargetInline]


@admin.register(Target)
class TargetAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scoped_through = "commitment__convention"
    list_display = ("indicator", "year", "value", "commitment", "convention")
    list_select_related = ("indicator", "commitment__family", "commitment__action_type", "commitment__convention")
    list_filter = ("year", "indicator", "commitment__convention__departement")
    search_fields = ("indicator__code", "indicator__label", "commitment__convention__reference")
    autocomplete_fields = ("commitment", "indicator")

    @admin.display(description="convention", ordering="commitment__convention__reference")
    def convention(self, target):
        return target.commitment.convention


class ActionPartnerInline(ScopedInlineMixin, admin.TabularInline):
    model = ActionPartner
    extra = 0
    fields = ("kind", "name")


@admin.register(Action)
class ActionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    choice_scoping = {"club": "clubs_visible_to"}
    list_display = (
        "title",
        "action_type",
        "start_date",
        "departement",
        "club",
        "convention",
        "company_names",
        "beneficiaries_total",
        "beneficiaries_qpv",
    )
    list_select_related = ("action_type", "departement", "club", "convention")
    list_filter = ("action_type__family", "action_type", "departement", "club")
    search_fields = ("title", "companies__name", "companies__siren", "convention__reference")
    autocomplete_fields = ("action_type", "companies", "convention", "departement", "club", "qpvs")
    readonly_fields = ("logged_by", "created_at", "updated_at")
    date_hierarchy = "start_date"
    inlines = [ActionPartnerInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("companies")

    @admin.display(description="entreprises")
    def company_names(self, action):
        return ", ".join(company.name for company in action.companies.all())

    def save_model(self, request, obj, form, change):
        if not change:
            obj.logged_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ActionPartner)
class ActionPartnerAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scoped_through = "action"
    list_display = ("name", "kind", "action")
    list_select_related = ("action",)
    list_filter = ("kind",)
    search_fields = ("name", "action__title")
    autocomplete_fields = ("action",)


@admin.register(ImportBatch)
class ImportBatchAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Imports are made and confirmed in the portal (« Actions › Importer »); the admin only reads them, within
    the person's scope, to help someone who asks what became of a file."""

    list_display = ("original_name", "kind", "status", "organisation", "created_by", "created_at", "rows_total")
    list_filter = ("kind", "status")
    search_fields = ("original_name", "organisation__name", "created_by__email")
    readonly_fields = [field.name for field in ImportBatch._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
