from django.apps import AppConfig


class EntreprisesConfig(AppConfig):
    name = "entreprises"
    label = "entreprises"
    verbose_name = "Entreprises"
