import os

import pytest


@pytest.fixture
def in_ci():
    return bool(os.environ.get("CI"))


def _is_transactional(request):
    marker = request.node.get_closest_marker("django_db")
    return (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or bool(marker and marker.kwargs.get("transaction"))
    )


@pytest.fixture(autouse=True)
def _reference_data_for_transactional_tests(request):
    """Migrations load the referential (régions, départements, the catalogue and indicators), but a
    transactional test (live server, real Celery worker) empties every table when it ends. Put the
    referential back before each such test, as a fresh database has it."""
    if not _is_transactional(request):
        return
    request.getfixturevalue("transactional_db")
    from charte.catalogue.models import ActionType, Family, Indicator
    from charte.catalogue.referential import load_catalogue
    from charte.territoires.models import Departement, Region
    from charte.territoires.referential import load_regions_and_departements

    if not Departement.objects.exists():
        load_regions_and_departements(Region, Departement)
    if not ActionType.objects.exists():
        load_catalogue(Family, Indicator, ActionType)
    from conventions.practices.models import PracticePublic
    from conventions.practices.referential import load_publics

    if not PracticePublic.objects.exists():
        load_publics(PracticePublic)
    from evaluation.surveys.catalogue import load_questionnaires
    from evaluation.surveys.models import Question, QuestionnaireModel

    if not QuestionnaireModel.objects.exists():
        load_questionnaires(QuestionnaireModel, Question, ActionType)
