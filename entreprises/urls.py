from django.urls import path

from . import club_views, contact_views, views

app_name = "entreprises"

urlpatterns = [
    path("", views.company_list, name="list"),
    path("export.csv", views.company_export, name="export"),
    path("nouvelle/", views.company_create, name="create"),
    path("<int:pk>/", views.company_detail, name="detail"),
    path("<int:pk>/modifier/", views.company_edit, name="edit"),
    path("<int:pk>/inviter/", views.company_invite, name="invite"),
    path("<int:company_pk>/diagnostics/nouveau/", views.diagnostic_create, name="diagnostic_create"),
    path("diagnostics/<int:pk>/", views.diagnostic_detail, name="diagnostic_detail"),
    path("diagnostics/<int:pk>/modifier/", views.diagnostic_edit, name="diagnostic_edit"),
    path("contacts/<int:pk>/donnees/", contact_views.contact_export, name="contact_export"),
    path("contacts/<int:pk>/anonymiser/", contact_views.contact_erase, name="contact_erase"),
    path("clubs/", club_views.club_list, name="clubs"),
    path("clubs/<int:pk>/membres/", club_views.club_members, name="club_members"),
    path("clubs/<int:pk>/membres/ajouter/", club_views.club_member_add, name="club_member_add"),
    path("clubs/adhesions/<int:pk>/terminer/", club_views.club_member_end, name="club_member_end"),
]
