"""The mandatory pages of a State site: public, linked from every page's footer, and saying the same level."""

import datetime
import html
import re

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from charte import legal
from tests.factories import MembershipFactory, OrganisationFactory

PAGES = {
    "accessibilite": "Déclaration d'accessibilité",
    "mentions_legales": "Mentions légales",
    "donnees_personnelles": "Données personnelles",
    "plan_du_site": "Plan du site",
}


def text(response):
    return html.unescape(response.content.decode())


def footer(page):
    return page[page.index('<footer class="fr-footer"') : page.index("</footer>")]


@pytest.mark.django_db
@pytest.mark.parametrize("name, title", PAGES.items())
def test_each_page_answers_anonymously_with_its_title_and_breadcrumb(client, name, title):
    response = client.get(reverse(name))
    assert response.status_code == 200
    page = text(response)
    assert f"<h1>{title}</h1>" in page
    assert re.search(rf'class="fr-breadcrumb__link" aria-current="page">{re.escape(title)}</a>', page)


@pytest.mark.django_db
def test_the_public_home_footer_links_every_mandatory_page_and_the_state_sites(client):
    page = footer(text(client.get(reverse("home"))))
    for name in PAGES:
        assert f'href="{reverse(name)}"' in page, name
    assert f">Accessibilité : {legal.ACCESSIBILITY_LEVEL} conforme</a>" in page
    for site in ("legifrance.gouv.fr", "info.gouv.fr", "service-public.fr", "data.gouv.fr"):
        assert f'href="https://www.{site}"' in page, site
    # The display settings button opens the DSFR dialog the base template renders.
    assert 'aria-controls="fr-theme-modal"' in page and "Paramètres d'affichage" in page
    # Only the cookies the portal cannot work without: no cookie consent link.
    assert "Gestion des cookies" not in page


@pytest.mark.django_db
def test_the_display_dialog_the_button_opens_is_on_the_page(client):
    page = text(client.get(reverse("accessibilite")))
    assert 'id="fr-theme-modal"' in page and 'id="display-settings-button"' in page


@pytest.mark.django_db
def test_a_signed_in_page_has_the_same_footer(client):
    membership = MembershipFactory(organisation=OrganisationFactory(kind="national"), role="admin")
    client.force_login(membership.user)
    page = footer(text(client.get(reverse("dashboard"))))
    for name in PAGES:
        assert f'href="{reverse(name)}"' in page, name
    assert "Paramètres d'affichage" in page


@pytest.mark.django_db
def test_the_statement_states_the_footer_level_its_method_failures_and_recourse(client):
    page = text(client.get(reverse("accessibilite")))
    level = re.search(r'id="niveau-conformite">.*?<strong>(\w+) conforme</strong>', page, re.S).group(1)
    assert level == legal.ACCESSIBILITY_LEVEL == "non"
    assert "axe-core" in page and "clavier" in page
    failures = re.search(r'<ul id="non-conformites">(.*?)</ul>', page, re.S).group(1)
    assert failures.count("<li>") >= 1 and "lecteur d'écran" in failures
    assert "Défenseur des droits" in page and "Libre réponse 71120" in page
    assert "3 décembre 2026" in page


@pytest.mark.django_db
def test_the_legal_notice_names_the_configured_publisher(client, settings):
    settings.PUBLISHER_NAME = "Préfecture de l'Hérault"
    settings.PUBLISHER_ADDRESS = "34 place des Martyrs de la Résistance, 34062 Montpellier"
    settings.PUBLICATION_DIRECTOR = "Le préfet de l'Hérault"
    settings.CONTACT_EMAIL = "charte@herault.gouv.fr"
    page = text(client.get(reverse("mentions_legales")))
    for value in ("Préfecture de l'Hérault", "34062 Montpellier", "Le préfet de l'Hérault", "charte@herault.gouv.fr"):
        assert value in page


