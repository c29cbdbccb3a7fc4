"""Declared values in spreadsheets: the export (one row per declaration line) and its import back. The round
trip changes nothing; filled values land as a draft exactly as if typed in the form; each malformed file is
refused as a whole, nothing written, every error listed (row, column, value, why)."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from conventions.models import ImportBatch
from evaluation.campaigns import services
from evaluation.models import Declaration, DeclarationValue
from tests.evaluation.test_pages_support import S, close_campaign, fresh, login, make_world
from tests.factories import CommitmentFactory, TargetFactory, indicator

ACCUEILLIS, OFFERTS, QPV = "STAGE3_ACCUEILLIS", "STAGE3_OFFERTS", "BENEFICIAIRES_QPV"


@pytest.fixture
def w(db):
    world = make_world()
    services.save_draft(
        world.declaration,
        world.company_user,
        {
            (world.commitment.pk, indicator(ACCUEILLIS).pk): ("8", "Collège Las Cazes"),
            (world.commitment.pk, indicator(OFFERTS).pk): ("12,5", ""),
        },
        None,
        scope=world.company_scope,
    )
    return world


def snapshot():
    values = [
        (v.declaration_id, v.commitment_id, v.indicator_id, v.value, v.comment, v.updated_at)
        for v in DeclarationValue.objects.order_by("pk")
    ]
    declarations = list(Declaration.objects.order_by("pk").values_list("pk", "status", "version", "updated_at"))
    return values, declarations, DeclarationValue.history.count()


def export_csv(client, **query):
    response = client.get(reverse("evaluation:declared_export_csv"), query)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def export_xlsx(client, **query):
    response = client.get(reverse("evaluation:declared_export_xlsx"), query)
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def csv_rows(data):
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def to_csv(rows, delimiter=";", encoding="utf-8-sig"):
    output = io.StringIO()
    csv.writer(output, delimiter=delimiter).writerows(rows)
    return output.getvalue().encode(encoding)


def upload(client, content, name="valeurs.csv"):
    response = client.post(reverse("evaluation:declared_import"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 302, response.content.decode()[:800]
    return ImportBatch.objects.latest("pk")


def confirm(client, batch):
    client.post(reverse("evaluation:declared_import_confirm", args=[batch.pk]))
    batch.refresh_from_db()
    return batch


def set_cell(rows, code, column, value):
    header = rows[0]
    for row in rows[1:]:
        if row[header.index("Code indicateur")] == code and row[header.index("SIREN")] != "":
            row[header.index(column)] = value
            return rows
    raise AssertionError(f"no line {code}")


def row_number(rows, code):
    """The file's row number (the header is row 1) of a declaration line."""
    codes = [row[rows[0].index("Code indicateur")] for row in rows]
    return codes.index(code) + 1


# --- the export ------------------------------------------------------------------------------------------


def test_the_export_writes_one_row_per_line_of_the_declarations_the_person_sees(client, w):
    rows = csv_rows(export_csv(login(client, w.company_user)))
    header = rows[0]
    assert header[:5] == ["Convention", "SIREN", "Entreprise", "Année", "N° engagement"]
    lines = {row[header.index("Code indicateur")]: row for row in rows[1:]}
    assert set(lines) == {ACCUEILLIS, OFFERTS, QPV}
    assert {row[0] for row in rows[1:]} == {"034-2016-BRL"}  # SNCF's declaration is not the company's
    accueillis = lines[ACCUEILLIS]
    assert accueillis[header.index("SIREN")] == w.company.siren
    assert accueillis[header.index("Valeur")] == "8"
    assert accueillis[header.index("Objectif")] == "10"
    assert accueillis[header.index("Commentaire")] == "Collège Las Cazes"
    assert lines[OFFERTS][header.index("Valeur")] == "12,5"
    assert lines[QPV][header.index("Valeur")] == ""
    assert accueillis[header.index("Statut")] == "Brouillon"


def test_the_export_by_campaign_and_by_role(client, w):
    club_rows = csv_rows(export_csv(login(client, w.animator), campagne=w.campaign.pk))
    assert {row[0] for row in club_rows[1:]} == {"034-2016-BRL"}
    national = csv_rows(export_csv(login(client, w.national_user)))
    assert {row[0] for row in national[1:]} == {"034-2016-BRL", "030-2016-SNCF"}
    login(client, w.partner_user)
    assert client.get(reverse("evaluation:declared_export_csv")).status_code == 404
    login(client, w.animator)
    assert client.get(reverse("evaluation:declared_export_csv"), {"campagne": 987654}).status_code == 404


