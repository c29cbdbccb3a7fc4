"""Import of companies (with their establishments and club memberships) from a spreadsheet: the round trip
with the export, files as people save them, the form's rules and the scope, and every malformed file refused
as a whole with each error listed (row, column, value, why)."""

import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from conventions.models import ImportBatch
from entreprises.models import ClubMembership, Company, Establishment
from entreprises.table import COLUMNS
from tests.factories import ClubMembershipFactory, CompanyFactory, EstablishmentFactory, with_luhn_key

pytestmark = pytest.mark.django_db

HEADER = ";".join(COLUMNS)
NEW_SIREN = with_luhn_key("73282932")


def line(siren=NEW_SIREN, name="Delta Conseil", *, siret=None, commune="34172", clubs="", head="oui", size="PME"):
    """One row in the export's columns; `siret=None`: the company's first establishment (SIREN + 0001)."""
    if siret is None:
        siret = with_luhn_key(siren + "0001")
    cells = {
        "SIREN": siren,
        "Raison sociale": name,
        "Taille": size,
        "Code NAF": "70.22Z",
        "Code commune": commune,
        "Clubs": clubs,
        "SIRET": siret,
        "Établissement": "Agence de Montpellier" if siret else "",
        "Code commune de l'établissement": commune if siret else "",
        "Siège": head if siret else "",
    }
    return ";".join(cells.get(column, "") for column in COLUMNS)


