"""Import of actions from a spreadsheet: the round trip with the export, files as people save them, and every
malformed file refused as a whole with each error listed (row, column, value, why)."""

import datetime
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from conventions.models import Action, ActionPartner, ImportBatch
from tests.factories import ActionFactory, CompanyFactory, action_type, with_luhn_key

pytestmark = pytest.mark.django_db

HEADER = (
    "Identifiant;Date de début;Date de fin;Type d'action;Famille;Intitulé;Entreprises;SIREN;QPV;Département;"
    "Convention;Bénéficiaires;dont femmes;dont moins de 26 ans;dont résidents des QPV;Salariés mobilisés;Heures;"
    "Structures partenaires;Club;Saisie par;Saisie le"
)


def row(siren, *, qpv="QP034005", title="Stages de 3e au collège Las Cazes", dep="34", hours="10,5", ident=""):
    return (
        f"{ident};15/03/2017;;{action_type().label};;{title};;{siren};{qpv};{dep};;12;6;12;8;3;{hours};"
        "Collège Las Cazes (Collège);;;"
    )


def upload(client, content, name="actions.csv"):
    response = client.post(reverse("actions:import"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 302, response.content.decode()[:500]
    return ImportBatch.objects.latest("pk")


def confirm(client, batch):
    client.post(reverse("actions:import_confirm", args=[batch.pk]))
    batch.refresh_from_db()
    return batch


def actions_snapshot():
    return [
        (
            a.pk,
            a.version,
            a.updated_at,
            a.title,
            a.hours,
            sorted(a.companies.values_list("pk", flat=True)),
            sorted(a.qpvs.values_list("code", flat=True)),
            list(a.partners.values_list("kind", "name")),
        )
        for a in Action.objects.order_by("pk")
    ]


@pytest.fixture
def logged_actions(world):
    first = ActionFactory(title="Stages de 3e", club=world["club_34"], logged_by=world["club_34_user"], hours="3.5")
    first.companies.set([world["engie"], world["sncf"]])
    first.qpvs.set([world["mosson"]])
    ActionPartner.objects.create(action=first, kind="college", name="Collège Las Cazes")
    second = ActionFactory(title="Job dating, Mosson", club=world["club_34"], logged_by=world["club_34_user"])
    second.companies.set([world["engie"]])
    return [first, second]


def test_round_trip_of_the_csv_export_changes_nothing(client, world, logged_actions):
    client.force_login(world["club_34_user"])
    exported = client.get(reverse("actions:export")).getvalue()
    before = actions_snapshot()

    batch = upload(client, exported)

    assert batch.status == ImportBatch.Status.READY, batch.errors
    assert (batch.created_count, batch.updated_count, batch.unchanged_count) == (0, 0, 2)
    assert confirm(client, batch).status == ImportBatch.Status.DONE
    assert actions_snapshot() == before


def test_round_trip_through_excel_changes_nothing(client, world, logged_actions):
    """The export opened in Excel and saved as .xlsx: dates become Excel dates, numbers become numbers."""
    client.force_login(world["club_34_user"])
    text = client.get(reverse("actions:export")).getvalue().decode("utf-8-sig")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for line_number, line in enumerate(text.splitlines()):
        cells = line.split(";")
        if line_number:
            cells[0] = int(cells[0])
            cells[1] = datetime.datetime.strptime(cells[1], "%d/%m/%Y")
            cells[11:16] = [int(c) for c in cells[11:16]]
            cells[16] = float(cells[16].replace(",", "."))
        sheet.append(cells)
    sheet.append([])
    sheet.append([None, None])  # blank trailing rows Excel keeps
    data = io.BytesIO()
    workbook.save(data)
    before = actions_snapshot()

    batch = upload(client, data.getvalue(), "actions.xlsx")

    assert batch.status == ImportBatch.Status.READY, batch.errors
    assert batch.unchanged_count == 2 and batch.rows_total == 2
    confirm(client, batch)
    assert actions_snapshot() == before


def test_new_rows_from_a_windows_file_are_created_once(client, world):
    """Windows-1252, `,` separator, French decimals, a département that lost its zero is not needed here but a
    SIREN of eight digits (leading zero dropped by a number cell) is completed; re-importing creates nothing."""
    zero_siren = with_luhn_key("01234567")
    company = CompanyFactory(name="Zéro SA", siren=zero_siren, commune=world["engie"].commune)
    world["club_34"].departements.all()
    from entreprises.models import ClubMembership

    ClubMembership.objects.create(company=company, club=world["club_34"], start_date=datetime.date(2015, 1, 1))
    client.force_login(world["club_34_user"])
    lines = [HEADER.replace(";", ","), row(zero_siren[1:], hours='"10,5"').replace(";", ",")]
    content = "\r\n".join(lines).encode("cp1252")

    batch = upload(client, content)
    assert batch.status == ImportBatch.Status.READY, batch.errors
    assert batch.created_count == 1
    confirm(client, batch)
    action = Action.objects.get()
    assert action.hours == 10.5 and action.club == world["club_34"] and action.logged_by == world["club_34_user"]
    assert list(action.companies.all()) == [company]
    assert list(action.partners.values_list("kind", "name")) == [("college", "Collège Las Cazes")]

    again = upload(client, content)
    assert (again.created_count, again.unchanged_count) == (0, 1)
    confirm(client, again)
    assert Action.objects.count() == 1


def test_merged_title_row_and_excel_serial_dates_are_read(client, world):
    client.force_login(world["club_34_user"])
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    columns = HEADER.split(";")
    sheet.append(["Actions du club FACE Hérault"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    sheet.append(columns)
    cells = row(world["engie"].siren, dep=34).split(";")
    cells[1] = 42809  # 15/03/2017 as a serial number
    cells[9] = 34
    sheet.append(cells)
    data = io.BytesIO()
    workbook.save(data)

    batch = upload(client, data.getvalue(), "actions.xlsx")

    assert batch.status == ImportBatch.Status.READY, batch.errors
    confirm(client, batch)
    assert Action.objects.get().start_date == datetime.date(2017, 3, 15)


def _refused(client, content, name="actions.csv"):
    batch = upload(client, content, name)
    assert batch.status == ImportBatch.Status.REJECTED
    confirm(client, batch)  # refused files cannot be confirmed
    assert batch.status == ImportBatch.Status.REJECTED
    assert not Action.objects.exists()
    page = client.get(reverse("actions:import_batch", args=[batch.pk])).content.decode()
    return batch, page


def test_wrong_separator_is_refused_with_a_message(client, world):
    client.force_login(world["club_34_user"])
    batch, page = _refused(client, (HEADER + "\n" + row(world["engie"].siren)).replace(";", "|").encode())
    assert "séparateur" in batch.message and "séparateur" in page


def test_unreadable_encoding_is_refused(client, world):
    client.force_login(world["club_34_user"])
    batch, page = _refused(client, (HEADER + "\n" + row(world["engie"].siren)).encode("utf-16"))
    assert "encodage" in batch.message.lower() or "UTF-16" in batch.message


def test_damaged_xlsx_is_refused(client, world):
    client.force_login(world["club_34_user"])
    batch, page = _refused(client, b"PK\x03\x04 not really a zip", "actions.xlsx")
    assert "classeur Excel" in batch.message


def test_missing_column_is_named(client, world):
    client.force_login(world["club_34_user"])
    header = HEADER.replace(";SIREN;", ";Numéro;")
    batch, page = _refused(client, (header + "\n" + row(world["engie"].siren)).encode())
    assert "« SIREN »" in batch.message
    assert batch.errors == [{"row": 1, "column": "SIREN", "value": "", "message": "Colonne absente de l'en-tête."}]


def _single_error(batch, column):
    assert [(e["row"], e["column"]) for e in batch.errors] == [(2, column)], batch.errors
    return batch.errors[0]


def test_bad_siren_is_listed(client, world):
    client.force_login(world["club_34_user"])
    batch, page = _refused(client, (HEADER + "\n" + row("123456789")).encode())
    error = _single_error(batch, "SIREN")
    assert error["value"] == "123456789" and "SIREN invalide" in error["message"]
    assert "SIREN invalide" in page


def test_unknown_qpv_is_listed(client, world):
    client.force_login(world["club_34_user"])
    batch, _ = _refused(client, (HEADER + "\n" + row(world["engie"].siren, qpv="QP034999")).encode())
    assert _single_error(batch, "QPV")["message"] == "Code de QPV inconnu."


def test_qpv_of_the_wrong_generation_is_listed(client, world):
    from tests.factories import QPVFactory

    QPVFactory(code="QN03401M", name="Mosson 2024", generation=2024)
    client.force_login(world["club_34_user"])
    batch, _ = _refused(client, (HEADER + "\n" + row(world["engie"].siren, qpv="QN03401M")).encode())
    assert "génération 2015" in _single_error(batch, "QPV")["message"]


def test_out_of_scope_company_is_refused_for_its_row(client, world):
    client.force_login(world["club_34_user"])
    lines = [HEADER, row(world["engie"].siren), row(world["gard_company"].siren, title="Autre")]
    batch, page = _refused(client, "\n".join(lines).encode())
    assert [(e["row"], e["column"], e["message"]) for e in batch.errors] == [
        (3, "SIREN", "Aucune entreprise de votre périmètre n'a ce SIREN.")
    ]
    assert batch.created_count == 1 and batch.rejected_count == 1


def test_duplicate_row_is_refused(client, world):
    client.force_login(world["club_34_user"])
    lines = [HEADER, row(world["engie"].siren), row(world["engie"].siren)]
    batch, _ = _refused(client, "\n".join(lines).encode())
    error = _single_error_at(batch, 3)
    assert "Ligne en double" in error["message"] and "ligne 2" in error["message"]


def _single_error_at(batch, number):
    assert [e["row"] for e in batch.errors] == [number], batch.errors
    return batch.errors[0]


def test_duplicate_identifier_and_foreign_action_are_refused(client, world, logged_actions):
    gard_action = ActionFactory(title="Gard", club=world["club_30"])
    client.force_login(world["club_34_user"])
    first = logged_actions[0]
    lines = [
        HEADER,
        row(world["engie"].siren, ident=first.pk, qpv=""),
        row(world["engie"].siren, ident=first.pk, qpv=""),
        row(world["engie"].siren, ident=gard_action.pk, qpv=""),
    ]
    batch = upload(client, "\n".join(lines).encode())
    assert [(e["row"], e["column"]) for e in batch.errors] == [(3, "Identifiant"), (4, "Identifiant")]
    assert "déjà à la ligne 2" in batch.errors[0]["message"]
    assert batch.errors[1]["message"] == "Aucune action de votre périmètre ne porte cet identifiant."


def test_an_update_bumps_the_version_and_keeps_the_author(client, world, logged_actions):
    client.force_login(world["club_34_user"])
    first = logged_actions[0]
    line = row(f"{world['engie'].siren}, {world['sncf'].siren}", ident=first.pk, title="Stages de 3e (corrigé)")
    batch = upload(client, (HEADER + "\n" + line).encode())
    assert (batch.updated_count, batch.status) == (1, ImportBatch.Status.READY), batch.errors
    confirm(client, batch)
    first.refresh_from_db()
    assert first.title == "Stages de 3e (corrigé)" and first.version == 2
    assert first.logged_by == world["club_34_user"] and first.updated_by == world["club_34_user"]
    assert first.start_date == datetime.date(2017, 3, 15) and first.hours == 10.5


def test_batches_of_another_organisation_answer_404(client, world):
    client.force_login(world["club_34_user"])
    batch = upload(client, (HEADER + "\n" + row(world["engie"].siren)).encode())
    client.force_login(world["club_30_user"])
    assert client.get(reverse("actions:import_batch", args=[batch.pk])).status_code == 404
    assert client.post(reverse("actions:import_confirm", args=[batch.pk])).status_code == 404
    assert client.get(reverse("actions:import_rejects", args=[batch.pk])).status_code == 404
    assert batch.original_name not in client.get(reverse("actions:import")).content.decode()
    assert not Action.objects.exists()


def test_rejected_rows_download_carries_the_errors(client, world):
    client.force_login(world["club_34_user"])
    lines = [HEADER, row(world["engie"].siren), row("123456789", title="Mauvais")]
    batch = upload(client, "\n".join(lines).encode())
    content = client.get(reverse("actions:import_rejects", args=[batch.pk])).content.decode("utf-8-sig")
    data = content.splitlines()
    assert len(data) == 2 and "Mauvais" in data[1] and "SIREN invalide" in data[1]


@pytest.fixture
def tasks_run_in_place():
    """The import's tasks leave after commit; this test runs them in-process, even when CI provides a broker."""
    from charte.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@override_settings(IMPORT_BACKGROUND_ROWS=1)
def test_a_large_file_runs_in_the_background(client, world, django_capture_on_commit_callbacks, tasks_run_in_place):
    client.force_login(world["club_34_user"])
    lines = [HEADER, row(world["engie"].siren), row(world["engie"].siren, title="Deuxième")]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = upload(client, "\n".join(lines).encode())
    assert batch.status == ImportBatch.Status.PENDING
    page = client.get(reverse("actions:import_batch", args=[batch.pk])).content.decode()
    assert "Actualiser" in page and "import-progress.js" in page
    for callback in callbacks:
        callback()  # the Celery task, eager without a broker
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.READY and batch.created_count == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert confirm(client, batch).status == ImportBatch.Status.IMPORTING
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE and Action.objects.count() == 2


def test_templates_download(client, world):
    client.force_login(world["club_34_user"])
    csv_text = client.get(reverse("actions:import_template_csv")).content.decode("utf-8-sig")
    assert csv_text.strip() == HEADER
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(reverse("actions:import_template_xlsx")).content))
    assert [c.value for c in workbook["Actions"][1]] == HEADER.split(";")


def test_round_trip_of_the_demo_export_changes_nothing(client):
    """What a real file looks like: the demo's own actions, whose partners' names hold parentheses and commas
    (« Lycée Jean Mermoz (Montpellier) (Lycée) »), exported by the club and imported back unchanged."""
    from django.core.management import call_command

    from charte.comptes.models import User

    call_command("seed_demo", stdout=io.StringIO())
    client.force_login(User.objects.get(email="animateur.face-herault@demo.charte.fr"))
    exported = client.get(reverse("actions:export")).getvalue()
    assert b"(Montpellier) (Lyc" in exported  # the case the first parser read as a type « Montpellier »
    before = actions_snapshot()

    batch = upload(client, exported)

    assert batch.status == ImportBatch.Status.READY, batch.errors[:5]
    assert batch.unchanged_count == Action.objects.filter(club__name="FACE Hérault").count() > 0
    assert (batch.created_count, batch.updated_count) == (0, 0)
    assert confirm(client, batch).status == ImportBatch.Status.DONE
    assert actions_snapshot() == before


def test_rejected_rows_of_an_excel_file_keep_french_dates(client, world):
    client.force_login(world["club_34_user"])
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(";"))
    cells = row("123456789", title="Mauvais").split(";")
    cells[1] = datetime.datetime(2017, 3, 15)  # an Excel date cell
    sheet.append(cells)
    data = io.BytesIO()
    workbook.save(data)
    batch = upload(client, data.getvalue(), "actions.xlsx")

    content = client.get(reverse("actions:import_rejects", args=[batch.pk])).content.decode("utf-8-sig")

    rejected = content.splitlines()[1].split(";")
    assert rejected[1] == "15/03/2017" and "SIREN invalide" in rejected[-1]
