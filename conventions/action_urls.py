from django.urls import path

from . import action_views, autocomplete
from .imports import views as import_views

app_name = "actions"

urlpatterns = [
    path("", action_views.action_list, name="list"),
    path("export.csv", action_views.action_export, name="export"),
    path("importer/", import_views.import_start, name="import"),
    path("importer/modele.csv", import_views.import_template, {"fmt": "csv"}, name="import_template_csv"),
    path("importer/modele.xlsx", import_views.import_template, {"fmt": "xlsx"}, name="import_template_xlsx"),
    path("importer/<int:pk>/", import_views.import_batch, name="import_batch"),
    path("importer/<int:pk>/confirmer/", import_views.import_confirm, name="import_confirm"),
    path("importer/<int:pk>/lignes-refusees.csv", import_views.import_rejects, name="import_rejects"),
    path("suggestions/entreprises/", autocomplete.company_suggestions, name="company_suggestions"),
    path("suggestions/conventions/", autocomplete.convention_suggestions, name="convention_suggestions"),
    path("suggestions/qpv/", autocomplete.qpv_suggestions, name="qpv_suggestions"),
    path("nouvelle/", action_views.action_create, name="create"),
    path("grille/", action_views.action_grid, name="grid"),
    path("<int:pk>/", action_views.action_detail, name="detail"),
    path("<int:pk>/dupliquer/", action_views.action_duplicate, name="duplicate"),
    path("<int:pk>/modifier/", action_views.action_edit, name="edit"),
    path("<int:pk>/supprimer/", action_views.action_delete, name="delete"),
]
