from django.contrib import admin

from charte.comptes.admin_scoping import ReferentialAdminMixin, ReferentialInlineMixin

from .models import EPCI, QPV, Commune, Departement, QPVCorrespondence, Region


@admin.register(Region)
class RegionAdmin(ReferentialAdminMixin, admin.ModelAdmin):
    choices_scoped = True
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Departement)
class DepartementAdmin(ReferentialAdminMixin, admin.ModelAdmin):
    choices_scoped = True
    list_display = ("code", "name", "region")
    list_select_related = ("region",)
    list_filter = ("region",)
    search_fields = ("code", "name")


@admin.register(EPCI)
class EPCIAdmin(ReferentialAdminMixin, admin.ModelAdmin):
    choices_scoped = True
    list_display = ("siren", "name")
    search_fields = ("siren", "name")


@admin.register(Commune)
class CommuneAdmin(ReferentialAdminMixin, admin.ModelAdmin):
    choices_scoped = True
    list_display = ("code", "name", "departement", "epci")
    list_select_related = ("departement", "epci")
    list_filter = ("departement__region", "departement")
    search_fields = ("code", "name")
    autocomplete_fields = ("departement", "epci")


class SuccessorInline(ReferentialInlineMixin, admin.TabularInline):
    model = QPVCorrespondence
    fk_name = "qpv_2015"
    autocomplete_fields = ("qpv_2024",)
    extra = 0
    verbose_name = "QPV 2024 correspondant"
    verbose_name_plural = "QPV 2024 correspondants (si ce QPV est de la génération 2015)"


class PredecessorInline(ReferentialInlineMixin, admin.TabularInline):
    model = QPVCorrespondence
    fk_name = "qpv_2024"
    autocomplete_fields = ("qpv_2015",)
    extra = 0
    verbose_name = "QPV 2015 correspondant"
    verbose_name_plural = "QPV 2015 correspondants (si ce QPV est de la génération 2024)"


@admin.register(QPV)
class QPVAdmin(ReferentialAdminMixin, admin.ModelAdmin):
    choices_scoped = True
    list_display = ("code", "name", "generation", "departement", "epci", "population")
    list_select_related = ("departement", "epci")
    list_filter = ("generation", "departement__region", "departement")
    search_fields = ("code", "name")
    autocomplete_fields = ("departement", "communes", "epci")
    readonly_fields = ("updated_at",)
    inlines = [SuccessorInline, PredecessorInline]


@admin.register(QPVCorrespondence)
class QPVCorrespondenceAdmin(ReferentialAdminMixin, admin.ModelAdmin):
    list_display = ("qpv_2015", "qpv_2024")
    list_select_related = ("qpv_2015", "qpv_2024")
    list_filter = ("qpv_2015__departement",)
    search_fields = ("qpv_2015__code", "qpv_2015__name", "qpv_2024__code", "qpv_2024__name")
    autocomplete_fields = ("qpv_2015", "qpv_2024")
