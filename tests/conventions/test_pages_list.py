"""The conventions list, its filters and CSV export, the detail page and document downloads: all scoped."""

import csv
import io

import pytest
from django.core.files.base import ContentFile

from conventions.models import Convention, ConventionDocument
from tests.conventions.test_pages_support import PDF_BYTES, S, World, login
from tests.factories import (
    ActionFactory,
    CommitmentFactory,
    ConventionFactory,
    SignatoryFactory,
    TargetFactory,
    action_type,
    departement,
    family,
    indicator,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return World()


def rows_of(response):
    text = response.getvalue().decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def test_list_shows_only_conventions_in_scope(client, world):
    for user, shown, hidden in [
        (world.prefecture, ["034-2016-0001"], ["030-2016-0001"]),
        (world.club_user, ["034-2016-0001"], ["030-2016-0001"]),
        (world.company_user, ["034-2016-0001"], ["030-2016-0001"]),
        (world.national, ["034-2016-0001", "030-2016-0001"], []),
        (world.partner, [], ["034-2016-0001", "030-2016-0001"]),
    ]:
        page = login(client, user).get("/conventions/").content.decode()
        for reference in shown:
            assert reference in page, (user, reference)
        for reference in hidden:
            assert reference not in page, (user, reference)


def test_list_badges_carry_the_status_as_text(client, world):
    world.set_status(world.convention, S.NEGOTIATION)
    page = login(client, world.prefecture).get("/conventions/").content.decode()
    assert 'fr-badge fr-badge--sm fr-badge--info">En négociation</span>' in page


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"status": "active"}, {"B"}),
        ({"kind": "collective"}, {"C"}),
        ({"generation": "2"}, {"C"}),
        ({"year": "2020"}, {"C"}),
        ({"year": "2016"}, {"A", "B"}),
        ({"q": "tramway"}, {"B"}),
        ({"q": "034-2017"}, {"C"}),
        ({"q": "boulangerie"}, {"A"}),
        ({"departement": "DEP11"}, {"D"}),
        ({"club": "CLUB"}, {"A"}),
    ],
)
def test_list_filters(client, world, query, expected):
    from tests.factories import CompanyFactory

    Convention.objects.all().delete()
    world.prefecture.memberships.get().organisation.departements.add(departement("11"))
    a = ConventionFactory(reference="034-2016-1000", title="Alpha", club=world.club)
    a.companies.add(CompanyFactory(name="Boulangerie du Petit Bard"))
    ConventionFactory(reference="034-2016-1001", title="Ligne de tramway", status=S.ACTIVE)
    ConventionFactory(
        reference="034-2017-1002",
        title="Gamma",
        kind=Convention.Kind.COLLECTIVE,
        generation=2,
        start_date="2019-01-01",
        end_date="2021-12-31",
    )
    ConventionFactory(
        reference="011-2015-1003", title="Delta", departement=departement("11"), start_date="2014-01-01", end_date="2015-12-31"
    )
    labels = {"Alpha": "A", "Ligne de tramway": "B", "Gamma": "C", "Delta": "D"}
    query = {k: {"DEP11": str(departement("11").pk), "CLUB": str(world.club.pk)}.get(v, v) for k, v in query.items()}
    response = login(client, world.prefecture).get("/conventions/", query)
    assert response.status_code == 200
    shown = {labels[c.title] for c in response.context["page_obj"].object_list}
    assert shown == expected
    # The export gives the same rows as the page.
    exported = rows_of(client.get("/conventions/export.csv", query))
    assert {labels[row[1]] for row in exported[1:]} == expected


def test_filter_choices_are_limited_to_scope(client, world):
    response = login(client, world.prefecture).get("/conventions/")
    form = response.context["filter"].form
    assert list(form.fields["departement"].queryset) == [world.herault]
    assert list(form.fields["club"].queryset) == [world.club]
    page = response.content.decode()
    assert '<label for="id_status" class="fr-label">' in page.replace("\n", "").replace("  ", "")


def test_list_is_paginated(client, world, settings):
    settings.PAGE_SIZE = 5
    for _ in range(11):
        ConventionFactory(departement=world.herault)
    response = login(client, world.prefecture).get("/conventions/", {"page": 3})
    assert response.context["page_obj"].paginator.num_pages == 3
    assert len(response.context["page_obj"].object_list) == 2


def test_csv_export_is_scoped_and_filtered(client, world):
    response = login(client, world.club_user).get("/conventions/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = rows_of(response)
    assert rows[0][:4] == ["Référence", "Intitulé", "Type", "Statut"]
    assert [row[0] for row in rows[1:]] == ["034-2016-0001"]
    assert rows[1][9] == "Engie Hérault"
    assert rows_of(login(client, world.partner).get("/conventions/export.csv"))[1:] == []


def _many_conventions(world, count):
    for _ in range(count):
        convention = ConventionFactory(departement=world.herault, club=world.club)
        convention.companies.add(world.company)


@pytest.mark.parametrize("url", ["/conventions/", "/conventions/export.csv"])
def test_list_and_export_queries_do_not_grow_with_rows(client, world, django_assert_max_num_queries, url, settings):
    settings.PAGE_SIZE = 500
    login(client, world.prefecture)
    _many_conventions(world, 5)
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    _many_conventions(world, 195)
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)
    assert response.status_code == 200


# --- detail ------------------------------------------------------------------------------------------


