"""Evidence files: extension and first bytes must agree, 10 Mo at most, only while the declaration is editable."""

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from evaluation.campaigns import evidence, services
from evaluation.models import Evidence
from tests.evaluation.conftest import AFTER, DURING, key


def xlsx_bytes():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("feuille d'émargement.pdf", b"%PDF-1.7\n...", "application/pdf"),
        ("photo.JPG", b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),
        ("capture.png", b"\x89PNG\r\n\x1a\n....", "image/png"),
        ("bilan.xlsx", xlsx_bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("liste.csv", "élève;collège\n3;Las Cazes\n".encode(), "text/csv"),
        ("notes.txt", "Compte rendu".encode("cp1252"), "text/plain"),
    ],
)
def test_accepted_files_are_stored_under_the_declaration(world, name, content, content_type):
    w, d = world, world.declaration
    item = services.add_evidence(
        d, w.company_user, SimpleUploadedFile(name, content, content_type="application/octet-stream"), today=DURING
    )
    assert (item.original_name, item.content_type, item.size) == (name, content_type, len(content))
    assert item.file.name.startswith(f"declarations/{d.pk}/")
    with item.file.open("rb") as stored:
        assert stored.read() == content


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("virus.exe", b"MZ\x90\x00", "Type de fichier non accepté"),
        ("sans-extension", b"%PDF-1.4", "Type de fichier non accepté"),
        ("faux.pdf", b"MZ\x90\x00 renamed executable", "ne correspond pas à son extension"),
        ("faux.png", b"%PDF-1.4", "ne correspond pas à son extension"),
        ("binaire.csv", b"a;b\x00\x01\x02", "ne correspond pas à son extension"),
        ("vide.pdf", b"", "vide"),
    ],
)
def test_refused_files_write_nothing(world, name, content, message):
    w, d = world, world.declaration
    with pytest.raises(ValidationError) as error:
        services.add_evidence(d, w.company_user, SimpleUploadedFile(name, content), today=DURING)
    assert message in error.value.message_dict["file"][0]
    assert not Evidence.objects.exists()


def test_a_file_over_10_mo_is_refused(world):
    w, d = world, world.declaration
    big = SimpleUploadedFile("gros.pdf", b"%PDF-1.4" + b"0" * (evidence.MAX_SIZE - 7))
    with pytest.raises(ValidationError) as error:
        services.add_evidence(d, w.company_user, big, today=DURING)
    assert error.value.message_dict["file"] == ["Le fichier pèse 10,0 Mo : 10 Mo au plus."]
    exactly = SimpleUploadedFile("juste.pdf", b"%PDF-1.4" + b"0" * (evidence.MAX_SIZE - 8))
    services.add_evidence(d, w.company_user, exactly, today=DURING)


def test_no_evidence_change_after_submission_or_close(world):
    w, d = world, world.declaration
    item = services.add_evidence(d, w.company_user, SimpleUploadedFile("a.pdf", b"%PDF-1.4"), today=DURING)
    with pytest.raises(ValidationError, match="verrouillée"):
        services.add_evidence(d, w.company_user, SimpleUploadedFile("b.pdf", b"%PDF-1.4"), today=AFTER)
    services.save_draft(d, w.company_user, {key(w.commitment, "STAGE3_ACCUEILLIS"): ("8", "")}, d.version, today=DURING)
    services.submit(d, w.company_user, today=DURING)
    with pytest.raises(ValidationError, match="transmise"):
        services.delete_evidence(item, w.company_user, today=DURING)
    assert Evidence.objects.count() == 1


def test_deleting_evidence_removes_the_file_after_commit(world, django_capture_on_commit_callbacks):
    w, d = world, world.declaration
    item = services.add_evidence(d, w.company_user, SimpleUploadedFile("a.pdf", b"%PDF-1.4"), today=DURING)
    storage, name = item.file.storage, item.file.name
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_evidence(item, w.company_user, today=DURING)
    assert not Evidence.objects.exists()
    assert not storage.exists(name)
