"""The companies that have not declared: the report page and PDF show the first ones and the count, the full list
is a streamed CSV resolved like the report (issue 17: 8,460 national rows made a 1.4 MB page and a 28 s PDF)."""

import csv
import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from charte.comptes.models import User
from evaluation.models import Declaration
from evaluation.reports import reports

pytestmark = pytest.mark.django_db
YEAR = 2017


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=io.StringIO())


def login(client, email):
    client.force_login(User.objects.get(email=email))
    return client


def pending(**filters):
    return Declaration.objects.filter(year=YEAR, **filters).exclude(status__in=reports.REPORTED)


def csv_rows(response):
    assert response.status_code == 200
    assert response.streaming
    rows = list(csv.reader(io.StringIO(response.getvalue().decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Entreprise", "SIREN", "Convention", "Statut"]
    return rows[1:]


def test_the_page_shows_the_first_ones_and_the_csv_all_of_them(client, demo, settings):
    total = pending().count()
    assert total >= 3, "le jeu de démonstration doit compter des déclarations en attente"
    settings.REPORT_MISSING_SHOWN = 2
    client = login(client, "national@demo.charte.fr")

    response = client.get(reverse("rapports:report", args=["national", "france"]), {"annee": YEAR})
    report = response.context["report"]
    assert len(report.missing_companies) == 2 and report.missing_count == total
    page = response.content.decode()
    assert f"Les 2 premières sur {total} déclarations en attente" in page
    assert f"/rapports/national/france/non-declarants.csv?annee={YEAR}" in page

    rows = csv_rows(client.get(reverse("rapports:missing_csv", args=["national", "france"]), {"annee": YEAR}))
    assert len(rows) == total
    assert {row[1] for row in rows} == set(pending().values_list("company__siren", flat=True))
    assert [row[0] for row in rows[:2]] == [d.company.name for d in report.missing_companies]


def test_the_pdf_carries_the_first_ones_only(client, demo, settings, monkeypatch):
    settings.REPORT_MISSING_SHOWN = 2
    from evaluation.reports import exports

    seen = {}

    def fake_pdf(report, request):
        seen["report"] = report
        from django.http import HttpResponse

        return HttpResponse(b"%PDF")

    monkeypatch.setattr(exports, "pdf_response", fake_pdf)
    login(client, "national@demo.charte.fr").get(reverse("rapports:pdf", args=["national", "france"]), {"annee": YEAR})
    assert len(seen["report"].missing_companies) == 2
    assert seen["report"].missing_count == pending().count()


def test_the_csv_is_scoped_like_the_report(client, demo):
    client = login(client, "prefecture.herault@demo.charte.fr")
    rows = csv_rows(client.get(reverse("rapports:missing_csv", args=["departement", "34"]), {"annee": YEAR}))
    assert {row[1] for row in rows} == set(pending(convention__departement__code="34").values_list("company__siren", flat=True))
    # Another département, or the national list: not found, as the report itself.
    assert client.get(reverse("rapports:missing_csv", args=["departement", "11"])).status_code == 404
    assert client.get(reverse("rapports:missing_csv", args=["national", "france"])).status_code == 404
