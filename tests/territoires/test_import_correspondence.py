import pytest

from charte.territoires.importers import ImportRejected, RowError, import_qpv_correspondence
from charte.territoires.models import QPV, QPVCorrespondence
from tests.factories import QPVFactory
from tests.territoires.conftest import DATA_DIR

pytestmark = pytest.mark.django_db

SAMPLE = DATA_DIR / "correspondance_qpv_2024_2015.csv"


@pytest.fixture
def qpvs():
    for code in ("QP034005", "QP034006", "QP034007"):
        QPVFactory(code=code, generation=2015)
    for code in ("QN03401M", "QN03402M", "QN03403M"):
        QPVFactory(code=code, generation=2024)


def successors(code):
    return sorted(QPV.objects.get(code=code).successors.values_list("code", flat=True))


def test_correspondence_links_each_2015_qpv_to_its_2024_successors(qpvs):
    report = import_qpv_correspondence(SAMPLE)

    assert report.summary() == "3 créés, 0 mis à jour, 0 inchangés, 0 rejetés"
    assert successors("QP034005") == ["QN03401M"]
    assert sorted(QPV.objects.get(code="QN03402M").predecessors.values_list("code", flat=True)) == ["QP034006", "QP034007"]
    # A quartier new in 2024 has no predecessor: its row carries no link and is not an error.
    assert not QPV.objects.get(code="QN03403M").predecessors.exists()


def test_correspondence_reimport_is_unchanged(qpvs):
    import_qpv_correspondence(SAMPLE)

    report = import_qpv_correspondence(SAMPLE)

    assert report.summary() == "0 créés, 0 mis à jour, 3 inchangés, 0 rejetés"
    assert QPVCorrespondence.objects.count() == 3


def test_correspondence_accepts_other_header_names_and_delimiters(qpvs, write_csv):
    path = write_csv(["CODE_QN,Code_QP", "qn03401m,qp034005", "QN03402M,QP034006", "", "QN03402M,QP034006"], encoding="cp1252")

    report = import_qpv_correspondence(path)

    assert report.summary() == "2 créés, 0 mis à jour, 0 inchangés, 0 rejetés"
    assert successors("QP034006") == ["QN03402M"]


def test_correspondence_with_unknown_or_invalid_codes_writes_nothing(qpvs, write_csv):
    path = write_csv(
        [
            "code_qp2024;code_qp2015",
            "QN03401M;QP034005",
            "QN03499Z;QP034006",
            "QN03402M;QN03401M",
        ]
    )

    with pytest.raises(ImportRejected) as rejection:
        import_qpv_correspondence(path)

    assert rejection.value.report.rejected == [
        RowError(3, "QPV « QN03499Z » inconnu : importez d'abord la liste des QPV de sa génération"),
        RowError(4, "code QPV 2015 « QN03401M » invalide (ex. QP034005)"),
    ]
    assert QPVCorrespondence.objects.count() == 0

    report = import_qpv_correspondence(path, skip_invalid=True)
    assert report.summary() == "1 créés, 0 mis à jour, 0 inchangés, 2 rejetés"
    assert successors("QP034005") == ["QN03401M"]


def test_correspondence_without_code_columns_is_rejected(write_csv):
    with pytest.raises(ImportRejected) as rejection:
        import_qpv_correspondence(write_csv(["quartier;commune", "Mosson;Montpellier"]))

    [error] = rejection.value.report.rejected
    assert error.line == 1
    assert "code_qp_2024, code_qp_2015 introuvable(s)" in error.message
