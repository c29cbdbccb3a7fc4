"""QPV, company and convention filters of the action list: suggestions from scoped endpoints, not every row in the page
(issue 17: 20,000 companies and 30,000 conventions made a 3.5 MB page for the national level)."""

import pytest
from django.urls import reverse

from charte.comptes.models import OrganisationKind
from tests.factories import ActionFactory, CompanyFactory, ConventionFactory, QPVFactory, departement

from .conftest import act_as

pytestmark = pytest.mark.django_db


def suggestions(client, name, q=""):
    response = client.get(reverse(f"actions:{name}_suggestions"), {"q": q})
    assert response.status_code == 200
    return [row["label"] for row in response.json()["results"]]


def test_the_list_of_a_reader_of_many_companies_does_not_carry_them(client, world):
    user, _ = act_as(OrganisationKind.NATIONAL)
    client.force_login(user)
    small = len(client.get(reverse("actions:list")).content)
    companies = [CompanyFactory(name=f"Société numéro {index:03d}") for index in range(150)]
    conventions = [ConventionFactory(reference=f"REF-LONGUE-{index:03d}") for index in range(150)]

    page = client.get(reverse("actions:list")).content.decode()

    assert not [c.name for c in companies if c.name in page]
    assert not [c.reference for c in conventions if c.reference in page]
    # 300 more rows visible, the page hardly grows (it grew by a line per row with the drop-downs).
    assert len(page.encode()) - small < 2_000
    assert 'list="id_company-suggestions"' in page and '<datalist id="id_company-suggestions">' in page
    assert 'data-autocomplete-url="/actions/suggestions/conventions/"' in page
    assert "js/autocomplete.js" in page


def test_suggestions_are_scoped_searched_and_bounded(client, world):
    client.force_login(world["club_34_user"])
    assert suggestions(client, "company") == [
        f"Engie — SIREN {world['engie'].siren}",
        f"SNCF — SIREN {world['sncf'].siren}",
    ]
    assert suggestions(client, "company", "sn") == [f"SNCF — SIREN {world['sncf'].siren}"]
    assert suggestions(client, "company", world["engie"].siren) == [f"Engie — SIREN {world['engie'].siren}"]
    # The Gard's company exists, but not for this club.
    assert suggestions(client, "company", "Gardoise") == []

    national, _ = act_as(OrganisationKind.NATIONAL)
    client.force_login(national)
    for index in range(30):
        CompanyFactory(name=f"Société {index:02d}")
    assert len(suggestions(client, "company", "Société")) == 20
    assert "Gardoise de travaux" in suggestions(client, "company", "gardoise")[0]


def test_convention_suggestions_are_scoped(client, world):
    here = ConventionFactory(reference="034-2017-0001", title="Convention Engie", club=world["club_34"])
    elsewhere = ConventionFactory(reference="030-2017-0001", title="Convention du Gard", club=world["club_30"])
    client.force_login(world["club_34_user"])

    assert suggestions(client, "convention", "2017") == [f"{here.reference} — {here.title}"]
    assert suggestions(client, "convention", elsewhere.title) == []


def test_the_filter_takes_a_siren_a_label_or_a_name_and_shows_the_label(client, world):
    mine = ActionFactory(title="Stages chez Engie", club=world["club_34"])
    mine.companies.set([world["engie"]])
    other = ActionFactory(title="Mécénat SNCF", club=world["club_34"])
    other.companies.set([world["sncf"]])
    client.force_login(world["club_34_user"])
    label = f"Engie — SIREN {world['engie'].siren}"

    for typed in (world["engie"].siren, label, "engie", str(world["engie"].pk)):
        response = client.get(reverse("actions:list"), {"company": typed})
        assert {action.title for action in response.context["actions"]} == {"Stages chez Engie"}, typed
        # Whatever was typed, the input shows what it designates.
        assert f'value="{label}"' in response.content.decode(), typed


def test_a_value_out_of_scope_or_unknown_is_refused_in_french(client, world):
    mine = ActionFactory(title="Stages chez Engie", club=world["club_34"])
    mine.companies.set([world["engie"]])
    client.force_login(world["club_34_user"])

    for typed in (world["gard_company"].siren, "Gardoise de travaux", "n'existe pas"):
        response = client.get(reverse("actions:list"), {"company": typed})
        assert response.status_code == 200
        errors = response.context["filter"].form.errors["company"]
        assert "Aucune entreprise de votre périmètre ne correspond" in errors[0], typed
    response = client.get(reverse("actions:list"), {"convention": "030-2017-0001"})
    assert "Aucune convention de votre périmètre" in response.context["filter"].form.errors["convention"][0]


def test_qpv_suggestions_and_filter_are_scoped_and_the_page_does_not_list_them(client, world):
    national, _ = act_as(OrganisationKind.NATIONAL)
    client.force_login(national)
    small = len(client.get(reverse("actions:list")).content)
    marseille = departement("13")
    extra = [
        QPVFactory(code=f"QP013{index:03d}", name=f"Quartier lointain {index}", departement=marseille) for index in range(150)
    ]
    page = client.get(reverse("actions:list")).content.decode()
    assert not [qpv.code for qpv in extra if qpv.code in page]
    assert len(page.encode()) - small < 2_000
    assert 'data-autocomplete-url="/actions/suggestions/qpv/"' in page

    mosson = ActionFactory(title="Mécénat à la Mosson", club=world["club_34"])
    mosson.qpvs.set([world["mosson"]])
    ActionFactory(title="Ailleurs", club=world["club_34"]).qpvs.set([world["petit_bard"]])
    client.force_login(world["club_34_user"])
    assert suggestions(client, "qpv") == ["QP034005 — Mosson", "QP034006 — Petit Bard Pergola"]
    assert suggestions(client, "qpv", "bard") == ["QP034006 — Petit Bard Pergola"]
    assert suggestions(client, "qpv", "Pissevin") == []  # the Gard's QPV, not this club's

    for typed in ("QP034005 — Mosson", "qp034005", "Mosson", str(world["mosson"].pk)):
        response = client.get(reverse("actions:list"), {"qpv": typed})
        assert {action.title for action in response.context["actions"]} == {"Mécénat à la Mosson"}, typed
        assert 'value="QP034005 — Mosson"' in response.content.decode(), typed
    refused = client.get(reverse("actions:list"), {"qpv": "Pissevin"})
    assert "Aucun QPV de votre périmètre ne correspond" in refused.content.decode()
