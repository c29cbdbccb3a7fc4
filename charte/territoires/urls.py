from django.urls import path

from . import views

app_name = "territoires"

urlpatterns = [
    path("", views.departement_list, name="list"),
    path("qpv/<str:code>/", views.qpv_detail, name="qpv"),
    path("epci/<str:siren>/", views.epci_detail, name="epci"),
    path("<str:code>/", views.departement_detail, name="departement"),
]
