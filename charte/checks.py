"""Deployment checks of the mandatory pages: the legal notices name a real publisher and contact."""

from django.conf import settings
from django.core.checks import Warning, register


@register("legal", deploy=True)
def publisher_is_set(app_configs, **kwargs):
    """A State site must say who publishes it (loi du 21 juin 2004, art. 6) and where to write: the demonstration
    defaults are right for `make run` only."""
    if settings.DEBUG:
        return []
    unset = []
    if settings.PUBLISHER_NAME == settings.PUBLISHER_NAME_DEFAULT:
        unset.append("PUBLISHER_NAME")
    if settings.CONTACT_EMAIL.endswith(".local"):
        unset.append("CONTACT_EMAIL")
    if not unset:
        return []
    return [
        Warning(
            f"{', '.join(unset)} garde sa valeur de démonstration : les mentions légales, la déclaration "
            "d'accessibilité et la page des données personnelles nommeraient un éditeur ou une adresse de contact fictifs.",
            hint="Définissez PUBLISHER_NAME, PUBLISHER_ADDRESS, PUBLICATION_DIRECTOR, HOSTING_PROVIDER et CONTACT_EMAIL "
            "(README, « Pages obligatoires »).",
            id="charte.W002",
        )
    ]
