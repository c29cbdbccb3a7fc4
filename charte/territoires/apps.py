from django.apps import AppConfig


class TerritoiresConfig(AppConfig):
    name = "charte.territoires"
    label = "territoires"
    verbose_name = "Territoires"
