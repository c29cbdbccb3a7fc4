from django.urls import path

from . import views

app_name = "catalogue"

urlpatterns = [
    path("", views.index, name="index"),
    path("historique/", views.history, name="history"),
    path("familles/nouvelle/", views.family_create, name="family_create"),
    path("familles/<int:pk>/modifier/", views.family_edit, name="family_edit"),
    path("types-action/nouveau/", views.action_type_create, name="action_type_create"),
    path("types-action/<int:pk>/modifier/", views.action_type_edit, name="action_type_edit"),
    path("indicateurs/nouveau/", views.indicator_create, name="indicator_create"),
    path("indicateurs/<int:pk>/modifier/", views.indicator_edit, name="indicator_edit"),
]
