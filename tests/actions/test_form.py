"""The animator's logging form: a saved action with its links, and every refusal keeping what was typed."""

import csv
import io

import pytest
from django.urls import reverse

from charte.comptes.models import OrganisationKind
from conventions.models import Action
from tests.factories import CompanyFactory, ConventionFactory, QPVFactory, departement
from tests.html_checks import assert_error_pattern, parse

from .conftest import act_as, action_data, company_user

pytestmark = pytest.mark.django_db


def test_club_logs_an_action_for_two_companies_and_two_qpv_then_finds_it_in_list_and_csv(client, world):
    user = world["club_34_user"]
    client.force_login(user)
    data = action_data(
        companies=[world["engie"].pk, world["sncf"].pk],
        qpvs=[world["mosson"].pk, world["petit_bard"].pk],
    )

    response = client.post(reverse("actions:create"), data)

    action = Action.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("actions:detail", args=[action.pk])
    assert set(action.companies.values_list("name", flat=True)) == {"Engie", "SNCF"}
    assert set(action.qpvs.values_list("code", flat=True)) == {"QP034005", "QP034006"}
    assert action.club == world["club_34"]
    assert action.logged_by == user
    assert action.beneficiaries_qpv == 9
    assert [(p.kind, p.name) for p in action.partners.all()] == [("college", "Collège Las Cazes")]

    listing = client.get(reverse("actions:list")).content.decode()
    assert "Stages de 3e au collège Las Cazes" in listing
    assert "Engie, SNCF" in listing

    export = client.get(reverse("actions:export"))
    rows = list(csv.reader(io.StringIO(export.getvalue().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:6] == ["Identifiant", "Date de début", "Date de fin", "Type d'action", "Famille", "Intitulé"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Identifiant"] == str(action.pk)  # the reference a re-import finds the action by
    assert row["Date de début"] == "13/03/2017"
    assert row["Entreprises"] == "Engie, SNCF"
    assert row["SIREN"] == f"{world['engie'].siren}, {world['sncf'].siren}"
    assert row["QPV"] == "QP034005, QP034006"
    assert row["Département"] == "34"
    assert row["dont résidents des QPV"] == "9"
    assert row["Structures partenaires"] == "Collège Las Cazes (Collège)"
    assert row["Saisie par"] == str(user)


def test_the_form_offers_only_the_scope_and_preselects_the_single_departement(client, world):
    client.force_login(world["club_34_user"])

    page = client.get(reverse("actions:create")).content.decode()

    assert "Engie" in page and "SNCF" in page
    assert "Gardoise de travaux" not in page
    assert "Mosson (QP034005)" in page and "Pissevin" not in page
    assert f'<option value="{departement("34").pk}" selected>' in page
    # Action types are grouped by family for a quick scan.
    assert '<optgroup label="Éducation et orientation scolaire">' in page
    assert 'name="club"' not in page


def test_a_company_logs_for_itself_preselected(client, world):
    engie = world["engie"]
    user = company_user(engie)
    client.force_login(user)

    page = client.get(reverse("actions:create")).content.decode()
    assert f'value="{engie.pk}" id="id_companies_{engie.pk}" checked' in page
    assert "SNCF" not in page

    response = client.post(reverse("actions:create"), action_data(companies=[engie.pk], departement=departement("34").pk))
    assert response.status_code == 302
    action = Action.objects.get()
    assert list(action.companies.all()) == [engie]
    assert action.club is None


def _refused(client, data):
    response = client.post(reverse("actions:create"), data)
    assert response.status_code == 200
    assert not Action.objects.exists()
    page = response.content.decode()
    # What was typed is still there.
    assert 'value="Stages de 3e au collège Las Cazes"' in page
    assert 'value="Collège Las Cazes"' in page
    assert "Le formulaire contient des erreurs" in page
    return response


def test_qpv_of_another_departement_is_refused(client, world):
    user, _ = act_as(OrganisationKind.PREFECTURE, "34", "30")
    client.force_login(user)

    response = _refused(client, action_data(companies=[world["engie"].pk], qpvs=[world["mosson"].pk, world["pissevin"].pk]))

    errors = response.context["form"].errors
    assert list(errors) == ["qpvs"]
    assert "Ce QPV n'est pas dans le département de l'action (Hérault (34)) : Pissevin (QP030001)." in errors["qpvs"]
    page = response.content.decode()
    assert f'value="{world["pissevin"].pk}" id="id_qpvs_{world["pissevin"].pk}" checked' in page


def test_convention_of_another_company_is_refused(client, world):
    client.force_login(world["club_34_user"])
    convention = ConventionFactory(club=world["club_34"])
    convention.companies.set([world["sncf"]])

    response = _refused(client, action_data(companies=[world["engie"].pk], convention=convention.pk))

    assert response.context["form"].errors["convention"] == [
        "Cette convention ne concerne aucune des entreprises choisies pour l'action."
    ]
    assert f'<option value="{convention.pk}" selected>' in response.content.decode()


def test_a_convention_of_one_of_the_companies_is_accepted(client, world):
    client.force_login(world["club_34_user"])
    convention = ConventionFactory(club=world["club_34"])
    convention.companies.set([world["sncf"]])

    response = client.post(
        reverse("actions:create"), action_data(companies=[world["engie"].pk, world["sncf"].pk], convention=convention.pk)
    )

    assert response.status_code == 302
    assert Action.objects.get().convention == convention


@pytest.mark.parametrize("field", ["beneficiaries_women", "beneficiaries_under_26", "beneficiaries_qpv"])
def test_a_sub_count_above_the_total_is_refused_at_its_field(client, world, field):
    client.force_login(world["club_34_user"])

    response = _refused(client, action_data(companies=[world["engie"].pk], **{field: "13"}))

    errors = response.context["form"].errors
    assert errors[field] == ["Ce nombre ne peut pas dépasser le nombre total de bénéficiaires (12)."]
    assert 'value="13"' in response.content.decode()


def test_end_before_start_is_refused(client, world):
    client.force_login(world["club_34_user"])

    response = _refused(client, action_data(companies=[world["engie"].pk], end_date="2017-03-01"))

    assert response.context["form"].errors["end_date"] == ["La date de fin doit être postérieure ou égale à la date de début."]


@pytest.mark.parametrize(
    "dates",
    [{"start_date": "0001-01-01", "end_date": ""}, {"start_date": "9999-12-30", "end_date": "9999-12-31"}],
)
def test_dates_outside_2000_2100_are_refused_in_french(client, world, dates):
    client.force_login(world["club_34_user"])
    response = _refused(client, action_data(companies=[world["engie"].pk], **dates))
    errors = response.context["form"].errors
    for field, value in dates.items():
        if value:
            assert errors[field] == ["Saisissez une date comprise entre le 01/01/2000 et le 31/12/2100."], errors
    assert 'min="2000-01-01"' in response.content.decode() and 'max="2100-12-31"' in response.content.decode()


def test_a_3_mb_description_is_refused(client, world):
    client.force_login(world["club_34_user"])
    response = _refused(client, action_data(companies=[world["engie"].pk], description="x" * 3_000_000))
    [message] = response.context["form"].errors["description"]
    assert "au plus 5000 caractères" in message.replace("\xa0", " ").replace("\u202f", ""), message
    assert 'maxlength="5000"' in response.content.decode()


def test_a_company_out_of_scope_posted_by_hand_is_refused(client, world):
    client.force_login(world["club_34_user"])

    response = _refused(client, action_data(companies=[world["engie"].pk, world["gard_company"].pk]))

    message = response.context["form"].errors["companies"][0]
    assert str(world["gard_company"].pk) in message and "valide" in message


def test_a_company_user_cannot_add_another_company_by_hand(client, world):
    client.force_login(company_user(world["engie"]))

    _refused(client, action_data(companies=[world["engie"].pk, world["sncf"].pk]))


def test_a_departement_out_of_scope_is_refused(client, world):
    client.force_login(world["club_34_user"])

    response = _refused(client, action_data(companies=[world["engie"].pk], departement=departement("30").pk))

    assert "departement" in response.context["form"].errors


def test_a_partner_structure_without_its_kind_is_refused(client, world):
    client.force_login(world["club_34_user"])
    data = action_data(companies=[world["engie"].pk])
    data["partenaires-0-kind"] = ""

    response = _refused(client, data)

    assert response.context["partners"].forms[0].errors["kind"] == ["Précisez le type de cette structure."]


def test_save_and_log_another_comes_back_to_a_new_form_in_the_same_departement(client, world):
    user, _ = act_as(OrganisationKind.PREFECTURE, "34", "30")
    client.force_login(user)

    response = client.post(reverse("actions:create"), action_data(companies=[world["engie"].pk], save_and_new=""))

    assert response.status_code == 302
    # What the next form keeps beyond the département: tests/actions/test_fast_entry.py.
    assert response["Location"] == f"{reverse('actions:create')}?suite={Action.objects.get().pk}"
    page = client.get(response["Location"]).content.decode()
    assert f'<option value="{departement("34").pk}" selected>' in page
    assert "a été enregistrée" in page


def test_national_lists_the_qpv_of_the_chosen_departement_without_losing_what_was_typed(client, world):
    user, _ = act_as(OrganisationKind.NATIONAL)
    client.force_login(user)
    QPVFactory(code="QP013001", name="Quartier marseillais", departement=departement("13"))

    first = client.get(reverse("actions:create")).content.decode()
    assert "Mosson" not in first and "Afficher les QPV du département choisi" in first

    reloaded = client.post(reverse("actions:create"), action_data(companies=[world["engie"].pk], show_qpvs=""))

    page = reloaded.content.decode()
    assert reloaded.status_code == 200 and not Action.objects.exists()
    assert "Mosson (QP034005)" in page and "Quartier marseillais" not in page
    assert 'value="Stages de 3e au collège Las Cazes"' in page
    assert "Le formulaire contient des erreurs" not in page


def test_partner_cannot_open_the_logging_form(client, world):
    user, _ = act_as(OrganisationKind.PARTNER, "34")
    client.force_login(user)

    assert client.get(reverse("actions:create")).status_code == 404
    assert client.post(reverse("actions:create"), action_data(companies=[world["engie"].pk])).status_code == 404
    assert not Action.objects.exists()


def test_prefecture_may_name_the_animating_club_of_its_territory(client, world):
    user, _ = act_as(OrganisationKind.PREFECTURE, "34")
    client.force_login(user)

    page = client.get(reverse("actions:create")).content.decode()
    assert "FACE Hérault" in page and "FACE Gard" not in page

    client.post(reverse("actions:create"), action_data(companies=[world["engie"].pk], club=world["club_34"].pk))
    assert Action.objects.get().club == world["club_34"]


def test_the_service_refuses_links_the_form_would_refuse(world):
    from django.core.exceptions import ValidationError

    from conventions.action_services import save_action

    action = Action(
        action_type_id=action_data()["action_type"],
        title="Hors formulaire",
        start_date="2017-01-01",
        departement=departement("34"),
    )
    with pytest.raises(ValidationError) as refused:
        save_action(action, companies=[CompanyFactory()], qpvs=[world["pissevin"]], partners=[])
    assert "qpvs" in refused.value.message_dict
    assert not Action.objects.exists()


def test_the_error_summary_lists_and_links_every_field_in_error_including_a_partner_row(client, world):
    client.force_login(world["club_34_user"])
    data = action_data(companies=[world["engie"].pk], title="", beneficiaries_women="40")
    data["partenaires-1-kind"] = "college"  # a partner row with a kind but no name

    response = client.post(reverse("actions:create"), data)

    page = response.content.decode()
    assert parse(page).forms[-1].get("id") == "action-form" and "novalidate" in parse(page).forms[-1]
    links = assert_error_pattern(page, ["id_title", "id_beneficiaries_women", "id_partenaires-1-name"])
    texts = [text for _, text in links]
    assert any(text.startswith("Intitulé") for text in texts), texts
    assert any(text.startswith("Structure partenaire 2 — ") for text in texts), texts
