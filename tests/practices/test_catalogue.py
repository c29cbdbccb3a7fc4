"""Finding and reproducing practice sheets (issue 15, items 3 and 4): the catalogue and its filters, the French
search (SQLite here; PostgreSQL in test_search_postgresql.py), the public pages without personal data, and
"je veux reproduire" telling the authors."""

import html

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from charte.comptes.models import OrganisationKind
from conventions.practices.models import PracticeCompany, PracticeInterest, PracticePublic, PracticeSheet
from evaluation.models import Notification
from tests.factories import (
    CompanyFactory,
    MembershipFactory,
    OrganisationFactory,
    PracticeSheetFactory,
    UserFactory,
    action_type,
    departement,
    family,
)

pytestmark = pytest.mark.django_db

INSERTION = "Un parcours d'insertion professionnelle pour les jeunes du quartier, avec des stages en entreprise."


def published(**kwargs):
    kwargs.setdefault("status", PracticeSheet.Status.PUBLISHED)
    kwargs.setdefault("published_at", timezone.now())
    return PracticeSheetFactory(**kwargs)


def text(response):
    return html.unescape(response.content.decode())


@pytest.fixture
def animator(client):
    """An animator of a club of the Aude, signed in."""
    membership = MembershipFactory(
        organisation=OrganisationFactory(kind=OrganisationKind.CLUB, name="Club FACE Aude", departements=[departement("11")]),
        user=UserFactory(first_name="Paul", last_name="Aude", email="paul@face-aude.example.org"),
    )
    client.force_login(membership.user)
    return membership


# --- the catalogue and its filters ------------------------------------------------------------------------


def test_the_catalogue_lists_published_sheets_of_every_territory_and_no_draft(client, animator):
    published(title="Tous en stage à Montpellier")
    PracticeSheetFactory(title="Brouillon du club de l'Hérault")
    PracticeSheetFactory(title="Fiche relue", status=PracticeSheet.Status.SUBMITTED)

    page = text(client.get(reverse("practices:catalogue")))

    assert "Tous en stage à Montpellier" in page
    assert "Brouillon du club" not in page and "Fiche relue" not in page
    assert "1 fiche" in page


def test_each_filter_keeps_the_sheets_that_match(client, animator):
    edu, emp = family("EDU"), family("EMP")
    stage = action_type("STAGE_3E")
    girls = PracticePublic.objects.get(code="femmes")
    herault = published(title="Stages dans l'Hérault", family=edu)
    herault.action_types.add(stage)
    aude = published(title="Forum dans l'Aude", family=emp, departement=departement("11"))
    aude.publics.add(girls)
    big = CompanyFactory(size="ge")
    PracticeCompany.objects.create(sheet=aude, company=big, consent=PracticeCompany.Consent.GIVEN)
    PracticeCompany.objects.create(sheet=herault, company=CompanyFactory(size="tpe"), consent=PracticeCompany.Consent.GIVEN)
    url = reverse("practices:catalogue")
    occitanie = departement("11").region

    cases = {
        "family": (edu.pk, herault),
        "action_type": (stage.pk, herault),
        "departement": (departement("11").pk, aude),
        "size": ("ge", aude),
        "public": (girls.pk, aude),
    }
    for name, (value, expected) in cases.items():
        page = text(client.get(url, {name: value}))
        other = aude if expected is herault else herault
        assert expected.title in page and other.title not in page, name
    # Both départements are in Occitanie: the région keeps them both, another région none.
    page = text(client.get(url, {"region": occitanie.pk}))
    assert herault.title in page and aude.title in page


def test_a_filter_value_that_does_not_exist_is_said_at_its_field_not_a_500(client, animator):
    published(title="Stages dans l'Hérault")

    response = client.get(reverse("practices:catalogue"), {"family": "999999"})

    assert response.status_code == 200
    page = text(response)
    assert "Sélectionnez un choix valide" in page
    assert "Stages dans l'Hérault" not in page


def test_the_territory_choices_are_those_of_the_published_sheets(client, animator):
    published(title="Stages dans l'Hérault")
    PracticeSheetFactory(title="Brouillon du Gard", departement=departement("30"))

    form = client.get(reverse("practices:catalogue")).context["filter"].form

    assert [d.code for d in form.fields["departement"].queryset] == ["34"]


