"""Diagnostics: what a company already does and wants to do, recorded per action type of the catalogue."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from charte.catalogue.models import ActionType
from entreprises.models import Diagnostic, DiagnosticItem
from tests.factories import ConventionFactory, action_type


def statuses(diagnostic):
    return {item.action_type.code: (item.status, item.comment) for item in diagnostic.items.select_related("action_type")}


def payload(answers, **fields):
    """answers: {action type code: status or (status, comment)}."""
    data = {"date": "2017-03-15", "comment": "Rencontre avec la directrice des ressources humaines."}
    data.update(fields)
    for code, answer in answers.items():
        status, comment = answer if isinstance(answer, tuple) else (answer, "")
        pk = action_type(code).pk
        data[f"statut_{pk}"] = status
        data[f"commentaire_{pk}"] = comment
    return data


def test_form_lists_the_catalogue_by_family_with_radio_buttons(client, world, act_as):
    act_as(world.club)
    response = client.get(f"/entreprises/{world.alpha.pk}/diagnostics/nouveau/")
    assert response.status_code == 200
    html = response.content.decode()
    families = re.findall(r'<h3 id="famille-(\w+)">', html)
    assert families == ["EDU", "EMP", "ECO", "SOL", "RSE"]
    stage = action_type("STAGE_3E")
    assert f'type="radio" name="statut_{stage.pk}" value="doing"' in html
    for label in ("Le fait déjà", "Souhaite le faire", "Non concernée"):
        assert label in html
    assert f'<label for="id_commentaire_{stage.pk}" class="fr-label">' in html
    assert len(re.findall(r'type="radio" name="statut_', html)) == 3 * ActionType.objects.filter(is_active=True).count()


def test_club_records_a_diagnostic_for_its_member(client, world, act_as):
    user = act_as(world.club)
    response = client.post(
        f"/entreprises/{world.alpha.pk}/diagnostics/nouveau/",
        payload(
            {
                "STAGE_3E": ("doing", "Dix élèves par an avec le collège voisin."),
                "ALTERNANCE": "wants",
                "ACHATS_INCLUSIFS": "not_concerned",
            }
        ),
    )
    diagnostic = Diagnostic.objects.get(company=world.alpha)
    assert response.status_code == 302
    assert response["Location"] == f"/entreprises/diagnostics/{diagnostic.pk}/"
    assert diagnostic.club == world.club
    assert diagnostic.author == user
    assert diagnostic.date == datetime.date(2017, 3, 15)
    assert statuses(diagnostic) == {
        "STAGE_3E": ("doing", "Dix élèves par an avec le collège voisin."),
        "ALTERNANCE": ("wants", ""),
        "ACHATS_INCLUSIFS": ("not_concerned", ""),
    }
    assert [t.code for t in diagnostic.suggested_action_types()] == ["STAGE_3E", "ALTERNANCE"]


def test_detail_groups_by_family_and_offers_to_prepare_a_convention(client, world, act_as):
    act_as(world.club)
    client.post(
        f"/entreprises/{world.alpha.pk}/diagnostics/nouveau/",
        payload({"STAGE_3E": "doing", "TUTORAT": "wants", "MECENAT_COMPETENCES": "doing"}),
    )
    diagnostic = Diagnostic.objects.get(company=world.alpha)
    html = client.get(f"/entreprises/diagnostics/{diagnostic.pk}/").content.decode()
    assert re.findall(r'<h2 id="famille-(\w+)"', html) == ["EDU", "SOL"]
    assert "Accueil de stagiaires de 3e" in html and "Le fait déjà" in html and "Souhaite le faire" in html
    assert f'href="/conventions/nouvelle/?entreprise={world.alpha.pk}&amp;diagnostic={diagnostic.pk}"' in html
    assert "Préparer une convention à partir de ce diagnostic" in html
    # The company's page shows its latest diagnostic.
    company_html = client.get(f"/entreprises/{world.alpha.pk}/").content.decode()
    assert f'href="/entreprises/diagnostics/{diagnostic.pk}/"' in company_html
    assert "Dernier diagnostic du 15/03/2017" in company_html


def test_edit_updates_clears_and_adds_lines(client, world, act_as):
    act_as(world.prefecture)
    client.post(
        f"/entreprises/{world.alpha.pk}/diagnostics/nouveau/",
        payload({"STAGE_3E": "wants", "ALTERNANCE": "doing"}, club=str(world.club.pk)),
    )
    diagnostic = Diagnostic.objects.get(company=world.alpha)
    assert diagnostic.club == world.club
    form_html = client.get(f"/entreprises/diagnostics/{diagnostic.pk}/modifier/").content.decode()
    stage = action_type("STAGE_3E")
    assert re.search(rf'name="statut_{stage.pk}" value="wants"[^>]*checked', form_html)
    data = payload({"STAGE_3E": ("doing", "Depuis la rentrée."), "LABEL_RSE": "wants"}, date="2017-04-01", club="")
    data[f"statut_{action_type('ALTERNANCE').pk}"] = ""
    response = client.post(f"/entreprises/diagnostics/{diagnostic.pk}/modifier/", data)
    assert response.status_code == 302
    diagnostic.refresh_from_db()
    assert diagnostic.date == datetime.date(2017, 4, 1)
    assert diagnostic.club is None
    assert statuses(diagnostic) == {"STAGE_3E": ("doing", "Depuis la rentrée."), "LABEL_RSE": ("wants", "")}
    assert Diagnostic.objects.count() == 1


def test_refused_diagnostic_keeps_what_was_typed(client, world, act_as):
    act_as(world.club)
    stage, tutorat = action_type("STAGE_3E"), action_type("TUTORAT")
    data = payload({"STAGE_3E": "doing"}, date="pas une date")
    data[f"commentaire_{tutorat.pk}"] = "À voir avec le collège."
    response = client.post(f"/entreprises/{world.alpha.pk}/diagnostics/nouveau/", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Saisissez une date valide." in html
    assert "Indiquez la situation de l&#x27;entreprise pour ce commentaire." in html
    assert 'value="À voir avec le collège."' in html
    assert re.search(rf'name="statut_{stage.pk}" value="doing"[^>]*checked', html)
    assert not Diagnostic.objects.exists()


def test_club_cannot_diagnose_a_visible_non_member(client, world, act_as):
    ConventionFactory(club=world.club).companies.add(world.beta)
    act_as(world.club)
    response = client.post(f"/entreprises/{world.beta.pk}/diagnostics/nouveau/", payload({"STAGE_3E": "doing"}))
    assert response.status_code == 403
    assert not Diagnostic.objects.exists()


@pytest.mark.parametrize("org_name, company_name", [("club", "gamma"), ("prefecture", "gamma"), ("partner", "alpha")])
def test_diagnostic_pages_out_of_scope_are_404(client, world, act_as, org_name, company_name):
    company = getattr(world, company_name)
    diagnostic = Diagnostic.objects.create(company=company, date=datetime.date(2017, 1, 1))
    act_as(getattr(world, org_name))
    assert client.get(f"/entreprises/{company.pk}/diagnostics/nouveau/").status_code == 404
    assert client.get(f"/entreprises/diagnostics/{diagnostic.pk}/").status_code == 404
    assert client.get(f"/entreprises/diagnostics/{diagnostic.pk}/modifier/").status_code == 404


def test_company_reads_its_diagnostic_but_does_not_write_it(client, world, act_as):
    diagnostic = Diagnostic.objects.create(company=world.alpha, club=world.club, date=datetime.date(2017, 1, 1))
    DiagnosticItem.objects.create(diagnostic=diagnostic, action_type=action_type("STAGE_3E"), status="doing")
    act_as(world.company_org)
    html = client.get(f"/entreprises/diagnostics/{diagnostic.pk}/").content.decode()
    assert "Accueil de stagiaires de 3e" in html
    assert "Modifier le diagnostic" not in html
    assert "Préparer une convention" not in html
    assert client.get(f"/entreprises/diagnostics/{diagnostic.pk}/modifier/").status_code == 403
    assert client.get(f"/entreprises/{world.alpha.pk}/diagnostics/nouveau/").status_code == 403


def test_club_cannot_edit_another_clubs_diagnostic_of_its_member(client, world, act_as):
    diagnostic = Diagnostic.objects.create(company=world.alpha, club=world.club_aude, date=datetime.date(2017, 1, 1))
    act_as(world.club)
    # The scoping policy hides other clubs' diagnostics from a club.
    assert client.get(f"/entreprises/diagnostics/{diagnostic.pk}/modifier/").status_code == 404


def test_diagnostic_detail_queries_do_not_grow_with_lines(client, world, act_as):
    types = list(ActionType.objects.all())
    small = Diagnostic.objects.create(company=world.alpha, club=world.club, date=datetime.date(2017, 1, 1))
    DiagnosticItem.objects.bulk_create(DiagnosticItem(diagnostic=small, action_type=t, status="doing") for t in types[:2])
    full = Diagnostic.objects.create(company=world.alpha, club=world.club, date=datetime.date(2017, 2, 1))
    DiagnosticItem.objects.bulk_create(DiagnosticItem(diagnostic=full, action_type=t, status="wants") for t in types)
    act_as(world.club)
    counts = []
    for diagnostic in (small, full):
        for url in (f"/entreprises/diagnostics/{diagnostic.pk}/", f"/entreprises/diagnostics/{diagnostic.pk}/modifier/"):
            with CaptureQueriesContext(connection) as context:
                assert client.get(url).status_code == 200
            counts.append(len(context.captured_queries))
    assert counts[0] == counts[2]
    assert counts[1] == counts[3]
