"""Admin of the campaigns and of the evaluation engine: for support and checks. The cycle itself (submit,
validate, return, reopen) goes through the portal's pages and `evaluation.campaigns.services`; here statuses and dates
are read-only. Compile runs and their results are read-only too: a run is started from the portal or by
`compile_evaluation`, and its rows are immutable once written."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from charte.comptes.admin_scoping import ScopedAdminMixin, ScopedInlineMixin, request_scope

from .models import (
    AnnualResult,
    Campaign,
    Declaration,
    DeclarationValue,
    EvaluationRun,
    Evidence,
    ExportJob,
    Notification,
)


@admin.register(Campaign)
class CampaignAdmin(ScopedAdminMixin, admin.ModelAdmin):
    # A campaign is opened by the organisation one acts for.
    choice_scoping = {"organisation": "managed_by"}
    list_display = ["title", "year", "organisation", "opens_on", "reminder_on", "closes_on"]
    list_filter = ["year"]
    list_select_related = ["organisation"]
    search_fields = ["title", "organisation__name"]
    autocomplete_fields = ["organisation"]
    filter_horizontal = ["departements"]
    readonly_fields = ["created_by", "created_at"]
    date_hierarchy = "opens_on"

    def may_write(self, request, obj):
        # A préfecture sees the national campaigns too; it changes only those of its own organisation.
        scope = request_scope(request)
        return scope.is_national or obj.organisation_id == scope.organisation_id


class DeclarationValueInline(ScopedInlineMixin, admin.TabularInline):
    model = DeclarationValue
    extra = 0
    fields = ["commitment", "indicator", "value", "comment"]
    raw_id_fields = ["commitment"]
    autocomplete_fields = ["indicator"]


class EvidenceInline(ScopedInlineMixin, admin.TabularInline):
    model = Evidence
    extra = 0
    fields = ["file", "original_name", "content_type", "size", "uploaded_by", "uploaded_at"]
    readonly_fields = ["original_name", "content_type", "size", "uploaded_by", "uploaded_at"]

    def has_add_permission(self, request, obj=None):
        # The service checks the type and size of a file; the admin would bypass it.
        return False


@admin.register(Declaration)
class DeclarationAdmin(ScopedAdminMixin, SimpleHistoryAdmin):
    list_display = ["company", "convention", "year", "status", "submitted_at", "validated_at"]
    list_filter = ["status", "year"]
    list_select_related = ["company", "convention"]
    search_fields = ["company__name", "company__siren", "convention__reference", "convention__title"]
    autocomplete_fields = ["company", "convention", "campaign"]
    readonly_fields = [
        "year",
        "status",
        "submitted_at",
        "submitted_by",
        "validated_at",
        "validated_by",
        "returned_at",
        "returned_by",
        "return_comment",
        "reopened_at",
        "reopened_by",
        "reopen_reason",
        "version",
        "updated_by",
        "created_at",
        "updated_at",
    ]
    inlines = [DeclarationValueInline, EvidenceInline]


@admin.register(Notification)
class NotificationAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ["subject", "event", "created_at", "sent_at"]
    list_filter = ["event"]
    search_fields = ["key", "subject", "recipients"]
    readonly_fields = [
        "key",
        "event",
        "declaration",
        "company",
        "convention",
        "recipients",
        "delivered_to",
        "subject",
        "body",
        "url",
        "created_at",
        "sent_at",
    ]
    exclude = ["html_body"]

    @admin.display(description="destinataires (canal, envoi, lecture)")
    def delivered_to(self, obj):
        lines = []
        for d in obj.deliveries.order_by("pk"):
            if not d.by_email:
                channel = "portail seulement"
            elif d.sent_at:
                channel = f"courriel parti le {d.sent_at:%d/%m/%Y %H:%M}"
            else:
                channel = "courriel en attente"
            lines.append(f"{d.email} — {d.get_reason_display()} {d.organisation_name} — {channel}{' — lue' if d.read_at else ''}")
        return "\n".join(lines) or "—"

    def has_add_permission(self, request):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EvaluationRun)
class EvaluationRunAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    list_display = ["__str__", "year", "scope_type", "scope_key", "status", "trigger", "finished_at", "results_purged_at"]
    list_filter = ["status", "scope_type", "trigger", "year"]
    list_select_related = ["requested_by"]
    search_fields = ["scope_key", "error", "requested_by__email"]
    date_hierarchy = "created_at"
    exclude = ["units", "done_units"]


@admin.register(AnnualResult)
class AnnualResultAdmin(ScopedAdminMixin, ReadOnlyAdmin):
    list_display = ["run", "scope_type", "scope_key", "family", "indicator", "declared_value", "computed_value", "target_value"]
    list_filter = ["scope_type", "year"]
    list_select_related = ["run", "family", "indicator"]
    search_fields = ["scope_key"]
    # A national run writes about a million rows: counting them all for every page would be slow.
    show_full_result_count = False
    raw_id_fields = ["run"]


@admin.register(ExportJob)
class ExportJobAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Export jobs are asked for from the lists and downloaded from « Mes exports »; the admin only reads them,
    and, like the portal, shows a staff member the jobs of their own membership (a file holds its requester's
    rows). A superuser sees them all, to answer « what became of my export? »; the file itself is never linked."""

    list_display = ("kind", "status", "organisation", "created_by", "created_at", "rows_done", "expires_at")
    list_filter = ("kind", "status")
    search_fields = ("organisation__name", "created_by__email")
    exclude = ("file",)
    readonly_fields = [field.name for field in ExportJob._meta.fields if field.name != "file"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
