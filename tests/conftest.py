import os

import pytest


@pytest.fixture
def in_ci():
    return bool(os.environ.get("CI"))


def _is_transactional(item):
    marker = item.get_closest_marker("django_db")
    return (
        "transactional_db" in item.fixturenames
        or "live_server" in item.fixturenames
        or bool(marker and marker.kwargs.get("transaction"))
    )


def _uses_db(item):
    return bool(item.get_closest_marker("django_db")) or "db" in item.fixturenames or _is_transactional(item)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Long tests first, so that xdist's two workers never end with one of them alone on a long test.

    pytest-django has sorted the tests as Django does: database tests, then transactional ones, then those
    without database. That order stays: a transactional test empties every table when it ends, and the
    database tests after it would find no referential. Inside each group the tests marked `slow` move to the
    front (stable: a module's tests stay together, its module fixtures are built once per worker); a slow
    test without database (collectstatic + gunicorn) may run anywhere and starts the whole run. xdist's `load`
    scheduler hands each worker consecutive tests from the front of this list, so what starts first is what
    this order puts first, and the short tests after the long ones fill in the balance."""

    def rank(item):
        slow = item.get_closest_marker("slow") is not None
        if not _uses_db(item):
            return -1 if slow else 5
        group = 2 if _is_transactional(item) else 0
        if not slow:
            return group + 1
        # Real worker processes (minutes each) before the other slow tests of their group.
        return group + (0 if item.get_closest_marker("services") else 0.5)

    items.sort(key=rank)


@pytest.fixture(autouse=True)
def _reference_data_for_transactional_tests(request):
    """Migrations load the referential (régions, départements, the catalogue and indicators), but a
    transactional test (live server, real Celery worker) empties every table when it ends. Put the
    referential back before each such test, as a fresh database has it."""
    if not _is_transactional(request.node):
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
