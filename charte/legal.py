"""The pages every State site must have, public: accessibility statement, legal notices, personal data, site map.

The accessibility level is stated once, here: the footer link and the statement read the same constant, so they
cannot disagree (RGAA: the footer shows the level of the statement).
"""

import datetime

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

# « non », « partiellement » or « totalement » conforme (arrêté du 20 septembre 2019).
# No complete audit of the RGAA's 106 criteria has been made, so no conformity rate exists: the rules
# (arrêté du 20 septembre 2019, and the DINUM's guidance) then require « non conforme », whatever the automated
# checks say. Change it after an audit, with its rate on the statement page.
ACCESSIBILITY_LEVEL = "non"


def footer(request):
    """Context processor: what the footer of every page needs."""
    return {"accessibility_level": ACCESSIBILITY_LEVEL}


def _crumbs(current):
    return {"links": [], "current": current}


def _audit_date():
    try:
        return datetime.date.fromisoformat(settings.ACCESSIBILITY_AUDIT_DATE)
    except ValueError:
        return None


def _legal_context(current):
    return {
        "breadcrumb_data": _crumbs(current),
        "publisher": {
            "name": settings.PUBLISHER_NAME,
            "address": settings.PUBLISHER_ADDRESS,
            "director": settings.PUBLICATION_DIRECTOR,
            "host": settings.HOSTING_PROVIDER,
        },
        "contact_email": settings.CONTACT_EMAIL,
        "site_url": settings.SITE_URL,
    }


@login_not_required
@require_GET
def accessibility(request):
    return render(
        request,
        "legal/accessibilite.html",
        {
            **_legal_context("Déclaration d'accessibilité"),
            "accessibility_level": ACCESSIBILITY_LEVEL,
            "audit_date": _audit_date(),
            "audit_date_raw": settings.ACCESSIBILITY_AUDIT_DATE,
        },
    )


@login_not_required
@require_GET
def legal_notice(request):
    return render(request, "legal/mentions_legales.html", _legal_context("Mentions légales"))


@login_not_required
@require_GET
def personal_data(request):
    return render(
        request,
        "legal/donnees_personnelles.html",
        {
            **_legal_context("Données personnelles"),
            "invitation_days": settings.INVITATION_VALIDITY_DAYS,
            "session_days": settings.SESSION_COOKIE_AGE // 86400,
            "results_days": settings.EVALUATION_RESULTS_RETENTION_DAYS,
            "lockout_attempts": settings.AXES_FAILURE_LIMIT,
            "sign_in_days": settings.AXES_LOG_RETENTION_DAYS,
        },
    )


# The site map lists the pages a person can open from the menu; the signed-in sections appear for them only.
PUBLIC_PAGES = (
    ("home", "Accueil"),
    ("rapports:open_data", "Données ouvertes"),
    ("practices:public_catalogue", "Bonnes pratiques publiques"),
    ("methodologie", "Méthodologie des chiffres"),
    ("api:docs", "Documentation de l'API"),
    ("accessibilite", "Déclaration d'accessibilité"),
    ("mentions_legales", "Mentions légales"),
    ("donnees_personnelles", "Données personnelles"),
    ("comptes:login", "Se connecter"),
)


@login_not_required
@require_GET
def sitemap(request):
    pages = [(reverse(name), label) for name, label in PUBLIC_PAGES]
    return render(request, "legal/plan_du_site.html", {"breadcrumb_data": _crumbs("Plan du site"), "public_pages": pages})
