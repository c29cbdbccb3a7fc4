import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from charte.territoires.models import QPV, QPVCorrespondence
from tests.factories import QPVFactory
from tests.territoires.conftest import DATA_DIR, DEMO_FILE
from tests.territoires.test_import_qpv import MALFORMED_ROWS


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, no_color=True)
    return out.getvalue().splitlines()


@pytest.mark.django_db
def test_import_qpv_prints_the_summary():
    assert run("import_qpv", str(DEMO_FILE)) == ["105 créés, 0 mis à jour, 0 inchangés, 0 rejetés"]
    assert run("import_qpv", str(DEMO_FILE), "--generation", "2015") == ["0 créés, 0 mis à jour, 105 inchangés, 0 rejetés"]


@pytest.mark.django_db
def test_import_qpv_rejected_file_prints_each_line_and_fails(write_csv):
    out = StringIO()

    with pytest.raises(CommandError) as failure:
        call_command("import_qpv", str(write_csv(MALFORMED_ROWS)), stdout=out, no_color=True)

    assert failure.value.returncode == 1
    assert "aucune donnée enregistrée" in str(failure.value)
    lines = out.getvalue().splitlines()
    assert lines[0] == "0 créés, 0 mis à jour, 0 inchangés, 7 rejetés"
    assert "Ligne 3 : code département « 99 » inconnu" in lines
    assert len(lines) == 8
    assert QPV.objects.count() == 0


@pytest.mark.django_db
def test_import_qpv_skip_invalid_imports_the_good_rows(write_csv):
    lines = run("import_qpv", str(write_csv(MALFORMED_ROWS)), "--skip-invalid")

    assert lines[0] == "2 créés, 0 mis à jour, 0 inchangés, 7 rejetés"
    assert "Ligne 9 : population « beaucoup » illisible (nombre entier attendu)" in lines
    assert QPV.objects.count() == 2


@pytest.mark.django_db
def test_import_qpv_generation_option_rejects_the_other_generation():
    with pytest.raises(CommandError):
        run("import_qpv", str(DEMO_FILE), "--generation", "2024")
    assert QPV.objects.count() == 0


@pytest.mark.django_db
def test_import_qpv_correspondence_command():
    for code in ("QP034005", "QP034006", "QP034007"):
        QPVFactory(code=code, generation=2015)
    for code in ("QN03401M", "QN03402M", "QN03403M"):
        QPVFactory(code=code, generation=2024)

    assert run("import_qpv_correspondence", str(DATA_DIR / "correspondance_qpv_2024_2015.csv")) == [
        "3 créés, 0 mis à jour, 0 inchangés, 0 rejetés"
    ]
    assert QPVCorrespondence.objects.count() == 3


@pytest.mark.django_db
def test_import_qpv_correspondence_with_unknown_qpv_fails():
    with pytest.raises(CommandError):
        run("import_qpv_correspondence", str(DATA_DIR / "correspondance_qpv_2024_2015.csv"))


@pytest.mark.parametrize("command", ["import_qpv", "import_qpv_correspondence"])
def test_missing_or_unreadable_file_exits_with_a_french_message(command, tmp_path):
    """Through manage.py, as an operator would run it: exit status 1, one French line, no traceback."""
    for path, message in [
        (tmp_path / "absent.csv", f"CommandError: Fichier introuvable : {tmp_path / 'absent.csv'}"),
        (tmp_path, f"CommandError: {tmp_path} est un dossier, pas un fichier CSV."),
    ]:
        result = subprocess.run(
            [sys.executable, "manage.py", command, str(path)], cwd=settings.BASE_DIR, capture_output=True, text=True
        )
        assert result.returncode == 1
        assert result.stderr.strip() == message
        assert "Traceback" not in result.stderr