@pytest.mark.django_db
def test_the_personal_data_page_gives_the_retention_settings_and_the_cookies(client, settings):
    settings.INVITATION_VALIDITY_DAYS = 10
    settings.EVALUATION_RESULTS_RETENTION_DAYS = 45
    page = text(client.get(reverse("donnees_personnelles")))
    assert "10 jours" in page and "45 jours" in page
    for cookie in ("sessionid", "csrftoken", "messages"):
        assert f"<code>{cookie}</code>" in page
    assert "sur les bénéficiaires des actions" in page


@pytest.mark.django_db
def test_the_public_home_links_the_open_data(client):
    page = text(client.get(reverse("home")))
    main = page[page.index("<main") : page.index("</main>")]
    assert f'href="{reverse("rapports:open_data")}"' in main


# --- French dates and plurals -----------------------------------------------------------------------------


def render(source, **context):
    return Template("{% load francais %}" + source).render(Context(context))


@pytest.mark.parametrize(
    "value, expected",
    [
        (datetime.date(2026, 12, 1), "1er décembre 2026"),
        (datetime.date(2026, 12, 11), "11 décembre 2026"),
        (datetime.date(2027, 1, 21), "21 janvier 2027"),
    ],
)
def test_date_fr_writes_the_first_of_the_month_1er(value, expected):
    assert render("{{ d|date_fr }}", d=value) == expected


def test_date_fr_uses_the_local_day_of_a_datetime_and_keeps_escaped_letters(settings):
    settings.TIME_ZONE = "Europe/Paris"
    late_utc = datetime.datetime(2026, 11, 30, 23, 30, tzinfo=datetime.UTC)  # 1 December, 00:30 in Paris
    with timezone.override("Europe/Paris"):
        assert render('{{ d|date_fr:"j F Y à H:i" }}', d=late_utc) == "1er décembre 2026 à 00:30"
    assert render(r'{{ d|date_fr:"\j j F" }}', d=datetime.date(2026, 3, 1)) == "j 1er mars"
    assert render("{{ d|date_fr }}", d=None) == ""


@pytest.mark.parametrize(
    "count, expected", [(0, "0 convention"), (1, "1 convention"), (2, "2 conventions"), (1.5, "1,5 convention")]
)
def test_pluriel_follows_the_french_rule(count, expected):
    assert render("{{ n }} convention{{ n|pluriel }}", n=count) == expected


def test_pluriel_counts_a_collection():
    assert render("commune{{ c|pluriel }}", c=["a"]) == "commune"
    assert render("commune{{ c|pluriel }}", c=["a", "b"]) == "communes"


@pytest.mark.django_db
def test_the_home_page_writes_0_convention_in_the_singular(client):
    page = text(client.get(reverse("home")))
    assert re.search(r'fr-tile__title">0</p><p class="fr-tile__desc">convention</p>', page)


# --- discoverability ---------------------------------------------------------------------------------------------


def header_and_menu(page):
    return page[page.index('<header role="banner"') : page.index("</header>")]


@pytest.mark.django_db
def test_the_account_menu_reaches_api_keys_and_api_docs_and_the_name_is_not_a_button(client):
    organisation = OrganisationFactory(kind="club", network="face")
    admin = MembershipFactory(organisation=organisation, role="admin").user
    member = MembershipFactory(organisation=organisation).user

    client.force_login(admin)
    header = header_and_menu(text(client.get(reverse("dashboard"))))
    menu = header[header.index('id="menu-compte"') :]
    assert f'href="{reverse("comptes:api_keys")}"' in menu
    assert f'href="{reverse("api:docs")}"' in menu
    assert f'href="{reverse("notifications:preferences")}"' in menu
    name = re.search(r'<(\w+) class="([^"]*)" id="current-user">', header)
    assert name.group(1) == "p" and "fr-btn" not in name.group(2)

    client.force_login(member)
    menu = header_and_menu(text(client.get(reverse("dashboard"))))
    assert f'href="{reverse("comptes:api_keys")}"' not in menu
    assert f'href="{reverse("api:docs")}"' in menu
