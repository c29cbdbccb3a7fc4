from django.urls import path

from . import views

app_name = "surveys"

urlpatterns = [
    path("", views.survey_list, name="list"),
    path("export.xlsx", views.export_xlsx, name="export"),
    path("moderation/", views.moderation_queue, name="moderation"),
    path("moderation/<int:pk>/", views.moderate, name="moderate"),
    path("questionnaires/", views.questionnaire_list, name="questionnaires"),
    path("questionnaires/<int:pk>/", views.questionnaire_detail, name="questionnaire"),
    path("questions/<int:pk>/activer/", views.club_question_toggle, name="question_toggle"),
    path("action/<int:action_pk>/nouvelle/", views.survey_create, name="create"),
    path("<int:pk>/", views.survey_detail, name="detail"),
    path("<int:pk>/imprimer/", views.survey_print, name="print"),
    path("<int:pk>/liens/", views.tokens_create, name="tokens"),
    path("<int:pk>/liens/imprimer/", views.tokens_print, name="tokens_print"),
    path("<int:pk>/resultats/", views.survey_results, name="results"),
]
