from django.urls import path

from conventions.imports import views as import_views
from conventions.models import ImportBatch

from . import declared_views, views

app_name = "evaluation"
DECLARED = {"kind": ImportBatch.Kind.DECLARED_VALUES}

urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("nouvelle/", views.campaign_create, name="campaign_create"),
    path("<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("<int:pk>/synchroniser/", views.campaign_sync, name="campaign_sync"),
    path("<int:pk>/completude/", views.completeness, name="completeness"),
    path("<int:pk>/completude/relancer/", views.completeness_remind, name="completeness_remind"),
    path("<int:pk>/completude.csv", views.completeness_export, name="completeness_export"),
    path("declarations/", views.declaration_list, name="declaration_list"),
    path("declarations/valeurs.csv", declared_views.declared_export, {"fmt": "csv"}, name="declared_export_csv"),
    path("declarations/valeurs.xlsx", declared_views.declared_export, {"fmt": "xlsx"}, name="declared_export_xlsx"),
    # The generic import pages (conventions.imports.views), given this kind's `declared_views.PAGES` at ready().
    path("declarations/importer/", import_views.import_start, DECLARED, name="declared_import"),
    path("declarations/importer/<int:pk>/", import_views.import_batch, DECLARED, name="declared_import_batch"),
    path("declarations/importer/<int:pk>/confirmer/", import_views.import_confirm, DECLARED, name="declared_import_confirm"),
    path(
        "declarations/importer/<int:pk>/lignes-refusees.csv",
        import_views.import_rejects,
        DECLARED,
        name="declared_import_rejects",
    ),
    path("declarations/<int:pk>/", views.declaration, name="declaration"),
    path("declarations/<int:pk>/valider/", views.declaration_validate, name="declaration_validate"),
    path("declarations/<int:pk>/renvoyer/", views.declaration_return, name="declaration_return"),
    path("declarations/<int:pk>/rouvrir/", views.declaration_reopen, name="declaration_reopen"),
    path("declarations/<int:pk>/justificatifs/", views.evidence_upload, name="evidence_upload"),
    path("justificatifs/<int:pk>/", views.evidence_download, name="evidence_download"),
    path("justificatifs/<int:pk>/supprimer/", views.evidence_delete, name="evidence_delete"),
    path("conventions/<int:pk>/historique/", views.convention_history, name="convention_history"),
]
