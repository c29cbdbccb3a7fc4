from django.urls import path

from . import company_views, views

app_name = "conventions"

urlpatterns = [
    path("", views.convention_list, name="list"),
    path("export.csv", views.export, name="export"),
    path("nouvelle/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/modifier/", views.edit, name="edit"),
    path("<int:pk>/soumettre/", views.submit, name="submit"),
    path("<int:pk>/remettre-en-brouillon/", views.back_to_draft, name="back_to_draft"),
    path("<int:pk>/signer/", views.sign, name="sign"),
    path("<int:pk>/mettre-en-vigueur/", views.activate, name="activate"),
    path("<int:pk>/resilier/", views.terminate, name="terminate"),
    path("<int:pk>/renouveler/", views.renew, name="renew"),
    path("documents/<int:pk>/", views.document, name="document"),
    path("entreprise/<int:company_pk>/engagements/", company_views.company_commitments, name="company_commitments"),
]
