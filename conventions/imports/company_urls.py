"""The companies' import pages, under /entreprises/importer/ (charte/urls.py). They live here, beside the import
machinery and `ImportBatch`, because `entreprises`, a lower app, never imports `conventions`."""

from django.urls import path

from . import views

app_name = "company_import"

COMPANIES = {"kind": "companies"}

urlpatterns = [
    path("", views.import_start, COMPANIES, name="import"),
    path("modele.csv", views.import_template, {**COMPANIES, "fmt": "csv"}, name="import_template_csv"),
    path("modele.xlsx", views.import_template, {**COMPANIES, "fmt": "xlsx"}, name="import_template_xlsx"),
    path("<int:pk>/", views.import_batch, COMPANIES, name="import_batch"),
    path("<int:pk>/confirmer/", views.import_confirm, COMPANIES, name="import_confirm"),
    path("<int:pk>/lignes-refusees.csv", views.import_rejects, COMPANIES, name="import_rejects"),
]