def upload(client, content, name="entreprises.csv"):
    response = client.post(reverse("company_import:import"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 302, response.content.decode()[:500]
    return ImportBatch.objects.latest("pk")


def confirm(client, batch):
    client.post(reverse("company_import:import_confirm", args=[batch.pk]))
    batch.refresh_from_db()
    return batch


def snapshot():
    companies = [
        (c.pk, c.siren, c.name, c.size, c.naf_code, c.commune_id, c.version, c.updated_at) for c in Company.objects.order_by("pk")
    ]
    establishments = list(Establishment.objects.order_by("pk").values_list("pk", "siret", "name", "commune_id", "is_head_office"))
    memberships = list(ClubMembership.objects.order_by("pk").values_list("pk", "company_id", "club_id", "start_date", "end_date"))
    return companies, establishments, memberships


@pytest.fixture
def listed(world):
    """Alpha with two establishments (one head office), a member of two clubs; Bêta without establishment;
    Zéro, whose SIREN starts with a zero (the one a spreadsheet drops)."""
    EstablishmentFactory(
        company=world.alpha, siret=with_luhn_key(world.alpha.siren + "0001"), commune=world.montpellier, is_head_office=True
    )
    EstablishmentFactory(
        company=world.alpha, siret=with_luhn_key(world.alpha.siren + "0002"), name="Agence Aude", commune=world.carcassonne
    )
    ClubMembershipFactory(company=world.alpha, club=world.club_aude, start_date=datetime.date(2016, 5, 1))
    zero = CompanyFactory(siren=with_luhn_key("01234567"), name="Zéro Logistique", commune=world.montpellier, naf_code="49.41A")
    EstablishmentFactory(company=zero, siret=with_luhn_key(zero.siren + "0001"), commune=world.montpellier, is_head_office=True)
    return world


def listed_zero(world):
    return Company.objects.get(name="Zéro Logistique").siren


def errors_of(batch):
    return [(e["row"], e["column"], e["message"]) for e in batch.errors]


# --- round trip ------------------------------------------------------------------------------------------


def test_round_trip_of_the_csv_export_changes_nothing(client, listed, act_as):
    act_as(listed.prefecture)
    exported = client.get(reverse("entreprises:export")).getvalue()
    assert exported.count(b"\r\n") == 5  # header, Alpha's two establishments, Bêta, Zéro
    before = snapshot()

    batch = upload(client, exported)

    assert batch.status == ImportBatch.Status.READY, batch.errors
    assert (batch.created_count, batch.updated_count, batch.unchanged_count) == (0, 0, 4)
    assert confirm(client, batch).status == ImportBatch.Status.DONE
    assert snapshot() == before


def test_round_trip_keeps_a_name_the_export_quoted_against_formulas(client, listed, act_as):
    """The export quotes text a spreadsheet would run (`=`, `+`, `-`, `@`); the import takes the quote off."""
    listed.alpha.name = "=Alpha & Cie"
    listed.alpha.save()
    act_as(listed.prefecture)
    exported = client.get(reverse("entreprises:export")).getvalue()
    assert b"'=Alpha & Cie" in exported
    before = snapshot()

    batch = upload(client, exported)

    assert batch.status == ImportBatch.Status.READY, batch.errors
    assert (batch.created_count, batch.updated_count) == (0, 0)
    confirm(client, batch)
    assert snapshot() == before
    assert Company.objects.get(pk=listed.alpha.pk).name == "=Alpha & Cie"


def test_round_trip_through_excel_changes_nothing(client, listed, act_as):
    """The export opened in Excel and saved as .xlsx: SIREN, SIRET and codes become numbers, Zéro's SIREN loses
    its leading zero (restored), blank rows trail."""
    act_as(listed.national)
    text = client.get(reverse("entreprises:export")).getvalue().decode("utf-8-sig")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    numeric = [COLUMNS.index(c) for c in ("SIREN", "SIRET", "Code commune", "Code commune de l'établissement")]
    for number, text_line in enumerate(text.splitlines()):
        cells = text_line.split(";")
        if number:
            for index in numeric:
                cells[index] = int(cells[index]) if cells[index] else None
        sheet.append(cells)
    sheet.append([])
    sheet.append([None, None])
    data = io.BytesIO()
    workbook.save(data)
    # Zéro's SIREN as Excel keeps it: a number of 8 digits.
    assert [cell.value for cell in sheet["A"] if isinstance(cell.value, int) and cell.value < 10**8] == [int(listed_zero(listed))]
    before = snapshot()

    batch = upload(client, data.getvalue(), "entreprises.xlsx")

    assert batch.status == ImportBatch.Status.READY, batch.errors
    assert batch.unchanged_count == 5 and batch.rows_total == 5  # + Gamma (Aude), which the national level sees
    confirm(client, batch)
    assert snapshot() == before


def test_round_trip_of_the_demo_export_changes_nothing(client):
    from django.core.management import call_command

    from charte.comptes.models import User

    call_command("seed_demo", stdout=io.StringIO())
    client.force_login(User.objects.get(email="animateur.face-herault@demo.charte.fr"))
    exported = client.get(reverse("entreprises:export")).getvalue()
    before = snapshot()

    batch = upload(client, exported)

    assert batch.status == ImportBatch.Status.READY, batch.errors[:5]
    assert batch.unchanged_count == batch.rows_total > 0
    assert confirm(client, batch).status == ImportBatch.Status.DONE
    assert snapshot() == before


# --- creations and updates ----------------------------------------------------------------------------------


def test_a_windows_file_creates_the_company_once(client, listed, act_as):
    act_as(listed.prefecture)
    content = "\r\n".join([HEADER, line(name="Delta Société Générale d'Études")]).encode("cp1252")

    batch = upload(client, content)
    assert [row["operation"] for row in batch.preview] == ["create"]
    confirm(client, batch)

    delta = Company.objects.get(siren=NEW_SIREN)
    assert delta.name == "Delta Société Générale d'Études" and delta.size == "pme" and delta.naf_code == "70.22Z"
    assert delta.establishments.get().is_head_office
    again = upload(client, content)
    assert (again.created_count, again.unchanged_count) == (0, 1)


def test_a_club_creating_a_company_makes_it_a_member(client, listed, act_as):
    user = act_as(listed.club)
    batch = confirm(client, upload(client, f"{HEADER}\n{line()}".encode()))
    assert batch.status == ImportBatch.Status.DONE, batch.errors
    membership = ClubMembership.objects.get(company__siren=NEW_SIREN)
    assert membership.club == listed.club and membership.recorded_by == user


def test_updates_bump_the_version_and_add_memberships(client, listed, act_as):
    user = act_as(listed.national)
    siret = with_luhn_key(listed.alpha.siren + "0002")
    rows = [
        HEADER,
        line(
            listed.alpha.siren, "Alpha Ingénierie SA", siret=siret, commune="11069", clubs="FACE Hérault, FACE Aude", head="non"
        ),
        line(listed.beta.siren, "Bêta Services", siret="", clubs="FACE Hérault", size="TPE"),
    ]
    batch = upload(client, "\n".join(rows).encode())
    assert [row["operation"] for row in batch.preview] == ["update", "update"], batch.errors
    confirm(client, batch)

    listed.alpha.refresh_from_db()
    assert listed.alpha.name == "Alpha Ingénierie SA" and listed.alpha.version == 2 and listed.alpha.updated_by == user
    assert Establishment.objects.filter(company=listed.alpha).count() == 2  # the one absent from the file stays
    assert ClubMembership.objects.current().filter(company=listed.beta, club=listed.club).exists()


def test_the_head_office_moves_from_one_establishment_to_another(client, listed, act_as):
    act_as(listed.national)
    first, second = (with_luhn_key(listed.alpha.siren + suffix) for suffix in ("0001", "0002"))
    rows = [
        HEADER,
        line(listed.alpha.siren, "Alpha Ingénierie", siret=first, head="non"),
        line(listed.alpha.siren, "Alpha Ingénierie", siret=second, head="oui"),
    ]
    batch = confirm(client, upload(client, "\n".join(rows).encode()))
    assert batch.status == ImportBatch.Status.DONE, batch.errors
    assert Establishment.objects.get(is_head_office=True, company=listed.alpha).siret == second


# --- files that cannot be read ----------------------------------------------------------------------------


def _refused(client, content, name="entreprises.csv"):
    before = snapshot()
    batch = upload(client, content, name)
    assert batch.status == ImportBatch.Status.REJECTED
    assert snapshot() == before
    return batch


def test_wrong_separator_is_refused_with_a_message(client, listed, act_as):
    act_as(listed.prefecture)
    batch = _refused(client, f"{HEADER}\n{line()}".replace(";", "|").encode())
    assert "Aucune ligne d'en-tête reconnue" in batch.message


def test_binary_file_is_refused_with_a_french_message(client, listed, act_as):
    act_as(listed.prefecture)
    batch = _refused(client, b"\x00\x01\x02PDF\xff\xfe" * 20)
    assert "n'est pas un CSV lisible" in batch.message


def test_missing_column_is_named(client, listed, act_as):
    act_as(listed.prefecture)
    header = HEADER.replace("Raison sociale;", "")
    batch = _refused(client, f"{header}\n{NEW_SIREN}".encode())
    assert "« Raison sociale »" in batch.message
    assert errors_of(batch) == [(1, "Raison sociale", "Colonne absente de l'en-tête.")]


# --- the form's rules, row by row ---------------------------------------------------------------------------


def _single_error(client, row_text):
    batch = _refused(client, f"{HEADER}\n{row_text}".encode())
    assert len(batch.errors) == 1, batch.errors
    return batch.errors[0]


def test_bad_siren_is_listed(client, listed, act_as):
    act_as(listed.prefecture)
    error = _single_error(client, line("732829321", siret=""))
    assert (error["row"], error["column"], error["value"]) == (2, "SIREN", "732829321")
    assert "clé de contrôle" in error["message"]


def test_bad_siret_is_listed(client, listed, act_as):
    act_as(listed.prefecture)
    bad_key = NEW_SIREN + "00019" if with_luhn_key(NEW_SIREN + "0001") != NEW_SIREN + "00019" else NEW_SIREN + "00018"
    error = _single_error(client, line(siret=bad_key))
    assert (error["column"], error["value"]) == ("SIRET", bad_key) and "clé de contrôle" in error["message"]


def test_siret_of_another_siren_is_listed(client, listed, act_as):
    act_as(listed.prefecture)
    error = _single_error(client, line(siret=with_luhn_key(listed.beta.siren + "0009")))
    assert error["column"] == "SIRET" and "doit commencer par le SIREN" in error["message"]


def test_unknown_commune_is_listed(client, listed, act_as):
    act_as(listed.national)
    batch = _refused(client, f"{HEADER}\n{line(commune='99999', siret='')}".encode())
    assert errors_of(batch) == [
        (2, "Code commune", "Commune inconnue : indiquez son code INSEE (5 caractères, par exemple 34172).")
    ]


def test_unknown_size_and_naf_are_listed(client, listed, act_as):
    act_as(listed.national)
    row_text = line(size="Moyenne", siret="").replace("70.22Z", "7022")
    batch = _refused(client, f"{HEADER}\n{row_text}".encode())
    assert [e[1] for e in errors_of(batch)] == ["Taille", "Code NAF"]


def test_out_of_scope_company_is_refused_for_its_rows(client, listed, act_as):
    act_as(listed.prefecture)  # Hérault: Gamma (Aude) is not in its scope
    rows = [HEADER, line(), line(listed.gamma.siren, "Gamma Aude", siret="", commune="11069")]
    batch = _refused(client, "\n".join(rows).encode())
    assert [(e[0], e[1]) for e in errors_of(batch)] == [(3, "SIREN")]
    assert "pas dans votre périmètre" in batch.errors[0]["message"]
    assert not Company.objects.filter(siren=NEW_SIREN).exists()  # the good row was not written either


def test_a_prefecture_creates_companies_in_its_departements_only(client, listed, act_as):
    act_as(listed.prefecture)
    error = _single_error(client, line(commune="11069"))
    assert error["column"] == "Code commune" and "l'un de vos départements" in error["message"]


def test_memberships_only_to_clubs_one_manages(client, listed, act_as):
    act_as(listed.prefecture)  # Hérault: FACE Aude is not among its clubs
    error = _single_error(client, line(listed.beta.siren, "Bêta Services", siret="", clubs="FACE Aude", size="TPE"))
    assert (error["column"], error["value"], error["message"]) == (
        "Clubs",
        "FACE Aude",
        "Club inconnu ou hors de votre périmètre.",
    )


def test_a_club_may_not_change_a_company_it_does_not_count_among_its_members(client, listed, act_as):
    from tests.factories import ConventionFactory

    ConventionFactory(club=listed.club).companies.add(listed.beta)  # visible to the club, not a member
    act_as(listed.club)
    error = _single_error(client, line(listed.beta.siren, "Bêta Renommée", siret="", size="TPE"))
    assert error["column"] == "SIREN" and "pas la modifier" in error["message"]


def test_duplicate_rows_and_every_error_are_listed_nothing_written(client, listed, act_as):
    act_as(listed.national)
    rows = [
        HEADER,
        line(),
        line(),  # the same establishment twice
        line(NEW_SIREN, "Delta Autre Nom", siret=with_luhn_key(NEW_SIREN + "0002"), head="non"),
        line("123", siret=""),
        line(with_luhn_key("55210055"), "Epsilon", siret="", commune="99999"),
    ]
    batch = _refused(client, "\n".join(rows).encode())
    assert [(e[0], e[1]) for e in errors_of(batch)] == [(3, "SIRET"), (4, "Raison sociale"), (5, "SIREN"), (6, "Code commune")]
    assert "Ligne en double" in batch.errors[0]["message"] and "ligne 2" in batch.errors[0]["message"]
    assert "différente de la ligne 2" in batch.errors[1]["message"]
    assert batch.rejected_count == 4
    page = client.get(reverse("company_import:import_batch", args=[batch.pk])).content.decode()
    assert "Ligne en double" in page and "Confirmer l" not in page


# --- real files -----------------------------------------------------------------------------------------


def test_a_real_looking_file_bom_semicolons_and_lost_leading_zeros(client, listed, act_as):
    """Saved by Excel as "CSV UTF-8": a BOM, `;`, SIREN "12345678" (typed 012345678, the zero dropped) restored
    because 012345678 passes the Luhn key, SIRET of 13 digits likewise, commune "1053" read "01053"."""
    from tests.factories import CommuneFactory, departement

    CommuneFactory(code="01053", name="Bourg-en-Bresse", departement=departement("01"))
    siren = with_luhn_key("01234568")
    siret = with_luhn_key(siren + "0001")
    assert siren.startswith("0")
    act_as(listed.national)
    content = "\ufeff" + f"{HEADER}\r\n{line(siren[1:], 'Bressane', siret=siret[1:], commune='1053')}\r\n;;;;\r\n"
    batch = confirm(client, upload(client, content.encode("utf-8")))
    assert batch.status == ImportBatch.Status.DONE, batch.errors
    company = Company.objects.get(name="Bressane")
    assert company.siren == siren and company.commune.code == "01053"
    assert company.establishments.get().siret == siret


def test_eight_digits_that_fail_the_key_once_padded_are_refused(client, listed, act_as):
    act_as(listed.national)
    padded = with_luhn_key("01234568")
    wrong = padded[1:-1] + str((int(padded[-1]) + 1) % 10)
    error = _single_error(client, line(wrong, siret=""))
    assert error["column"] == "SIREN" and error["value"] == wrong


# --- pages ----------------------------------------------------------------------------------------------


def test_list_has_the_import_button_for_those_who_may_create(client, listed, act_as):
    act_as(listed.club)
    assert reverse("company_import:import") in client.get(reverse("entreprises:list")).content.decode()
    act_as(listed.company_org)
    assert reverse("company_import:import") not in client.get(reverse("entreprises:list")).content.decode()
    assert client.get(reverse("company_import:import")).status_code == 404


def test_templates_download(client, listed, act_as):
    act_as(listed.prefecture)
    csv_text = client.get(reverse("company_import:import_template_csv")).content.decode("utf-8-sig")
    assert csv_text.strip() == HEADER
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(reverse("company_import:import_template_xlsx")).content))
    assert [c.value for c in workbook["Entreprises"][1]] == COLUMNS
    assert ["SIREN", "oui"] == [c.value for c in workbook["Aide"][2]][:2]