def test_the_catalogue_runs_a_fixed_number_of_queries(client, animator, django_assert_max_num_queries):
    girls = PracticePublic.objects.get(code="femmes")

    def add(count):
        for _ in range(count):
            sheet = published(title="Une fiche d'insertion", what_was_done=INSERTION)
            sheet.publics.add(girls)
            sheet.action_types.add(action_type())

    url = reverse("practices:catalogue")
    add(2)
    # PostgreSQL asks its French configuration for the stems of the words typed: one query more.
    with django_assert_max_num_queries(18 if connection.vendor == "postgresql" else 17) as few:
        client.get(url, {"q": "insérés", "public": girls.pk})
    add(18)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url, {"q": "insérés", "public": girls.pk})
    assert "20 fiches" in text(response)


# --- the search (SQLite: light stemming, accents and case folded) ---------------------------------------------


@pytest.mark.parametrize(
    "typed, written",
    [
        ("insérés", "Un parcours d'insertion pour les jeunes."),
        ("Insertion", "Des jeunes insérés dans l'emploi."),
        ("INSERER", "Des jeunes insérés dans l'emploi."),
        ("stage entreprises", "Des stages en entreprise pour les élèves."),
        ("eleve", "Des stages en entreprise pour les élèves."),
    ],
)
def test_the_search_finds_another_form_of_the_word_with_or_without_accents(client, animator, typed, written):
    published(title="La fiche cherchée", what_was_done=written)
    published(title="Une autre fiche", problem="Le permis de conduire.", what_was_done="Des cours de code.")

    page = text(client.get(reverse("practices:catalogue"), {"q": typed}))

    assert "La fiche cherchée" in page
    assert "Une autre fiche" not in page


def test_every_word_typed_must_be_found(client, animator):
    published(title="Stages de 3e", what_was_done="Des stages pour les élèves.")

    assert "Stages de 3e" not in text(client.get(reverse("practices:catalogue"), {"q": "stages permis"}))


def test_the_index_follows_the_edits_and_never_holds_the_contact(client, animator):
    sheet = published(title="Fiche", what_was_done="Du tutorat.", contact_name="Jeanne Martin", contact_email="jm@example.org")
    url = reverse("practices:catalogue")
    assert "Fiche" not in text(client.get(url, {"q": "Martin"}))

    sheet.what_was_done = "Du mentorat."
    sheet.save()

    assert "tutorat" not in sheet.__class__.objects.get(pk=sheet.pk).search_text
    assert f'href="/bonnes-pratiques/{sheet.pk}/"' in text(client.get(url, {"q": "mentorat"}))


# --- public reading -----------------------------------------------------------------------------------------


def personal_sheet(**kwargs):
    author = MembershipFactory(
        organisation=OrganisationFactory(kind=OrganisationKind.CLUB, name="Club FACE Hérault"),
        user=UserFactory(first_name="Yasmine", last_name="Haddad", email="yasmine@face-herault.example.org"),
    )
    sheet = published(
        title="Tous en stage, Montpellier",
        author_organisation=author.organisation,
        created_by=author.user,
        contact_name="Jeanne Martin",
        contact_email="jeanne.martin@face-herault.example.org",
        **kwargs,
    )
    sheet.transitions.create(to_status="published", by=author.user, organisation=author.organisation, comment="Relue")
    return sheet


PERSONAL = ("Jeanne Martin", "jeanne.martin@", "Yasmine", "Haddad", "yasmine@")


def test_a_public_sheet_is_read_without_an_account_and_shows_no_person(client):
    sheet = personal_sheet(public=True)

    response = client.get(reverse("practices:public_detail", args=[sheet.pk]))

    assert response.status_code == 200
    page = text(response)
    assert "Tous en stage, Montpellier" in page and "Club FACE Hérault" in page
    assert [word for word in PERSONAL if word in page] == []
    catalogue = text(client.get(reverse("practices:public_catalogue")))
    assert "Tous en stage, Montpellier" in catalogue
    assert [word for word in PERSONAL if word in catalogue] == []


def test_the_signed_in_page_shows_the_contact(client, animator):
    sheet = personal_sheet(public=True)

    page = text(client.get(reverse("practices:detail", args=[sheet.pk])))

    assert "Jeanne Martin" in page and "jeanne.martin@face-herault.example.org" in page
    assert reverse("practices:public_detail", args=[sheet.pk]) in page


@pytest.mark.parametrize(
    "kwargs",
    [{"public": False}, {"public": True, "status": PracticeSheet.Status.SUBMITTED, "published_at": None}],
    ids=["not-opened", "not-published"],
)
def test_a_sheet_not_opened_to_the_public_or_not_published_is_not_found_without_an_account(client, kwargs):
    sheet = personal_sheet(**kwargs)

    assert client.get(reverse("practices:public_detail", args=[sheet.pk])).status_code == 404
    assert "Tous en stage" not in text(client.get(reverse("practices:public_catalogue")))
    # The signed-in pages are not open to the public either.
    response = client.get(reverse("practices:detail", args=[sheet.pk]))
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]


