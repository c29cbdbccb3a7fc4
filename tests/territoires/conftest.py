from pathlib import Path

import pytest

from charte.territoires.importers import DEMO_QPV_FILE
from charte.territoires.models import EPCI, QPV, Commune, QPVCorrespondence

DEMO_FILE = DEMO_QPV_FILE
DATA_DIR = Path(__file__).resolve().parent / "data"


@pytest.fixture
def write_csv(tmp_path):
    """Write lines as a spreadsheet would save them: chosen encoding (BOM included by utf-8-sig) and line ending."""

    def write(lines, name="fichier.csv", encoding="utf-8", newline="\n"):
        path = tmp_path / name
        path.write_bytes(newline.join(lines).encode(encoding) + newline.encode(encoding))
        return path

    return write


@pytest.fixture
def table_counts():
    def counts():
        return {
            "qpv": QPV.objects.count(),
            "commune": Commune.objects.count(),
            "epci": EPCI.objects.count(),
            "correspondance": QPVCorrespondence.objects.count(),
            "liens": QPV.communes.through.objects.count(),
        }

    return counts
