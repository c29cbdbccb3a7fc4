from django.apps import AppConfig


class ComptesConfig(AppConfig):
    name = "charte.comptes"
    label = "comptes"
    verbose_name = "Comptes et organisations"

    def ready(self):
        # The project's own deployment checks (the legal notices' publisher): registered with the charter's core app.
        from charte import checks  # noqa: F401
