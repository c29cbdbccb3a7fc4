"""Faster entry (issue 12, point 4): duplicating an action, "save and enter another" keeping the
circumstances, and the grid entering several actions of one type at once (all or nothing)."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from charte.comptes.models import OrganisationKind
from conventions.models import Action
from tests.factories import CompanyFactory, action_type, departement

from .conftest import act_as, action_data, company_user

pytestmark = pytest.mark.django_db


def _log(client, world, **overrides):
    data = action_data(
        companies=[world["engie"].pk, world["sncf"].pk], qpvs=[world["mosson"].pk, world["petit_bard"].pk], **overrides
    )
    response = client.post(reverse("actions:create"), data)
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    return Action.objects.latest("pk"), response


# --- duplicate ---------------------------------------------------------------------------------------------


def test_duplicate_prefills_every_field_date_included_and_saves_nothing(client, world):
    client.force_login(world["club_34_user"])
    source, _ = _log(client, world)

    page = client.get(reverse("actions:duplicate", args=[source.pk])).content.decode()

    assert Action.objects.count() == 1
    assert "Copie de l'action « Stages de 3e au collège Las Cazes »" in page and "date comprise" in page
    assert f'action="{reverse("actions:create")}"' in page
    assert 'value="Stages de 3e au collège Las Cazes"' in page
    assert 'value="2017-03-13"' in page and 'value="2017-03-17"' in page
    assert f'<option value="{action_type("STAGE_3E").pk}" selected>' in page
    for obj in (world["engie"], world["sncf"]):
        assert f'value="{obj.pk}" id="id_companies_{obj.pk}" checked' in page
    for qpv in (world["mosson"], world["petit_bard"]):
        assert f'value="{qpv.pk}" id="id_qpvs_{qpv.pk}" checked' in page
    assert 'value="Collège Las Cazes"' in page
    assert 'name="beneficiaries_qpv" value="9"' in page


def test_saving_the_duplicate_creates_a_second_action(client, world):
    client.force_login(world["club_34_user"])
    source, _ = _log(client, world)

    _log(client, world, title="Stages de 3e, deuxième semaine", start_date="2017-03-20", end_date="")

    copy = Action.objects.exclude(pk=source.pk).get()
    assert copy.title == "Stages de 3e, deuxième semaine" and copy.start_date == datetime.date(2017, 3, 20)
    assert Action.objects.get(pk=source.pk).title == "Stages de 3e au collège Las Cazes"


def test_duplicate_carries_only_what_the_person_may_choose(client, world):
    client.force_login(world["club_34_user"])
    source, _ = _log(client, world)
    engie_user = company_user(world["engie"])
    client.force_login(engie_user)

    page = client.get(reverse("actions:duplicate", args=[source.pk])).content.decode()

    engie = world["engie"]
    assert f'value="{engie.pk}" id="id_companies_{engie.pk}" checked' in page
    assert "SNCF" not in page


def test_duplicate_out_of_scope_or_for_a_partner_answers_404(client, world):
    client.force_login(world["club_34_user"])
    source, _ = _log(client, world)

    client.force_login(world["club_30_user"])
    assert client.get(reverse("actions:duplicate", args=[source.pk])).status_code == 404
    partner, _ = act_as(OrganisationKind.PARTNER, "34")
    client.force_login(partner)
    assert client.get(reverse("actions:duplicate", args=[source.pk])).status_code == 404


def test_the_action_page_offers_duplicate_to_writers_only(client, world):
    client.force_login(world["club_34_user"])
    source, _ = _log(client, world)
    assert (
        reverse("actions:duplicate", args=[source.pk]) in client.get(reverse("actions:detail", args=[source.pk])).content.decode()
    )


# --- save and enter another ----------------------------------------------------------------------------------


def test_save_and_another_keeps_date_type_qpv_companies_and_partners(client, world):
    user, _ = act_as(OrganisationKind.PREFECTURE, "34", "30")
    client.force_login(user)
    first, response = _log(client, world, save_and_new="", club=world["club_34"].pk)

    assert response["Location"] == f"{reverse('actions:create')}?suite={first.pk}"
    page = client.get(response["Location"]).content.decode()

    assert "a été enregistrée" in page and "Repris de l'action précédente" in page
    assert 'value="2017-03-13"' in page and 'value="2017-03-17"' in page
    assert f'<option value="{action_type("STAGE_3E").pk}" selected>' in page
    assert f'<option value="{departement("34").pk}" selected>' in page
    assert f'<option value="{world["club_34"].pk}" selected>' in page
    for obj in (world["engie"], world["sncf"]):
        assert f'value="{obj.pk}" id="id_companies_{obj.pk}" checked' in page
    for qpv in (world["mosson"], world["petit_bard"]):
        assert f'value="{qpv.pk}" id="id_qpvs_{qpv.pk}" checked' in page
    assert 'value="Collège Las Cazes"' in page
    # The title and the counts are this action's own: they start empty.
    assert 'value="Stages de 3e au collège Las Cazes"' not in page
    assert 'name="beneficiaries_qpv" value="9"' not in page


def test_save_and_another_naming_a_foreign_action_gives_an_empty_form(client, world):
    client.force_login(world["club_34_user"])
    first, _ = _log(client, world)
    client.force_login(world["club_30_user"])

    page = client.get(f"{reverse('actions:create')}?suite={first.pk}").content.decode()

    assert "Repris de l'action précédente" not in page and "Mosson" not in page
    assert client.get(f"{reverse('actions:create')}?suite=abc").status_code == 200


# --- the grid ----------------------------------------------------------------------------------------------


def grid_data(rows, total=None, **shared):
    """What the grid posts: the header (`shared`) and one dict per row (keys without the prefix)."""
    data = {
        "action_type": action_type("MECENAT_COMPETENCES").pk,
        "departement": departement("34").pk,
        "convention": "",
        "default_date": "2017-05-10",
        "lignes-TOTAL_FORMS": str(total or len(rows)),
        "lignes-INITIAL_FORMS": "0",
        "lignes-MIN_NUM_FORMS": "0",
        "lignes-MAX_NUM_FORMS": "50",
    }
    data.update(shared)
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"lignes-{index}-{key}"] = value
    return {key: value for key, value in data.items() if value is not None}


def grid_url(lines):
    """The grid after its first step: mécénat de compétences in the Hérault, `lines` empty rows."""
    kind, herault = action_type("MECENAT_COMPETENCES").pk, departement("34").pk
    return f"{reverse('actions:grid')}?action_type={kind}&departement={herault}&lignes={lines}"


def row(world, number, **overrides):
    values = {
        "title": f"Mécénat de compétences n° {number}",
        "description": "",
        "companies": [world["engie"].pk],
        "qpvs": [world["mosson"].pk],
        "beneficiaries_total": "10",
        "beneficiaries_qpv": "6",
        "employees_involved": "2",
        "hours": "7.5",
    }
    values.update(overrides)
    return values


def test_grid_step_one_then_rows_offer_only_the_scope(client, world):
    client.force_login(world["club_34_user"])

    first = client.get(reverse("actions:grid")).content.decode()
    assert "Afficher la grille" in first and "lignes-TOTAL_FORMS" not in first

    url = grid_url(4)
    page = client.get(url).content.decode()
    assert 'name="lignes-TOTAL_FORMS" value="4"' in page
    assert "Engie (SIREN" in page and "SNCF (SIREN" in page and "Gardoise de travaux" not in page
    assert "Mosson (QP034005)" in page and "Pissevin" not in page
    # Every cell has its own label, with the row number.
    assert '<label class="fr-label fr-sr-only" for="id_lignes-3-title">Intitulé, ligne 4</label>' in page
    assert '<label class="fr-label fr-sr-only" for="id_lignes-0-companies">Entreprises, ligne 1</label>' in page


def test_grid_saves_the_filled_rows_together_and_skips_empty_ones(client, world):
    user = world["club_34_user"]
    client.force_login(user)
    rows = [row(world, 1), row(world, 2, start_date="2017-05-12", companies=[world["engie"].pk, world["sncf"].pk]), row(world, 3)]

    response = client.post(reverse("actions:grid"), grid_data(rows, total=5))

    assert response.status_code == 302 and response["Location"] == reverse("actions:list")
    actions = list(Action.objects.order_by("title"))
    assert [a.title for a in actions] == [f"Mécénat de compétences n° {n}" for n in (1, 2, 3)]
    for action in actions:
        assert action.action_type.code == "MECENAT_COMPETENCES"
        assert action.departement.code == "34"
        assert action.club == world["club_34"] and action.logged_by == user
        assert list(action.qpvs.values_list("code", flat=True)) == ["QP034005"]
        assert action.hours == 7.5 and action.beneficiaries_qpv == 6
    assert [a.start_date.isoformat() for a in actions] == ["2017-05-10", "2017-05-12", "2017-05-10"]
    assert actions[1].companies.count() == 2
    assert "3 actions ont été enregistrées." in client.get(response["Location"]).content.decode()


def test_grid_with_one_bad_row_saves_nothing_and_shows_the_error_on_that_row(client, world):
    client.force_login(world["club_34_user"])
    rows = [row(world, 1), row(world, 2, beneficiaries_qpv="12"), row(world, 3)]

    response = client.post(reverse("actions:grid"), grid_data(rows))

    assert response.status_code == 200 and not Action.objects.exists()
    forms = response.context["formset"].forms
    assert not forms[0].errors and not forms[2].errors
    assert forms[1].errors["beneficiaries_qpv"] == ["Ce nombre ne peut pas dépasser le nombre total de bénéficiaires (10)."]
    page = response.content.decode()
    assert "aucune action n'a été enregistrée" in page
    assert '<a href="#id_lignes-1-beneficiaries_qpv">Ligne 2, dont résidents des qpv : Ce nombre ne peut pas' in page
    assert 'aria-invalid="true"' in page and 'aria-describedby="id_lignes-1-beneficiaries_qpv-desc-error"' in page
    # What was typed comes back.
    assert 'value="Mécénat de compétences n° 3"' in page


def test_grid_refuses_a_qpv_of_another_departement_and_a_row_without_date(client, world):
    client.force_login(world["club_34_user"])
    rows = [row(world, 1, qpvs=[world["pissevin"].pk]), row(world, 2)]

    response = client.post(reverse("actions:grid"), grid_data(rows, default_date=""))

    assert not Action.objects.exists()
    forms = response.context["formset"].forms
    # Pissevin lies outside the club's scope: not even a valid choice.
    assert "qpvs" in forms[0].errors
    assert forms[1].errors["start_date"] == ["Indiquez la date de l'action, ou une date commune en haut de la grille."]


def test_grid_qpv_must_be_in_the_shared_departement(client, world):
    user, _ = act_as(OrganisationKind.PREFECTURE, "34", "30")
    client.force_login(user)
    rows = [row(world, 1), row(world, 2, qpvs=[world["pissevin"].pk])]

    response = client.post(reverse("actions:grid"), grid_data(rows))

    assert not Action.objects.exists()
    assert response.context["formset"].forms[1].errors["qpvs"][0].startswith("Ce QPV n'est pas dans le département")


def test_grid_choices_are_scoped_like_the_single_form(client, world):
    client.force_login(world["club_34_user"])
    rows = [row(world, 1, companies=[world["gard_company"].pk])]

    response = client.post(reverse("actions:grid"), grid_data(rows, departement=departement("30").pk))

    assert not Action.objects.exists()
    assert "companies" in response.context["formset"].forms[0].errors
    assert "departement" in response.context["shared"].errors


def test_grid_company_user_logs_for_itself_and_empty_rows_stay_empty(client, world):
    engie = world["engie"]
    client.force_login(company_user(engie))
    url = grid_url(2)
    page = client.get(url).content.decode()
    assert "SNCF" not in page and f'<option value="{engie.pk}" selected>' in page

    # The second row only has the preselected company: an empty row, ignored.
    rows = [row(world, 1), {"companies": [engie.pk]}]
    response = client.post(reverse("actions:grid"), grid_data(rows))

    assert response.status_code == 302
    assert list(Action.objects.values_list("title", flat=True)) == ["Mécénat de compétences n° 1"]


def test_an_empty_grid_is_refused_in_french(client, world):
    client.force_login(world["club_34_user"])

    response = client.post(reverse("actions:grid"), grid_data([{}, {}]))

    assert not Action.objects.exists()
    assert "Remplissez au moins une ligne de la grille." in response.content.decode()


def test_partner_cannot_open_the_grid(client, world):
    partner, _ = act_as(OrganisationKind.PARTNER, "34")
    client.force_login(partner)
    assert client.get(reverse("actions:grid")).status_code == 404
    assert client.post(reverse("actions:grid"), grid_data([row(world, 1)])).status_code == 404
    assert not Action.objects.exists()


def _grid_post_queries(client, world, count):
    for number in range(30):
        CompanyFactory(name=f"Entreprise {number}", commune=world["engie"].commune)
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("actions:grid"), grid_data([row(world, n) for n in range(count)]))
    assert response.status_code == 302
    Action.objects.all().delete()
    return len(queries)


def test_grid_post_query_count_is_bounded_per_row(client, world):
    client.force_login(world["club_34_user"])

    two = _grid_post_queries(client, world, 2)
    twelve = _grid_post_queries(client, world, 12)

    # A fixed part (session, scope, choice lists read once) and a few statements per row (checks, insert, links).
    per_row = (twelve - two) / 10
    assert per_row <= 11, (two, twelve)
    assert two <= 60, two


# --- the grid: partners, and more rows without JavaScript ---------------------------------------------------


def test_grid_rows_carry_their_partner_structures(client, world):
    client.force_login(world["club_34_user"])
    page = client.get(grid_url(2)).content.decode()
    assert '<label class="fr-label fr-sr-only" for="id_lignes-1-partners">Structures partenaires, ligne 2</label>' in page
    rows = [
        row(world, 1, partners="Collège Las Cazes (Collège), Lycée Jean Mermoz (Montpellier) (Lycée)"),
        row(world, 2),
    ]

    response = client.post(reverse("actions:grid"), grid_data(rows))

    assert response.status_code == 302
    first, second = Action.objects.order_by("title")
    assert list(first.partners.order_by("pk").values_list("kind", "name")) == [
        ("college", "Collège Las Cazes"),
        ("lycee", "Lycée Jean Mermoz (Montpellier)"),
    ]
    assert not second.partners.exists()


def test_grid_refuses_a_partner_of_unknown_type_at_its_cell(client, world):
    client.force_login(world["club_34_user"])
    rows = [row(world, 1), row(world, 2, partners="Restos du cœur (Cantine)")]

    response = client.post(reverse("actions:grid"), grid_data(rows))

    assert response.status_code == 200 and not Action.objects.exists()
    errors = response.context["formset"].forms[1].errors["partners"]
    assert errors[0].startswith("Type de structure inconnu « Cantine »")
    assert 'value="Mécénat de compétences n° 1"' in response.content.decode()


def test_adding_rows_without_javascript_keeps_what_was_typed_and_saves_nothing(client, world):
    client.force_login(world["club_34_user"])
    typed = [row(world, 1, partners="Collège Las Cazes (Collège)"), row(world, 2, beneficiaries_qpv="99")]
    data = grid_data(typed, default_date="2017-05-10")
    data.update({"add_rows": "", "ajouter": "3"})

    response = client.post(reverse("actions:grid"), data)

    assert response.status_code == 200 and not Action.objects.exists()
    page = response.content.decode()
    assert 'name="lignes-TOTAL_FORMS" value="5"' in page
    assert len(re.findall(r'<tr id="grid-row-\d+"', page)) == 5
    assert 'value="Mécénat de compétences n° 1"' in page and 'value="Mécénat de compétences n° 2"' in page
    assert "Collège Las Cazes (Collège)</textarea>" in page
    assert 'name="default_date" value="2017-05-10"' in page
    assert f'<option value="{world["engie"].pk}" selected>' in page
    # The new rows start like any empty row: counts at 0.
    assert 'name="lignes-4-beneficiaries_total" value="0"' in page
    # Nothing was checked yet: the row 2 mistake (99 QPV residents of 10) shows only when saving.
    assert "aucune action n'a été enregistrée" not in page and "fr-message--error" not in page

    data = {key: value for key, value in data.items() if key not in ("add_rows", "ajouter")}
    data["lignes-TOTAL_FORMS"] = "5"
    data["lignes-1-beneficiaries_qpv"] = "4"
    data.update({"lignes-4-title": "Mécénat de compétences n° 5", "lignes-4-companies": [world["engie"].pk]})
    data.update({f"lignes-4-{key}": "0" for key in ("beneficiaries_total", "beneficiaries_qpv", "employees_involved", "hours")})
    response = client.post(reverse("actions:grid"), data)
    assert response.status_code == 302
    assert Action.objects.count() == 3
    assert Action.objects.get(title="Mécénat de compétences n° 1").partners.get().name == "Collège Las Cazes"


def test_adding_rows_stops_at_the_grid_maximum(client, world):
    client.force_login(world["club_34_user"])
    data = grid_data([row(world, 1)], total=48)
    data.update({"add_rows": "", "ajouter": "10"})

    response = client.post(reverse("actions:grid"), data)

    page = response.content.decode()
    assert 'name="lignes-TOTAL_FORMS" value="50"' in page
    assert "Une grille compte au plus 50 lignes" in page
    assert 'name="add_rows"' not in page
    assert not Action.objects.exists()
