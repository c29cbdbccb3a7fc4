import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from charte.territoires.importers import ImportRejected, RowError, import_qpv
from charte.territoires.models import EPCI, QPV, Commune, Departement
from tests.factories import CommuneFactory, QPVFactory
from tests.territoires.conftest import DEMO_FILE

pytestmark = pytest.mark.django_db

OFFICIAL_HEADER = "code_qp;lib_qp;insee_reg;lib_reg;insee_dep;lib_dep;insee_com;lib_com;siren_epci;lib_epci"
OFFICIAL_ROWS = [
    OFFICIAL_HEADER,
    # Commune code and département that lost their leading zero in a spreadsheet.
    "QN00101M;Grande Reyssouze;84;Auvergne-Rhône-Alpes;1;Ain;1053;Bourg-en-Bresse;200071751;CA du Bassin de Bourg-en-Bresse",
    # Two communes, "; " separator, names in the same order.
    'QN00102M;Pont des Chèvres;84;Auvergne-Rhône-Alpes;01;Ain;"1053; 1344";"Bourg-en-Bresse; Péronnas";'
    "200071751;CA du Bassin de Bourg-en-Bresse",
    # Two communes, ";" without a space, Excel's ="..." text protection.
    'QN01341I;Les Escourtines;93;Provence-Alpes-Côte d\'Azur;13;Bouches-du-Rhône;"=""13055;13070""";'
    '"Marseille;La Penne-sur-Huveaune";200054807;Métropole d\'Aix-Marseille-Provence',
    "QN02A01M;Les Cannes - Les Salines;94;Corse;2A;Corse-du-Sud;2A004;Ajaccio;200066769;CA du Pays Ajaccien",
    "",
    # No EPCI, trailing spaces, an overseas département.
    "QN97101A;Quartier des Abymes  ;01;Guadeloupe;971;Guadeloupe;97101 ;Les Abymes;;",
]


def codes(qpv):
    return sorted(qpv.communes.values_list("code", flat=True))


def test_official_list_with_its_scars(write_csv):
    path = write_csv(OFFICIAL_ROWS, encoding="utf-8-sig", newline="\r\n")

    report = import_qpv(path)

    assert (report.created, report.updated, report.unchanged, report.rejected) == (5, 0, 0, [])
    assert report.summary() == "5 créés, 0 mis à jour, 0 inchangés, 0 rejetés"
    reyssouze = QPV.objects.get(code="QN00101M")
    assert reyssouze.generation == 2024
    assert reyssouze.departement.code == "01"
    assert reyssouze.epci.siren == "200071751"
    assert reyssouze.epci.name == "CA du Bassin de Bourg-en-Bresse"
    assert reyssouze.population is None
    assert codes(reyssouze) == ["01053"]
    assert codes(QPV.objects.get(code="QN00102M")) == ["01053", "01344"]
    assert codes(QPV.objects.get(code="QN01341I")) == ["13055", "13070"]
    assert Commune.objects.get(code="13070").name == "La Penne-sur-Huveaune"
    assert Commune.objects.get(code="01344").name == "Péronnas"
    assert Commune.objects.get(code="01344").epci.siren == "200071751"

    ajaccio = Commune.objects.get(code="2A004")
    assert (ajaccio.name, ajaccio.departement.code) == ("Ajaccio", "2A")
    assert QPV.objects.get(code="QN02A01M").departement.code == "2A"

    abymes = QPV.objects.get(code="QN97101A")
    assert abymes.name == "Quartier des Abymes"
    assert abymes.epci is None
    assert Commune.objects.get(code="97101").departement.code == "971"
    assert EPCI.objects.count() == 3


def test_demo_file_imports_the_105_qpv_of_occitanie():
    report = import_qpv(DEMO_FILE)

    assert report.summary() == "105 créés, 0 mis à jour, 0 inchangés, 0 rejetés"
    assert QPV.objects.generation(2015).count() == 105
    mosson = QPV.objects.get(code="QP034005")
    assert (mosson.name, mosson.departement.code, mosson.population) == ("Mosson", "34", 21652)
    assert [(c.code, c.name) for c in mosson.communes.all()] == [("34172", "Montpellier")]
    # Carcassonne carries five QPV but is one commune.
    assert Commune.objects.get(code="11069").qpvs.count() == 5


