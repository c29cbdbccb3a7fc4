"""The large CSV exports (actions, conventions, companies) are streamed, byte for byte the file the in-memory
export wrote before (issue 17: the national actions CSV took 582 s and 886 MB), with a bounded number of queries."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from charte import web
from charte.comptes.models import User
from conventions import exports as convention_exports
from entreprises import exports as company_exports

pytestmark = pytest.mark.django_db

EXPORTS = ["actions:export", "conventions:export", "entreprises:export"]


@pytest.fixture
def national(client):
    call_command("seed_demo", stdout=io.StringIO())
    client.force_login(User.objects.get(email="national@demo.charte.fr"))
    return client


def test_streamed_and_in_memory_csv_are_the_same_bytes():
    header = ["Nom", "=Formule", "Note"]
    rows = [["Engie; Hérault", "-1,5", None], ['"Cité" =1+1', "@SUM(A1)", 3], ["\tx", "+33 1", "ligne\nsuivante"]]

    streamed = b"".join(web.streaming_csv_response("x", header, iter(rows)).streaming_content)

    assert streamed == web.csv_response("x", header, rows).content
    assert streamed.startswith("\ufeffNom;'=Formule;Note\r\n".encode())


def test_streamed_lines_leave_by_blocks_with_the_same_bytes(monkeypatch):
    """One write per block of lines, not per line (2 million writes for the national actions), and a block is
    bounded: the worker never holds more than one."""
    monkeypatch.setattr(web, "STREAM_BLOCK", 100)
    rows = [[n, "Entreprise fictive", "34"] for n in range(1000)]

    blocks = list(web.streaming_csv_response("x", ["Id", "Nom", "Département"], iter(rows)).streaming_content)

    assert b"".join(blocks) == web.csv_response("x", ["Id", "Nom", "Département"], rows).content
    assert 100 < len(blocks) < 1000  # a line is about 25 bytes: four lines or so per block
    assert max(len(block) for block in blocks) < 100 + 50


@pytest.mark.parametrize("name", EXPORTS)
def test_the_export_streams_the_previous_file(national, monkeypatch, name):
    with CaptureQueriesContext(connection) as queries:
        response = national.get(reverse(name))
        assert response.status_code == 200
        assert response.streaming
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        streamed = b"".join(response.streaming_content)
    # One query for the rows and one per prefetch per chunk of 1,000 (the demo fits in one), a few for the session,
    # and one count bounded by EXPORT_BACKGROUND_ROWS (stream it, or offer an export job).
    assert len(queries) <= 13, [q["sql"][:80] for q in queries.captured_queries]

    # The export as it was built before (in memory, charte.web.csv_response), on the same rows.
    monkeypatch.setattr(web, "streaming_csv_response", web.csv_response)
    previous = national.get(reverse(name))
    assert not previous.streaming
    assert streamed == previous.content
    assert streamed.count(b"\r\n") > 10  # header and real rows, not an empty file


def test_the_action_export_reads_rows_by_chunks(national, monkeypatch, settings):
    monkeypatch.setattr(convention_exports, "EXPORT_CHUNK_SIZE", 5)
    response = national.get(reverse("actions:export"))
    with CaptureQueriesContext(connection) as queries:
        lines = b"".join(response.streaming_content).count(b"\r\n")
    # Rows are read while the file is written, chunk after chunk (the prefetches run again for each chunk).
    partner_reads = [q for q in queries.captured_queries if "conventions_actionpartner" in q["sql"]]
    assert len(partner_reads) >= (lines - 1) // 5


def test_the_company_export_reads_rows_by_chunks(national, monkeypatch):
    monkeypatch.setattr(company_exports, "EXPORT_CHUNK_SIZE", 3)
    response = national.get(reverse("entreprises:export"))
    with CaptureQueriesContext(connection) as queries:
        b"".join(response.streaming_content)
    establishment_reads = [q for q in queries.captured_queries if "entreprises_establishment" in q["sql"]]
    assert len(establishment_reads) >= 2
