from django.apps import AppConfig


class ComptesConfig(AppConfig):
    name = "charte.comptes"
    label = "comptes"
    verbose_name = "Comptes et organisations"
