"""The action list and its CSV export for each role, the filters, and bounded query counts."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from charte.comptes.models import OrganisationKind
from conventions.models import ActionPartner
from tests.factories import ActionFactory, CompanyFactory, ConventionFactory, QPVFactory, action_type, departement

from .conftest import act_as, company_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def actions(world):
    """One action of the Hérault club (Engie, Mosson) and one of the Gard club."""
    herault = ActionFactory(title="Stages chez Engie", club=world["club_34"], start_date=datetime.date(2017, 3, 14))
    herault.companies.set([world["engie"]])
    herault.qpvs.set([world["mosson"]])
    gard = ActionFactory(
        title="Job dating à Pissevin",
        action_type=action_type("JOB_DATING"),
        club=world["club_30"],
        departement=departement("30"),
        start_date=datetime.date(2016, 6, 1),
    )
    gard.companies.set([world["gard_company"]])
    gard.qpvs.set([world["pissevin"]])
    return herault, gard


def titles(response):
    return {action.title for action in response.context["actions"]}


def csv_rows(response):
    rows = list(csv.reader(io.StringIO(response.getvalue().decode("utf-8-sig")), delimiter=";"))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.parametrize(
    "who, expected",
    [
        ("national", {"Stages chez Engie", "Job dating à Pissevin"}),
        ("prefecture_34", {"Stages chez Engie"}),
        ("club_34", {"Stages chez Engie"}),
        ("club_30", {"Job dating à Pissevin"}),
        ("engie", {"Stages chez Engie"}),
        ("sncf", set()),
        ("partner_34", set()),
    ],
)
def test_each_role_lists_and_exports_only_its_actions(client, world, actions, who, expected):
    users = {
        "national": lambda: act_as(OrganisationKind.NATIONAL)[0],
        "prefecture_34": lambda: act_as(OrganisationKind.PREFECTURE, "34")[0],
        "club_34": lambda: world["club_34_user"],
        "club_30": lambda: world["club_30_user"],
        "engie": lambda: company_user(world["engie"]),
        "sncf": lambda: company_user(world["sncf"]),
        "partner_34": lambda: act_as(OrganisationKind.PARTNER, "34")[0],
    }
    client.force_login(users[who]())

    response = client.get(reverse("actions:list"))
    assert response.status_code == 200
    assert titles(response) == expected

    exported = client.get(reverse("actions:export"))
    assert exported["Content-Type"].startswith("text/csv")
    assert {row["Intitulé"] for row in csv_rows(exported)} == expected

    herault, gard = actions
    for action in (herault, gard):
        status = client.get(reverse("actions:detail", args=[action.pk])).status_code
        assert status == (200 if action.title in expected else 404)


def test_filter_choice_lists_are_limited_to_the_scope(client, world, actions):
    client.force_login(world["club_34_user"])

    form = client.get(reverse("actions:list")).context["filter"].form

    # QPV, companies and conventions are suggested by the scoped endpoints (test_autocomplete.py), not listed.
    assert set(form.fields["qpv"].kind.visible(form.fields["qpv"].scope).values_list("code", flat=True)) == {
        "QP034005",
        "QP034006",
    }
    assert list(form.fields["departement"].queryset.values_list("code", flat=True)) == ["34"]


def test_filters_narrow_the_list_and_the_export_the_same_way(client, world, actions):
    user, _ = act_as(OrganisationKind.NATIONAL)
    client.force_login(user)
    herault, gard = actions
    other = ActionFactory(
        title="Mécénat à la Mosson", action_type=action_type("MECENAT_COMPETENCES"), start_date=datetime.date(2017, 5, 2)
    )
    other.companies.set([world["sncf"]])
    other.qpvs.set([world["mosson"]])
    convention = ConventionFactory()
    convention.companies.set([world["engie"]])
    herault.convention = convention
    herault.save()

    cases = [
        ({"qpv": world["mosson"].pk}, {"Stages chez Engie", "Mécénat à la Mosson"}),
        ({"company": world["engie"].pk}, {"Stages chez Engie"}),
        ({"family": action_type("JOB_DATING").family_id}, {"Job dating à Pissevin"}),
        ({"action_type": action_type("MECENAT_COMPETENCES").pk}, {"Mécénat à la Mosson"}),
        ({"departement": departement("30").pk}, {"Job dating à Pissevin"}),
        ({"convention": convention.pk}, {"Stages chez Engie"}),
        ({"date_from": "2016-01-01", "date_to": "2016-12-31"}, {"Job dating à Pissevin"}),
        ({"date_from": "2017-01-01"}, {"Stages chez Engie", "Mécénat à la Mosson"}),
    ]
    for params, expected in cases:
        assert titles(client.get(reverse("actions:list"), params)) == expected, params
        assert {row["Intitulé"] for row in csv_rows(client.get(reverse("actions:export"), params))} == expected, params


def test_an_action_over_several_days_belongs_to_every_period_it_overlaps(client, world):
    client.force_login(world["club_34_user"])
    long_one = ActionFactory(
        title="Tutorat sur l'année",
        club=world["club_34"],
        start_date=datetime.date(2016, 9, 1),
        end_date=datetime.date(2017, 6, 30),
    )
    long_one.companies.set([world["engie"]])

    assert titles(client.get(reverse("actions:list"), {"date_from": "2017-01-01", "date_to": "2017-12-31"})) == {
        "Tutorat sur l'année"
    }
    assert titles(client.get(reverse("actions:list"), {"date_from": "2017-07-01"})) == set()


def test_a_filter_value_out_of_scope_is_refused_not_applied(client, world, actions):
    client.force_login(world["club_34_user"])

    response = client.get(reverse("actions:list"), {"company": world["gard_company"].pk})

    assert "company" in response.context["filter"].form.errors
    assert titles(response) == {"Stages chez Engie"}


def _many_actions(world, count):
    companies = [CompanyFactory(commune=world["engie"].commune) for _ in range(3)]
    qpvs = [world["mosson"], world["petit_bard"]]
    for index in range(count):
        action = ActionFactory(club=world["club_34"], start_date=datetime.date(2017, 1, 1) + datetime.timedelta(days=index % 300))
        action.companies.set(companies[: 1 + index % 3])
        action.qpvs.set(qpvs[: 1 + index % 2])
        ActionPartner.objects.create(action=action, kind="college", name=f"Collège {index}")


def _count_queries(client, url, params=None):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("url_name", ["actions:list", "actions:export"])
def test_list_and_export_run_the_same_number_of_queries_for_5_and_200_actions(client, world, url_name):
    client.force_login(world["club_34_user"])
    url = reverse(url_name)
    params = {"qpv": world["mosson"].pk}
    _many_actions(world, 5)
    few = _count_queries(client, url, params)
    _many_actions(world, 195)
    many = _count_queries(client, url, params)
    assert many == few
    assert few <= 20


def test_detail_query_count_does_not_grow_with_companies_qpv_and_partners(client, world, django_assert_max_num_queries):
    client.force_login(world["club_34_user"])
    action = ActionFactory(club=world["club_34"])
    action.companies.set([CompanyFactory() for _ in range(30)])
    action.qpvs.set([QPVFactory() for _ in range(30)])
    for index in range(30):
        ActionPartner.objects.create(action=action, kind="association", name=f"Association {index}")

    with django_assert_max_num_queries(12):
        response = client.get(reverse("actions:detail", args=[action.pk]))
    assert response.status_code == 200
    assert "Association 29 (Association)" in response.content.decode()
