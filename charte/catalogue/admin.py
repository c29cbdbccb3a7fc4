from django.contrib import admin

from charte.comptes.admin_scoping import ReferentialAdminMixin

from .models import ActionType, Family, Indicator


@admin.register(Family)
class FamilyAdmin(ReferentialAdminMixin, admin.ModelAdmin):
    # Editable in the list so that a territory can relabel and reorder the families in one screen.
    list_display = ("code", "label", "short_label", "position", "is_active")
    list_display_links = ("code",)
    list_editable = ("label", "short_label", "position", "is_active")
    list_filter = ("is_active",)
    search_fields = ("code", "label", "short_label")


@admin.register(Indicator)
class IndicatorAdmin(ReferentialAdminMixin, admin.ModelAdmin):
    list_display = ("code", "label", "unit", "type", "nature", "aggregation", "is_active")
    list_filter = ("type", "nature", "aggregation", "is_active")
    search_fields = ("code", "label")
    autocomplete_fields = ("numerator", "denominator")


@admin.register(ActionType)
class ActionTypeAdmin(ReferentialAdminMixin, admin.ModelAdmin):
    list_display = ("label", "code", "family", "paqte_axis", "is_active")
    list_select_related = ("family",)
    list_filter = ("family", "paqte_axis", "is_active")
    search_fields = ("code", "label")
    filter_horizontal = ("indicators",)
