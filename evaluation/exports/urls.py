from django.urls import path

from . import views

app_name = "exports"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("nouveau/", views.job_create, name="create"),
    path("<int:pk>/", views.job_detail, name="detail"),
    path("<int:pk>/avancement/", views.job_progress, name="progress"),
    path("<int:pk>/fichier/", views.job_download, name="download"),
]