def test_the_catalogue_sends_a_visitor_without_an_account_to_the_public_one(client):
    response = client.get(reverse("practices:catalogue"))

    assert response.status_code == 302 and response["Location"] == reverse("practices:public_catalogue")


def test_the_public_catalogue_runs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    for _ in range(2):
        published(public=True)
    with django_assert_max_num_queries(11) as few:
        client.get(reverse("practices:public_catalogue"))
    for _ in range(15):
        published(public=True)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "17 fiches" in text(client.get(reverse("practices:public_catalogue")))


# --- "je veux reproduire" ---------------------------------------------------------------------------------


def test_i_want_to_reproduce_records_the_interest_once_and_tells_the_authors(client, animator):
    sheet = personal_sheet()
    url = reverse("practices:reproduce", args=[sheet.pk])

    response = client.post(url, {"message": "Nous lançons la même chose à Narbonne."})

    assert response.status_code == 302 and response["Location"] == reverse("practices:detail", args=[sheet.pk])
    interest = PracticeInterest.objects.get(sheet=sheet)
    assert interest.organisation == animator.organisation and interest.user == animator.user
    notification = Notification.objects.get(event="practice_interest")
    assert "Club FACE Aude veut reproduire" in notification.subject
    assert "Narbonne" in notification.body
    assert list(notification.deliveries.values_list("email", flat=True)) == ["yasmine@face-herault.example.org"]

    again = client.post(url, {"message": ""})
    assert again.status_code == 200
    assert "déjà dit vouloir reproduire" in text(again)
    assert PracticeInterest.objects.count() == 1 and Notification.objects.filter(event="practice_interest").count() == 1


def test_the_authors_see_who_wants_to_reproduce_the_others_how_many(client, animator):
    sheet = personal_sheet()
    client.post(reverse("practices:reproduce", args=[sheet.pk]), {"message": "Message privé aux auteurs"})
    detail = reverse("practices:detail", args=[sheet.pk])

    page = text(client.get(detail))
    assert "1 organisation veut la reproduire" in page
    assert "Votre organisation a dit vouloir la reproduire" in page and 'id="reproduce-form"' not in page

    other = MembershipFactory(organisation=OrganisationFactory(kind=OrganisationKind.PREFECTURE, name="Préfecture du Gard"))
    client.force_login(other.user)
    page = text(client.get(detail))
    assert "1 organisation veut la reproduire" in page and "Message privé" not in page and 'id="reproduce-form"' in page

    client.force_login(sheet.created_by)
    page = text(client.get(detail))
    assert "Club FACE Aude" in page and "Paul Aude" in page and "Message privé aux auteurs" in page
    assert 'id="reproduce-form"' not in page
    assert client.post(reverse("practices:reproduce", args=[sheet.pk])).status_code == 403


def test_a_sheet_not_published_cannot_be_reproduced(client, animator):
    sheet = PracticeSheetFactory(author_organisation=animator.organisation)
    assert client.post(reverse("practices:reproduce", args=[sheet.pk])).status_code == 403
    foreign_draft = PracticeSheetFactory()
    assert client.post(reverse("practices:reproduce", args=[foreign_draft.pk])).status_code == 404
    assert not PracticeInterest.objects.exists()


def test_a_sheet_shows_where_it_is_reproduced(client, animator):
    origin = personal_sheet()
    published(title="Tous en stage, Narbonne", reproduces=origin, departement=departement("11"))
    PracticeSheetFactory(title="Tous en stage, Nîmes (brouillon)", reproduces=origin)

    page = text(client.get(reverse("practices:detail", args=[origin.pk])))

    assert "Reproduite ailleurs" in page and "Tous en stage, Narbonne" in page
    assert "Nîmes" not in page


def test_the_sheet_page_keeps_a_fixed_number_of_queries_with_its_spread(client, animator, django_assert_max_num_queries):
    origin = personal_sheet()
    detail = reverse("practices:detail", args=[origin.pk])
    client.force_login(origin.created_by)

    def spread(count):
        for _ in range(count):
            published(reproduces=origin)
            PracticeInterest.objects.create(sheet=origin, organisation=OrganisationFactory())

    spread(1)
    with django_assert_max_num_queries(30) as few:
        client.get(detail)
    spread(6)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert "7 organisations veulent la reproduire" in text(client.get(detail))
