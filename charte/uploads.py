"""Checks on uploaded files (the supporting files of a declaration, the attachments of a practice sheet): the
extension AND the first bytes must agree on one of the accepted types (a renamed executable is refused), 10 Mo
at most. The content type stored is the one of
the recognised type, never the one the browser announced.
"""

import uuid
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.utils.text import get_valid_filename

MAX_SIZE = 10 * 1024 * 1024
MAX_FILES = 20

ZIP = b"PK\x03\x04"
# extension -> (content type, accepted leading bytes; None = plain text)
ACCEPTED = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (ZIP,)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (ZIP,)),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", (ZIP,)),
    "odt": ("application/vnd.oasis.opendocument.text", (ZIP,)),
    "csv": ("text/csv", None),
    "txt": ("text/plain", None),
}
ACCEPTED_LABEL = "PDF, PNG, JPEG, XLSX, DOCX, ODS, ODT, CSV ou TXT"


def _extension(name):
    return PurePath(name or "").suffix.lower().lstrip(".")


def _head(uploaded_file, length=8192):
    uploaded_file.seek(0)
    head = uploaded_file.read(length)
    uploaded_file.seek(0)
    return head


def _looks_like_text(head):
    if b"\x00" in head:
        return False
    # Cut a multi-byte character split by the 8 Kio window rather than refusing the file for it.
    for encoding in ("utf-8", "cp1252"):
        try:
            text = head.decode(encoding)
        except UnicodeDecodeError as error:
            if encoding == "utf-8" and error.start >= len(head) - 3:
                text = head[: error.start].decode(encoding)
            else:
                continue
        return all(ch.isprintable() or ch in "\r\n\t\f" for ch in text)
    return False


def check_file(uploaded_file, accepted=None, accepted_label=ACCEPTED_LABEL):
    """Return the content type of an acceptable file; raise ValidationError (French) otherwise. `accepted`: a
    subset of ACCEPTED's extensions (default: all of them)."""
    accepted = ACCEPTED if accepted is None else {ext: ACCEPTED[ext] for ext in accepted}
    extension = _extension(uploaded_file.name)
    if extension not in accepted:
        raise ValidationError(
            {"file": f"Type de fichier non accepté (« .{extension or '?'} ») : déposez un fichier {accepted_label}."},
            code="file_type",
        )
    if uploaded_file.size == 0:
        raise ValidationError({"file": "Le fichier est vide."}, code="file_empty")
    if uploaded_file.size > MAX_SIZE:
        size = f"{uploaded_file.size / (1024 * 1024):.1f}".replace(".", ",")
        raise ValidationError({"file": f"Le fichier pèse {size} Mo : 10 Mo au plus."}, code="file_too_large")
    content_type, signatures = accepted[extension]
    head = _head(uploaded_file)
    valid = _looks_like_text(head) if signatures is None else head.startswith(signatures)
    if not valid:
        raise ValidationError(
            {"file": f"Le contenu du fichier ne correspond pas à son extension « .{extension} » : fichier refusé."},
            code="file_content",
        )
    return content_type


def display_name(name):
    return PurePath(name or "fichier").name[:255]


def storage_name(name):
    """A short unique name: the original one is kept in the row for display; the storage adds the folder."""
    stem = get_valid_filename(PurePath(name or "fichier").stem)[:80] or "fichier"
    return f"{uuid.uuid4().hex[:12]}-{stem}.{_extension(name)}"
