"""The long lists' paginator: an exact count up to LIST_EXACT_COUNT_LIMIT rows, the planner's estimate beyond."""

import pytest

from charte import pagination
from charte.territoires.models import Departement

pytestmark = pytest.mark.django_db


def test_a_short_list_is_counted_exactly(settings, monkeypatch):
    settings.LIST_EXACT_COUNT_LIMIT = 10_000
    monkeypatch.setattr(pagination, "planner_estimate", lambda qs: pytest.fail("pas d'estimation sous le seuil"))
    rows = Departement.objects.order_by("code")
    paginator = pagination.LargeListPaginator(rows, 25)
    assert paginator.count == rows.count() and not paginator.count_is_estimate


def test_beyond_the_limit_the_estimate_is_shown_never_below_what_was_counted(settings, monkeypatch):
    rows = Departement.objects.order_by("code")
    assert rows.count() > 5
    settings.LIST_EXACT_COUNT_LIMIT = 5
    monkeypatch.setattr(pagination, "planner_estimate", lambda qs: 1_000_000)
    paginator = pagination.LargeListPaginator(rows, 25)
    assert paginator.count == 1_000_000 and paginator.count_is_estimate
    assert [d.code for d in paginator.page(2).object_list] == [d.code for d in rows[25:50]]

    monkeypatch.setattr(pagination, "planner_estimate", lambda qs: 2)
    assert pagination.LargeListPaginator(rows, 25).count == 6  # the planner guessed low: the 6 rows counted stand


def test_without_an_estimate_the_count_is_exact(settings, monkeypatch):
    settings.LIST_EXACT_COUNT_LIMIT = 5
    monkeypatch.setattr(pagination, "planner_estimate", lambda qs: None)  # what SQLite gives
    rows = Departement.objects.order_by("code")
    paginator = pagination.LargeListPaginator(rows, 25)
    assert paginator.count == rows.count() and not paginator.count_is_estimate


def test_the_planner_estimate_is_read_on_postgresql_and_absent_elsewhere():
    from django.db import connection

    estimate = pagination.planner_estimate(Departement.objects.all())
    if connection.vendor == "postgresql":
        assert isinstance(estimate, int) and estimate > 0
    else:
        assert estimate is None


def _pagination_html(rf, number):
    from django.core.paginator import Paginator
    from django.template import Context, Template

    request = rf.get("/territoires/", {"q": "Hérault"})
    page_obj = Paginator(range(75), 25).page(number)
    return Template("{% load dsfr_tags %}{% dsfr_pagination page_obj %}").render(
        Context({"request": request, "page_obj": page_obj})
    )


def test_pagination_links_that_lead_nowhere_are_disabled_the_dsfr_way(rf):
    # First page: "Première page" and "Page précédente" lead nowhere; DSFR pattern, no grey link without state.
    html = _pagination_html(rf, 1)
    assert html.count('aria-disabled="true" role="link"') == 2
    assert '--first" aria-disabled="true" role="link">Première page</a>' in html
    assert 'aria-disabled="true" role="link">Page précédente</a>' in html
    assert 'href="?q=H%C3%A9rault&amp;page=2">Page suivante</a>' in html
    assert 'aria-current="page" title="Page 1 sur 3">1 / 3</a>' in html

    html = _pagination_html(rf, 3)
    assert 'aria-disabled="true" role="link">Page suivante</a>' in html
    assert 'href="?q=H%C3%A9rault&amp;page=2">Page précédente</a>' in html
