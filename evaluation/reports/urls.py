from django.urls import path

from . import views

app_name = "rapports"

urlpatterns = [
    path("", views.index, name="index"),
    path("donnees-ouvertes/", views.open_data, name="open_data"),
    path("donnees-ouvertes/departements-familles.csv", views.open_data_csv, name="open_data_csv"),
    path("donnees-ouvertes/departements-familles.json", views.open_data_json, name="open_data_json"),
    path("<slug:kind>/<str:key>/", views.report, name="report"),
    path("<slug:kind>/<str:key>/progression/", views.progress, name="progress"),
    path("<slug:kind>/<str:key>/lancer/", views.start, name="start"),
    path("<slug:kind>/<str:key>/rapport.xlsx", views.export_xlsx, name="xlsx"),
    path("<slug:kind>/<str:key>/rapport.csv", views.export_csv, name="csv"),
    path("<slug:kind>/<str:key>/rapport.pdf", views.export_pdf, name="pdf"),
    path("<slug:kind>/<str:key>/non-declarants.csv", views.export_missing_csv, name="missing_csv"),
]