def test_detail_404_out_of_scope_for_every_role(client, world):
    for user in [world.prefecture, world.club_user, world.company_user, world.partner]:
        assert login(client, user).get(f"/conventions/{world.foreign.pk}/").status_code == 404, user
    assert login(client, world.partner).get(f"/conventions/{world.convention.pk}/").status_code == 404
    assert login(client, world.national).get(f"/conventions/{world.foreign.pk}/").status_code == 200


def test_detail_shows_everything(client, world):
    convention = world.convention
    commitment = CommitmentFactory(convention=convention, description="Accueillir des collégiens du Petit Bard.")
    TargetFactory(commitment=commitment, indicator=indicator("STAGE3_ACCUEILLIS"), year=2017, value=10)
    TargetFactory(commitment=commitment, indicator=indicator("STAGE3_ACCUEILLIS"), year=2018, value=12)
    TargetFactory(commitment=commitment, indicator=indicator("STAGE3_OFFERTS"), year=2016, value=15)
    SignatoryFactory(convention=convention, name="Pierre Pouëssel")
    document = ConventionDocument.objects.create(
        convention=convention, title="Convention signée", file=ContentFile(PDF_BYTES, name="signee.pdf")
    )
    action = ActionFactory(convention=convention, title="Stage au collège Las Cazes", club=world.club)
    action.companies.add(world.company)
    successor = ConventionFactory(reference="034-2016-0001-R1", predecessor=convention, club=world.club)

    page = login(client, world.prefecture).get(f"/conventions/{convention.pk}/").content.decode()
    assert "Engie Hérault" in page
    assert "Pierre Pouëssel" in page
    assert f"/conventions/documents/{document.pk}/" in page
    assert "/media/" not in page
    assert "Accueillir des collégiens du Petit Bard." in page
    assert "Stage au collège Las Cazes" in page
    assert f"/actions/?convention={convention.pk}" in page
    assert f'href="/conventions/{successor.pk}/"' in page
    # One table per commitment: a row per indicator, a column per year, "—" where no target.
    table = page.split('class="fr-mb-4w commitment"')[1].split("</table>")[0]
    assert [f">{year}</th>" in table for year in (2016, 2017, 2018)] == [True, True, True]
    label = indicator("STAGE3_ACCUEILLIS").label
    row = table.split(label)[1].split("</tr>")[0]
    assert [cell.split("<")[0] for cell in row.split('fr-cell--right">')[1:]] == ["—", "10", "12"]


def test_detail_buttons_follow_role_and_status(client, world):
    convention = world.convention
    page = login(client, world.club_user).get(f"/conventions/{convention.pk}/").content.decode()
    assert f"/conventions/{convention.pk}/soumettre/" in page
    assert f"/conventions/{convention.pk}/modifier/" in page
    assert "/resilier/" not in page

    page = login(client, world.company_user).get(f"/conventions/{convention.pk}/").content.decode()
    assert 'id="convention-actions"' not in page

    world.set_status(convention, S.NEGOTIATION)
    page = login(client, world.prefecture).get(f"/conventions/{convention.pk}/").content.decode()
    for path in ("signer", "remettre-en-brouillon", "resilier", "modifier"):
        assert f"/conventions/{convention.pk}/{path}/" in page
    assert "/mettre-en-vigueur/" not in page

    world.set_status(convention, S.ACTIVE)
    page = client.get(f"/conventions/{convention.pk}/").content.decode()
    assert "/renouveler/" in page and "/modifier/" not in page and "/signer/" not in page


def test_detail_hides_renewal_of_a_convention_out_of_scope(client, world):
    hidden = ConventionFactory(reference="030-2014-0009", departement=world.gard, club=world.other_club)
    Convention.objects.filter(pk=world.convention.pk).update(predecessor=hidden)
    page = login(client, world.club_user).get(f"/conventions/{world.convention.pk}/").content.decode()
    assert "030-2014-0009" not in page
    assert "hors de votre périmètre" in page


def _fill(convention, count):
    for n in range(count):
        commitment = CommitmentFactory(convention=convention, family=family("EMP"), action_type=action_type("ALTERNANCE"))
        TargetFactory(commitment=commitment, indicator=indicator("ALTERNANTS_RECRUTES"), year=2016, value=n)
        TargetFactory(commitment=commitment, indicator=indicator("ALTERNANCE_OFFERTES"), year=2017, value=n)
        SignatoryFactory(convention=convention, name=f"Signataire {n}")
        ConventionDocument.objects.create(convention=convention, title=f"Annexe {n}", kind="annex", file="conventions/x.pdf")
        ActionFactory(convention=convention, club=convention.club)


def test_detail_queries_do_not_grow_with_content(client, world, django_assert_max_num_queries):
    login(client, world.prefecture)
    url = f"/conventions/{world.convention.pk}/"
    _fill(world.convention, 5)
    with django_assert_max_num_queries(30) as few:
        assert client.get(url).status_code == 200
    _fill(world.convention, 35)
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


# --- documents -----------------------------------------------------------------------------------------


def test_document_download_is_scoped(client, world):
    document = ConventionDocument.objects.create(
        convention=world.convention, title="Convention signée", file=ContentFile(PDF_BYTES, name="signee.pdf")
    )
    response = login(client, world.company_user).get(f"/conventions/documents/{document.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert "attachment" in response["Content-Disposition"]
    for user in (world.partner,):
        assert login(client, user).get(f"/conventions/documents/{document.pk}/").status_code == 404
    foreign = ConventionDocument.objects.create(
        convention=world.foreign, title="Autre", file=ContentFile(PDF_BYTES, name="autre.pdf")
    )
    for user in (world.prefecture, world.club_user, world.company_user):
        assert login(client, user).get(f"/conventions/documents/{foreign.pk}/").status_code == 404
