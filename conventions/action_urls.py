from django.urls import path

from . import action_views

app_name = "actions"

urlpatterns = [
    path("", action_views.action_list, name="list"),
    path("export.csv", action_views.action_export, name="export"),
    path("nouvelle/", action_views.action_create, name="create"),
    path("grille/", action_views.action_grid, name="grid"),
    path("<int:pk>/", action_views.action_detail, name="detail"),
    path("<int:pk>/dupliquer/", action_views.action_duplicate, name="duplicate"),
    path("<int:pk>/modifier/", action_views.action_edit, name="edit"),
    path("<int:pk>/supprimer/", action_views.action_delete, name="delete"),
]