def test_file_objects_binary_and_text_are_accepted():
    content = DEMO_FILE.read_bytes()

    assert import_qpv(io.BytesIO(content)).created == 105
    assert import_qpv(io.StringIO(content.decode("utf-8"))).unchanged == 105


def test_latin1_spreadsheet_export_with_semicolons_and_upper_case_headers(write_csv):
    path = write_csv(
        [
            "CODE_QP;NOM_QP;INSEE_COM;LIB_COM;INSEE_DEP;LIB_DEP;POP_MUN ",
            "QP009002;Centre Ancien;9122;Foix;9;Ariège;1 236",
            "QP011010;Centre Ville;11203;Lézignan-Corbières;11;Aude;2993.0",
            "QP011001;Quartier Aude;11206;Limoux;11;Aude;",
        ],
        encoding="cp1252",
        newline="\r\n",
    )

    report = import_qpv(path)

    assert report.created == 3
    assert Commune.objects.get(code="11203").name == "Lézignan-Corbières"
    assert Commune.objects.get(code="09122").departement.code == "09"
    assert QPV.objects.get(code="QP009002").population == 1236
    assert QPV.objects.get(code="QP011010").population == 2993
    assert QPV.objects.get(code="QP011001").population is None


MALFORMED_ROWS = [
    "code_qp,nom_qp,insee_com,lib_com,insee_dep,lib_dep,pop_mun",
    "QP034005,Mosson,34172,Montpellier,34,Hérault,21652",  # line 2: valid
    "QP099001,Nulle Part,99001,Ailleurs,99,Inconnu,1000",  # line 3
    "QX034001,Code faux,34172,Montpellier,34,Hérault,1000",  # line 4
    "QP034002,,34172,Montpellier,34,Hérault,1000",  # line 5
    "QP034003,Commune longue,341720,Montpellier,34,Hérault,1000",  # line 6
    "QP034004,Mauvais département,30189,Nîmes,30,Gard,1000",  # line 7
    "QP034005,Mosson bis,34172,Montpellier,34,Hérault,21652",  # line 8: same code, other name
    "QP034006,Population,34172,Montpellier,34,Hérault,beaucoup",  # line 9
    "QP011001,Quartier Aude,11206,Limoux,11,Aude,2050",  # line 10: valid
]
MALFORMED_ERRORS = [
    RowError(3, "code département « 99 » inconnu"),
    RowError(
        4,
        "code QPV « QX034001 » invalide (attendu QP + 6 chiffres pour 2015, ex. QP034005, "
        "ou QN + 5 caractères + une lettre pour 2024, ex. QN07501M)",
    ),
    RowError(5, "nom du QPV manquant (colonne lib_qp ou nom_qp)"),
    RowError(6, "code commune « 341720 » invalide (5 caractères attendus, ex. 34172 ou 2A004)"),
    RowError(7, "le code QPV « QP034004 » ne correspond pas au département « 30 » (colonne insee_dep)"),
    RowError(8, "code QPV « QP034005 » déjà présent ligne 2 avec des données différentes"),
    RowError(9, "population « beaucoup » illisible (nombre entier attendu)"),
]


def test_malformed_file_writes_nothing_and_names_each_bad_line(write_csv, table_counts):
    QPVFactory(code="QP034099", name="Déjà là")
    before = table_counts()

    with pytest.raises(ImportRejected) as rejection:
        import_qpv(write_csv(MALFORMED_ROWS))

    assert rejection.value.report.rejected == MALFORMED_ERRORS
    assert [str(error) for error in rejection.value.report.rejected][0] == "Ligne 3 : code département « 99 » inconnu"
    assert table_counts() == before
    assert not QPV.objects.filter(code="QP034005").exists()


def test_skip_invalid_imports_the_readable_rows(write_csv):
    report = import_qpv(write_csv(MALFORMED_ROWS), skip_invalid=True)

    assert report.rejected == MALFORMED_ERRORS
    assert report.summary() == "2 créés, 0 mis à jour, 0 inchangés, 7 rejetés"
    assert sorted(QPV.objects.values_list("code", flat=True)) == ["QP011001", "QP034005"]
    assert QPV.objects.get(code="QP034005").name == "Mosson"


