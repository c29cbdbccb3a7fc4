from django.apps import AppConfig


class ConventionsConfig(AppConfig):
    name = "conventions"
    label = "conventions"
    verbose_name = "Conventions et actions"
