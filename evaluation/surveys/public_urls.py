"""The public answer pages: no account, no JavaScript needed."""

from django.urls import path

from . import views

app_name = "survey_public"

urlpatterns = [
    path("relances/arreter/<str:signed>/", views.stop_follow_up, name="stop"),
    path("<slug:public_key>/", views.answer, name="answer"),
    path("<slug:public_key>/merci/", views.thanks, name="thanks"),
    path("<slug:public_key>/<slug:token>/", views.answer, name="answer_token"),
]
