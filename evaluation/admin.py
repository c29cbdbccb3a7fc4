"""Admin of the campaigns: for support and checks. The cycle itself (submit, validate, return, reopen)
goes through the portal's pages and `evaluation.services`; here statuses and dates are read-only."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Campaign, Declaration, DeclarationValue, Evidence, Notification


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["title", "year", "organisation", "opens_on", "reminder_on", "closes_on"]
    list_filter = ["year"]
    list_select_related = ["organisation"]
    search_fields = ["title", "organisation__name"]
    autocomplete_fields = ["organisation"]
    filter_horizontal = ["departements"]
    readonly_fields = ["created_by", "created_at"]
    date_hierarchy = "opens_on"


class DeclarationValueInline(admin.TabularInline):
    model = DeclarationValue
    extra = 0
    fields = ["commitment", "indicator", "value", "comment"]
    raw_id_fields = ["commitment"]
    autocomplete_fields = ["indicator"]


class EvidenceInline(admin.TabularInline):
    model = Evidence
    extra = 0
    fields = ["file", "original_name", "content_type", "size", "uploaded_by", "uploaded_at"]
    readonly_fields = ["original_name", "content_type", "size", "uploaded_by", "uploaded_at"]

    def has_add_permission(self, request, obj=None):
        # The service checks the type and size of a file; the admin would bypass it.
        return False


@admin.register(Declaration)
class DeclarationAdmin(SimpleHistoryAdmin):
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
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["subject", "event", "created_at", "sent_at"]
    list_filter = ["event"]
    search_fields = ["key", "subject", "recipients"]
    readonly_fields = ["key", "event", "declaration", "company", "recipients", "subject", "body", "created_at", "sent_at"]

    def has_add_permission(self, request):
        return False
