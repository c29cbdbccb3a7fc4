"""Deployment checks of the notifications: e-mails carry absolute links built from SITE_URL."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Warning, register

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "0.0.0.0"}


def is_loopback(url):
    host = (urlsplit(url).hostname or "").lower()
    if not host or host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@register("notifications", deploy=True)
def site_url_is_public(app_configs, **kwargs):
    """In production the links of every e-mail would point at the recipient's own machine."""
    if settings.DEBUG or not is_loopback(settings.SITE_URL):
        return []
    return [
        Warning(
            f"SITE_URL vaut « {settings.SITE_URL} » : les liens des courriels (relances, déclarations, conventions) "
            "pointeraient vers la machine du destinataire.",
            hint="Définissez SITE_URL avec l'adresse publique du portail, par exemple https://charte.example.gouv.fr.",
            id="charte.W001",
        )
    ]
