from django.apps import AppConfig


class PracticesConfig(AppConfig):
    name = "conventions.practices"
    label = "practices"
    verbose_name = "Bonnes pratiques"