def test_company_batches_are_not_served_by_the_actions_pages(client, listed, act_as):
    act_as(listed.prefecture)
    batch = upload(client, f"{HEADER}\n{line()}".encode())
    assert client.get(reverse("actions:import_batch", args=[batch.pk])).status_code == 404
    act_as(listed.prefecture_aude)
    assert client.get(reverse("company_import:import_batch", args=[batch.pk])).status_code == 404


def test_the_preview_of_many_rows_runs_a_bounded_number_of_queries(client, listed, act_as, django_assert_max_num_queries):
    act_as(listed.national)
    rows = [HEADER] + [line(with_luhn_key(f"7{n:07d}"), f"Société {n}") for n in range(200)]
    with django_assert_max_num_queries(40):
        batch = upload(client, "\n".join(rows).encode())
    assert batch.created_count == 200, batch.errors[:3]
    with django_assert_max_num_queries(15):
        page = client.get(reverse("company_import:import_batch", args=[batch.pk]))
    assert page.content.decode().count("Création") >= 200


@pytest.fixture
def tasks_run_in_place():
    """The import's tasks leave after commit; this test runs them in-process, even when CI provides a broker."""
    from charte.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@override_settings(IMPORT_BACKGROUND_ROWS=1)
def test_a_large_file_runs_in_the_background(client, listed, act_as, django_capture_on_commit_callbacks, tasks_run_in_place):
    """The Celery tasks find the companies' importer from the batch's kind."""
    act_as(listed.national)
    rows = [HEADER, line(), line(with_luhn_key("55210055"), "Epsilon", siret="")]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = upload(client, "\n".join(rows).encode())
    assert batch.status == ImportBatch.Status.PENDING
    for callback in callbacks:
        callback()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.READY and batch.created_count == 2, batch.errors
    with django_capture_on_commit_callbacks(execute=True):
        assert confirm(client, batch).status == ImportBatch.Status.IMPORTING
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert set(Company.objects.filter(name__in=["Delta Conseil", "Epsilon"]).values_list("name", flat=True)) == {
        "Delta Conseil",
        "Epsilon",
    }


def test_rejected_rows_download_carries_the_errors(client, listed, act_as):
    act_as(listed.prefecture)
    batch = upload(client, f"{HEADER}\n{line()}\n{line('123456789', 'Mauvaise', siret='')}".encode())
    content = client.get(reverse("company_import:import_rejects", args=[batch.pk])).content.decode("utf-8-sig")
    data = content.splitlines()
    assert data[0].endswith(";Erreurs") and len(data) == 2
    assert "Mauvaise" in data[1] and "SIREN invalide" in data[1]