def test_reimport_is_unchanged_and_writes_nothing():
    import_qpv(DEMO_FILE)

    with CaptureQueriesContext(connection) as queries:
        report = import_qpv(DEMO_FILE)

    assert report.summary() == "0 créés, 0 mis à jour, 105 inchangés, 0 rejetés"
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []


def test_reimport_with_an_edited_name_updates_one_qpv(write_csv):
    import_qpv(DEMO_FILE)
    lines = DEMO_FILE.read_text(encoding="utf-8").splitlines()
    edited = [line.replace("QP034005,Mosson,", "QP034005,La Mosson,") for line in lines]

    report = import_qpv(write_csv(edited))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 104)
    assert QPV.objects.get(code="QP034005").name == "La Mosson"


def test_reimport_with_another_commune_updates_the_link_and_the_commune(write_csv):
    header = "code_qp,nom_qp,insee_com,lib_com,insee_dep,lib_dep,pop_mun"
    import_qpv(write_csv([header, "QP034005,Mosson,34172,Montpelier,34,Hérault,21652"], name="v1.csv"))

    report = import_qpv(write_csv([header, 'QP034005,Mosson,"34172;34154",Montpellier;Juvignac,34,Hérault,21652'], name="v2.csv"))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    assert codes(QPV.objects.get(code="QP034005")) == ["34154", "34172"]
    assert Commune.objects.get(code="34172").name == "Montpellier"


def test_existing_commune_keeps_its_epci_when_the_file_does_not_tell_it():
    epci = EPCI.objects.create(siren="243400017", name="Montpellier Méditerranée Métropole")
    CommuneFactory(code="34172", name="Montpellier", epci=epci)

    import_qpv(DEMO_FILE)

    assert Commune.objects.get(code="34172").epci == epci


def test_generation_filter_rejects_the_other_generation(write_csv):
    path = write_csv(OFFICIAL_ROWS[:2], encoding="utf-8-sig")

    with pytest.raises(ImportRejected) as rejection:
        import_qpv(path, generation=2015)

    assert rejection.value.report.rejected == [
        RowError(2, "code QPV « QN00101M » de la génération 2024, alors que l'import est limité à 2015")
    ]
    assert import_qpv(path, generation=2024).created == 1


def test_unknown_header_rejects_the_file(write_csv):
    with pytest.raises(ImportRejected) as rejection:
        import_qpv(write_csv(["siret;raison_sociale", "12345678901234;Entreprise"]))

    [error] = rejection.value.report.rejected
    assert error.line == 1
    assert error.message.startswith(
        "en-tête non reconnu : colonne(s) code_qp, lib_qp, insee_dep, insee_com, lib_com introuvable(s)"
    )


def test_identical_duplicate_row_is_read_once(write_csv):
    row = "QP034005,Mosson,34172,Montpellier,34,Hérault,21652"
    report = import_qpv(write_csv(["code_qp,nom_qp,insee_com,lib_com,insee_dep,lib_dep,pop_mun", row, row]))

    assert report.summary() == "1 créés, 0 mis à jour, 0 inchangés, 0 rejetés"


def test_a_national_file_imports_in_a_bounded_number_of_queries(write_csv, django_assert_max_num_queries):
    departements = list(Departement.objects.exclude(code__in=["2A", "2B"]).values_list("code", flat=True))
    lines = [OFFICIAL_HEADER]
    for number in range(1600):
        dep = departements[number % len(departements)]
        part = dep.zfill(3)
        commune = f"{dep}{number % 900 + 1:03d}" if len(dep) == 2 else f"{dep}{number % 90 + 1:02d}"
        siren = f"2{number % 300:08d}"
        lines.append(
            f"QN{part}{number // 26 % 100:02d}{chr(65 + number % 26)};Quartier {number};00;Région;{dep};Dép;"
            f"{commune};Commune {commune};{siren};EPCI {siren}"
        )
    path = write_csv(lines, encoding="utf-8-sig")

    # Batches, not rows: SQLite's parameter limit splits the bulk inserts, hence a few dozen queries for 1,600 rows.
    with django_assert_max_num_queries(60):
        report = import_qpv(path)

    assert report.created == 1600
    assert QPV.objects.count() == 1600