def test_the_export_runs_a_fixed_number_of_queries(client, w, django_assert_max_num_queries):
    from tests.evaluation.conftest import active_convention

    for number in range(6):
        convention = active_convention(w.company, club=w.club, reference=f"034-2016-X{number}")
        commitment = CommitmentFactory(convention=convention)
        TargetFactory(commitment=commitment, indicator=indicator(ACCUEILLIS), year=2017, value=3)
    services.sync_expected_declarations(w.campaign)
    login(client, w.national_user)
    client.get(reverse("dashboard"))  # the session and the membership are read once before counting
    with django_assert_max_num_queries(14):
        rows = csv_rows(export_csv(client))
    assert len(rows) == 1 + 3 * 8  # 8 declarations of three lines each


# --- the round trip --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_round_trip_of_the_export_changes_nothing(client, w, fmt):
    login(client, w.company_user)
    exported = export_csv(client) if fmt == "csv" else export_xlsx(client)
    before = snapshot()

    batch = upload(client, exported, f"valeurs.{fmt}")

    assert batch.status == ImportBatch.Status.READY, batch.errors
    assert (batch.created_count, batch.updated_count, batch.unchanged_count) == (0, 0, 3)
    assert confirm(client, batch).status == ImportBatch.Status.DONE
    assert snapshot() == before


def test_filled_values_land_as_a_draft_as_if_typed_in_the_form(client, w):
    login(client, w.company_user)
    rows = csv_rows(export_csv(client))
    set_cell(rows, ACCUEILLIS, "Valeur", "11")
    set_cell(rows, QPV, "Valeur", "1 204,5")
    set_cell(rows, QPV, "Commentaire", "Quartier de la Mosson")
    version = fresh(w.declaration).version

    batch = upload(client, to_csv(rows))

    assert batch.status == ImportBatch.Status.READY, batch.errors
    assert (batch.created_count, batch.updated_count, batch.unchanged_count) == (1, 1, 1)
    page = client.get(reverse("evaluation:declared_import_batch", args=[batch.pk])).content.decode()
    assert "Confirmer l'import" in page and "BENEFICIAIRES_QPV : 1204,5" in page
    assert confirm(client, batch).status == ImportBatch.Status.DONE
    values = {v.indicator.code: (v.value, v.comment) for v in DeclarationValue.objects.filter(declaration=w.declaration)}
    assert values[ACCUEILLIS] == (Decimal("11"), "Collège Las Cazes")
    assert values[QPV] == (Decimal("1204.5"), "Quartier de la Mosson")
    declaration = fresh(w.declaration)
    assert declaration.status == S.DRAFT  # saved, not submitted
    assert declaration.version == version + 1
    assert declaration.updated_by == w.company_user
    assert DeclarationValue.history.filter(indicator__code=QPV).latest("history_date").history_user == w.company_user


def test_an_xlsx_with_numbers_typed_as_numbers_and_without_the_comment_column(client, w):
    login(client, w.company_user)
    workbook = openpyxl.load_workbook(io.BytesIO(export_xlsx(client)))
    sheet = workbook.active
    header = [cell.value for cell in sheet[1]]
    sheet.delete_cols(header.index("Commentaire") + 1)
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        if row[header.index("Code indicateur")].value == ACCUEILLIS:
            row[header.index("Valeur")].value = 9.5
            row[header.index("SIREN")].value = int(w.company.siren)  # a number cell
    output = io.BytesIO()
    workbook.save(output)

    batch = confirm(client, upload(client, output.getvalue(), "valeurs.xlsx"))

    assert batch.status == ImportBatch.Status.DONE, batch.errors
    stored = DeclarationValue.objects.get(declaration=w.declaration, indicator__code=ACCUEILLIS)
    assert (stored.value, stored.comment) == (Decimal("9.5"), "Collège Las Cazes")  # the comment kept


def test_a_windows_1252_file_is_read(client, w):
    login(client, w.company_user)
    rows = set_cell(csv_rows(export_csv(client)), ACCUEILLIS, "Commentaire", "Élèves du collège")
    batch = confirm(client, upload(client, to_csv(rows, encoding="cp1252")))
    assert batch.status == ImportBatch.Status.DONE, batch.errors
    assert DeclarationValue.objects.get(declaration=w.declaration, indicator__code=ACCUEILLIS).comment == "Élèves du collège"


# --- malformed files: nothing written, every error listed ---------------------------------------------------


def refused(client, content, name="valeurs.csv"):
    before = snapshot()
    batch = upload(client, content, name)
    assert batch.status == ImportBatch.Status.REJECTED
    assert confirm(client, batch).status == ImportBatch.Status.REJECTED  # a refused file cannot be confirmed
    assert snapshot() == before
    return batch


def messages_of(batch):
    return [(e["row"], e["column"], e["message"]) for e in batch.errors]


