from django.urls import path

from . import action_views, autocomplete

app_name = "actions"

urlpatterns = [
    path("", action_views.action_list, name="list"),
    path("export.csv", action_views.action_export, name="export"),
    path("suggestions/entreprises/", autocomplete.company_suggestions, name="company_suggestions"),
    path("suggestions/conventions/", autocomplete.convention_suggestions, name="convention_suggestions"),
    path("nouvelle/", action_views.action_create, name="create"),
    path("<int:pk>/", action_views.action_detail, name="detail"),
    path("<int:pk>/modifier/", action_views.action_edit, name="edit"),
    path("<int:pk>/supprimer/", action_views.action_delete, name="delete"),
]
