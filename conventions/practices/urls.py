from django.urls import path

from . import catalogue, views

app_name = "practices"

urlpatterns = [
    # Finding and reproducing (catalogue.py).
    path("", catalogue.catalogue, name="catalogue"),
    path("publiques/", catalogue.public_catalogue, name="public_catalogue"),
    path("publiques/<int:pk>/", catalogue.public_detail, name="public_detail"),
    path("<int:pk>/reproduire/", catalogue.reproduce, name="reproduce"),
    path("mes-fiches/", views.sheet_list, name="mine"),
    path("nouvelle/", views.sheet_create, name="create"),
    path("<int:pk>/", views.sheet_detail, name="detail"),
    path("<int:pk>/modifier/", views.sheet_edit, name="edit"),
    path("<int:pk>/transmettre/", views.sheet_submit, name="submit"),
    path("<int:pk>/relire/", views.sheet_review, name="review"),
    path("<int:pk>/accord/", views.sheet_consent, name="consent"),
    path("<int:pk>/pieces-jointes/ajouter/", views.attachment_add, name="attachment_add"),
    path("<int:pk>/pieces-jointes/<int:attachment_pk>/", views.attachment_download, name="attachment"),
    path("<int:pk>/pieces-jointes/<int:attachment_pk>/retirer/", views.attachment_delete, name="attachment_delete"),
]