def test_a_wrong_separator_is_refused(client, w):
    login(client, w.company_user)
    rows = csv_rows(export_csv(client))
    batch = refused(client, to_csv(rows, delimiter="|"))
    assert "Aucune ligne d'en-tête reconnue" in batch.message


def test_an_unreadable_encoding_is_refused(client, w):
    login(client, w.company_user)
    batch = refused(client, export_csv(client).decode("utf-8-sig").encode("utf-16"))
    assert "encodage" in batch.message.lower() or "UTF-16" in batch.message


def test_a_missing_column_is_refused(client, w):
    login(client, w.company_user)
    rows = [row[:6] + row[7:] for row in csv_rows(export_csv(client))]  # no "Code indicateur"
    batch = refused(client, to_csv(rows))
    assert "Colonnes manquantes : « Code indicateur »" in batch.message
    assert messages_of(batch) == [(1, "Code indicateur", "Colonne absente de l'en-tête.")]


def test_an_unknown_indicator_is_refused(client, w):
    login(client, w.company_user)
    rows = csv_rows(export_csv(client))
    number = row_number(rows, OFFERTS)
    set_cell(rows, OFFERTS, "Code indicateur", "STAGES_INVENTES")
    batch = refused(client, to_csv(rows))
    assert messages_of(batch) == [(number, "Code indicateur", "Indicateur inconnu : reprenez le code indiqué dans l'export.")]


def test_an_indicator_outside_the_commitments_is_refused(client, w):
    login(client, w.company_user)
    rows = csv_rows(export_csv(client))
    number = row_number(rows, OFFERTS)
    set_cell(rows, OFFERTS, "Code indicateur", "HEURES_MECENAT")
    batch = refused(client, to_csv(rows))
    assert messages_of(batch) == [
        (number, "Code indicateur", "Cet indicateur ne fait pas partie des engagements de cette convention.")
    ]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-3", "La valeur ne peut pas être négative."),
        ("1,234", "Deux décimales au plus."),
        ("9999999999999", "La valeur est trop grande."),
        ("beaucoup", "Nombre attendu (par exemple 12,5)."),
    ],
)
def test_a_value_out_of_bounds_is_refused(client, w, typed, message):
    login(client, w.company_user)
    rows = set_cell(csv_rows(export_csv(client)), ACCUEILLIS, "Valeur", typed)
    batch = refused(client, to_csv(rows))
    assert messages_of(batch) == [(row_number(rows, ACCUEILLIS), "Valeur", message)]


def test_an_out_of_scope_company_is_refused(client, w):
    login(client, w.national_user)
    foreign = [row for row in csv_rows(export_csv(client)) if row[0] == "030-2016-SNCF"]
    login(client, w.company_user)
    rows = csv_rows(export_csv(client)) + foreign
    batch = refused(client, to_csv(rows))
    assert len(foreign) == 3
    assert messages_of(batch) == [
        (
            number,
            "Convention",
            "Aucune déclaration de votre périmètre pour cette convention, cette entreprise (SIREN) et cette année.",
        )
        for number in (5, 6, 7)
    ]


def test_a_duplicate_row_is_refused(client, w):
    login(client, w.company_user)
    rows = csv_rows(export_csv(client))
    rows.append(list(rows[1]))
    batch = refused(client, to_csv(rows))
    assert messages_of(batch) == [
        (5, "Code indicateur", "Ligne en double : même déclaration, engagement et indicateur que la ligne 2.")
    ]


@pytest.mark.parametrize("status", ["validated", "submitted"])
def test_a_validated_or_submitted_declaration_is_not_modified(client, w, status):
    services.submit(w.declaration, w.company_user, scope=w.company_scope)
    if status == "validated":
        services.validate(w.declaration, w.prefecture_user, w.prefecture_scope)
    login(client, w.company_user)
    rows = set_cell(csv_rows(export_csv(client)), ACCUEILLIS, "Valeur", "15")
    batch = refused(client, to_csv(rows))
    expected = "validée : elle n'est plus modifiable" if status == "validated" else "a été transmise le"
    assert [row for row, _, _ in messages_of(batch)] == [2, 3, 4]
    assert all(expected in message for _, _, message in messages_of(batch))


def test_a_closed_campaign_refuses_the_rows(client, w):
    login(client, w.company_user)
    exported = export_csv(client)
    close_campaign(w.campaign)
    batch = refused(client, exported)
    assert all("La campagne est close" in message for _, _, message in messages_of(batch))


