"""The PDF annual report as a reader outside the portal gets it: tagged (PDF/UA-1), titled, in French, with
the État identity block, the link to the methodology and charts whose labels are whole.

Read with poppler's `pdfinfo` / `pdftotext`, the tools a person would use, on the bytes the view sends."""

import os
import re
import shutil
import subprocess

import pytest

from evaluation.engine import runs
from tests.evaluation.test_oracle import YEAR, build_territory
from tests.factories import MembershipFactory, OrganisationFactory, departement

SITE = "https://charte.example.gouv.fr"


def poppler(tool, *args):
    if shutil.which(tool) is None:
        message = f"{tool} (poppler-utils) est absent : installez le paquet Debian poppler-utils."
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return subprocess.run([tool, *map(str, args)], capture_output=True, text=True, check=True).stdout


def pdf_text(path):
    return " ".join(poppler("pdftotext", "-raw", path, "-").split())


@pytest.fixture
def report_pdf(client, db, settings, tmp_path):
    settings.SITE_URL = SITE
    build_territory(3)
    runs.start_run(YEAR, sync=True)
    prefecture = OrganisationFactory(name="Préfecture des Bouches-du-Rhône", departements=[departement("13")])
    client.force_login(MembershipFactory(organisation=prefecture).user)
    response = client.get("/rapports/departement/13/rapport.pdf", {"annee": YEAR})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    path = tmp_path / "rapport.pdf"
    path.write_bytes(response.content)
    return path


def test_the_report_pdf_is_tagged_titled_and_in_french(report_pdf):
    info = poppler("pdfinfo", report_pdf)
    assert re.search(r"^Tagged:\s+yes$", info, re.M), info
    assert re.search(r"^Title:\s+Rapport d'évaluation 2017 — Bouches-du-Rhône \(13\)$", info, re.M), info
    assert 'pdfuaid:part="1"' in poppler("pdfinfo", "-meta", report_pdf)  # declared PDF/UA-1
    structure = poppler("pdfinfo", "-struct", report_pdf)
    for tag in ("H1", "H2", "Table", "TH", "Link", "Figure"):
        assert re.search(rf"^\s*{tag}\b", structure, re.M), tag


def test_the_pdf_declares_its_language_and_weasyprint_finds_nothing_missing(db, settings, caplog):
    """WeasyPrint checks PDF/UA's requirements as it writes (language, image alternatives) and logs an
    error for each one missing; the catalogue's /Lang is what a screen reader reads the document in."""
    from charte.comptes.scoping import Scope
    from evaluation.reports import exports, reports

    build_territory(3)
    runs.start_run(YEAR, sync=True)
    scope = Scope.for_membership(MembershipFactory(organisation=OrganisationFactory(departements=[departement("13")])))
    report = reports.build(scope, "departement", "13", YEAR, "Bouches-du-Rhône (13)")
    caplog.clear()
    raw = exports.pdf_document(report).write_pdf(uncompressed_pdf=True, **exports.PDF_OPTIONS)
    assert b"/Lang (fr)" in raw
    errors = [r.getMessage()[:200] for r in caplog.records if r.name.startswith("weasyprint") and r.levelname == "ERROR"]
    assert errors == []


def test_the_report_pdf_carries_the_etat_identity_and_the_methodology_link(report_pdf):
    text = pdf_text(report_pdf)
    # The bloc-marque writes the name in capitals on two lines, as the DSFR header does.
    assert "république française" in text.casefold()
    assert "Liberté Égalité Fraternité" in text
    assert "Charte Entreprises et Quartiers" in text
    assert f"{SITE}/methodologie/" in text


def test_the_pdf_chart_labels_are_whole(report_pdf):
    """The labels used to be cut to 33 characters and anchored right of a 220 px column ("nterventions…"):
    now each is written in full, over as many lines as it needs."""
    from charte.comptes.scoping import Scope
    from evaluation.reports import charts, reports

    scope = Scope.for_membership(MembershipFactory(organisation=OrganisationFactory(departements=[departement("13")])))
    report = reports.build(scope, "departement", "13", YEAR, "Bouches-du-Rhône (13)")
    labels = {row[0] for chart in charts.report_charts(report, medium="print") for row in chart.rows}
    assert any(len(label) > 40 for label in labels)  # some labels need several lines
    text = pdf_text(report_pdf)
    assert "…" not in text
    for label in labels:
        assert label in text
