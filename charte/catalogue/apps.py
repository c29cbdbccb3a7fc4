from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "charte.catalogue"
    label = "catalogue"
    verbose_name = "Catalogue des actions"