def test_every_error_of_a_file_is_listed_and_the_rejected_rows_are_downloadable(client, w):
    login(client, w.company_user)
    rows = csv_rows(export_csv(client))
    set_cell(rows, ACCUEILLIS, "Valeur", "-1")
    set_cell(rows, OFFERTS, "Code indicateur", "INCONNU")
    set_cell(rows, QPV, "SIREN", "123")
    batch = refused(client, to_csv(rows))
    expected = [(row_number(rows, ACCUEILLIS), "Valeur"), (row_number(rows, "INCONNU"), "Code indicateur")]
    expected.append((row_number(rows, QPV), "SIREN"))
    assert sorted((row, column) for row, column, _ in messages_of(batch)) == sorted(expected)
    page = client.get(reverse("evaluation:declared_import_batch", args=[batch.pk])).content.decode()
    assert "Erreurs (3)" in page and "Confirmer l'import" not in page
    rejects = client.get(reverse("evaluation:declared_import_rejects", args=[batch.pk])).content.decode("utf-8-sig")
    assert len(rejects.strip().splitlines()) == 4 and "Erreurs" in rejects.splitlines()[0]


def test_a_change_between_preview_and_confirmation_writes_nothing(client, w):
    login(client, w.company_user)
    rows = set_cell(csv_rows(export_csv(client)), ACCUEILLIS, "Valeur", "15")
    batch = upload(client, to_csv(rows))
    assert batch.status == ImportBatch.Status.READY
    services.submit(w.declaration, w.company_user, scope=w.company_scope)
    before = snapshot()
    assert confirm(client, batch).status == ImportBatch.Status.FAILED
    assert snapshot() == before


# --- who may import ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["animator", "prefecture_user", "national_user"])
def test_only_the_company_imports_its_declared_values(client, w, who):
    login(client, getattr(w, who))
    page = client.get(reverse("evaluation:declared_import"))
    assert page.status_code == 403
    assert "Seule une entreprise importe ses valeurs déclarées" in page.content.decode()
    assert client.post(reverse("evaluation:declared_import"), {"file": SimpleUploadedFile("v.csv", b"x")}).status_code == 403
    assert not ImportBatch.objects.exists()


def test_another_company_does_not_see_the_batch(client, w):
    login(client, w.company_user)
    batch = upload(client, export_csv(client))
    login(client, w.foreign_user)
    assert client.get(reverse("evaluation:declared_import_batch", args=[batch.pk])).status_code == 404
    assert client.post(reverse("evaluation:declared_import_confirm", args=[batch.pk])).status_code == 404
    # nor does the actions' import page show it
    login(client, w.company_user)
    assert client.get(reverse("actions:import_batch", args=[batch.pk])).status_code == 404


def test_a_part_above_its_whole_is_refused_as_the_form_refuses_it(client, w):
    # The commitment also measures its beneficiaries: QPV residents among them cannot outnumber them.
    TargetFactory(commitment=w.commitment, indicator=indicator("BENEFICIAIRES"), year=2017, value=20)
    login(client, w.company_user)
    rows = csv_rows(export_csv(client))
    set_cell(rows, "BENEFICIAIRES", "Valeur", "10")
    set_cell(rows, QPV, "Valeur", "12")
    batch = refused(client, to_csv(rows))
    [(number, column, message)] = messages_of(batch)
    assert (number, column) == (row_number(rows, QPV), "Valeur")
    assert "ne peut pas dépasser" in message


@override_settings(IMPORT_BACKGROUND_ROWS=1)
def test_a_large_file_is_analysed_and_imported_in_the_background(client, w, django_capture_on_commit_callbacks):
    login(client, w.company_user)
    rows = set_cell(csv_rows(export_csv(client)), QPV, "Valeur", "4")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = upload(client, to_csv(rows))
    assert batch.status == ImportBatch.Status.PENDING
    assert "Actualiser" in client.get(reverse("evaluation:declared_import_batch", args=[batch.pk])).content.decode()
    for callback in callbacks:
        callback()  # the Celery task (eager in these tests)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.READY and batch.created_count == 1, batch.errors
    with django_capture_on_commit_callbacks(execute=True):
        confirm(client, batch)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert DeclarationValue.objects.get(declaration=w.declaration, indicator__code=QPV).value == 4


def test_the_xlsx_keeps_numbers_as_numbers(client, w):
    login(client, w.company_user)
    sheet = openpyxl.load_workbook(io.BytesIO(export_xlsx(client))).active
    header = [cell.value for cell in sheet[1]]
    lines = {row[header.index("Code indicateur")]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert lines[ACCUEILLIS][header.index("Valeur")] == 8 and lines[ACCUEILLIS][header.index("Objectif")] == 10
    assert lines[OFFERTS][header.index("Valeur")] == 12.5
    assert lines[QPV][header.index("Valeur")] is None
    assert lines[ACCUEILLIS][header.index("SIREN")] == w.company.siren  # text: the leading zeros stay
