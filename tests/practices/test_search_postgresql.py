"""The French full-text search on PostgreSQL (conventions/practices/search.py): the `french_unaccent`
configuration, the weighted stored vector and its GIN index, and a search by another form of the word, with or
without accents, both ways. Skipped on SQLite, but failing under CI: the CI runs on PostgreSQL."""

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from conventions.practices import search
from conventions.practices.models import PracticeSheet
from tests.factories import MembershipFactory, PracticeSheetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def postgresql(in_ci):
    if connection.vendor != "postgresql":
        message = "La recherche plein texte française ne se vérifie que sur PostgreSQL (DATABASE_URL)."
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)


def published(**kwargs):
    return PracticeSheetFactory(status=PracticeSheet.Status.PUBLISHED, published_at=timezone.now(), **kwargs)


def found(text):
    return list(search.search(PracticeSheet.objects.published(), text).values_list("title", flat=True))


def test_the_configuration_folds_accents_before_the_french_stemmer_and_the_vector_is_indexed():
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_tsvector('french_unaccent', 'Insérés insertion élèves')::text")
        assert cursor.fetchone()[0] == "'elev':3 'inser':1 'insert':2"
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'practices_sheet_search_gin'")
        assert "USING gin (search_vector)" in cursor.fetchone()[0]


def test_the_stored_vector_is_weighted_and_follows_the_edits():
    sheet = published(title="Tutorat", problem="Décrochage scolaire", what_was_done="Du mentorat", means="Bénévoles")

    def vector():
        with connection.cursor() as cursor:
            cursor.execute("SELECT search_vector::text FROM practices_practicesheet WHERE id = %s", [sheet.pk])
            return cursor.fetchone()[0]

    assert "'tutorat':1A" in vector() and "'mentorat':" in vector() and "'bene" in vector()
    assert "B" in vector().split("'mentorat':")[1].split(" ")[0]
    sheet.means = "Salariés"
    sheet.save()
    assert "'bene" not in vector() and "'salar" in vector()


@pytest.mark.parametrize(
    "typed, written",
    [
        ("insérés", "Un parcours d'insertion pour les jeunes."),
        ("Insertion", "Des jeunes insérés dans l'emploi."),
        ("inseres", "Un parcours d'insertion pour les jeunes."),
        ("ELEVES stage", "Des stages pour les élèves de 3e."),
    ],
)
def test_another_form_of_the_word_is_found_with_or_without_accents(typed, written):
    published(title="La fiche cherchée", what_was_done=written)
    published(title="Une autre fiche", problem="Le permis de conduire.", what_was_done="Des cours de code.")

    assert found(typed) == ["La fiche cherchée"]


def test_a_word_of_the_title_ranks_before_the_same_word_in_the_text():
    published(title="Parrainage", how_to_reproduce="Un parrainage vers l'insertion.")
    published(title="Tous en stage", problem="Des jeunes sans réseau.", what_was_done="Insertion des jeunes.")
    published(title="Insertion par le sport", what_was_done="Des clubs de sport.")

    assert found("insérés") == ["Insertion par le sport", "Tous en stage", "Parrainage"]


def test_the_catalogue_page_searches_on_postgresql(client):
    client.force_login(MembershipFactory().user)
    published(title="Tous en stage", what_was_done="Insertion des jeunes.")

    page = client.get(reverse("practices:catalogue"), {"q": "insérés"}).content.decode()

    assert "Tous en stage" in page
    assert "Tous en stage" not in client.get(reverse("practices:catalogue"), {"q": "permis"}).content.decode()
