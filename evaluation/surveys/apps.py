from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "evaluation.surveys"
    label = "surveys"
    verbose_name = "Enquêtes 360°"
