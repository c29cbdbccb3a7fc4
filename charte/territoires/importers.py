"""Imports of the official QPV lists (ANCT, both generations) and of the ANCT 2015 <-> 2024 correspondence.

Files come from data.gouv.fr or from a préfecture's spreadsheet, so the reader tolerates the usual scars
(encoding, BOM, delimiter, header case, lost leading zeros, Excel's `="..."` text protection, `1 234` or
`1234.0` numbers) and rejects only what it cannot read, row by row. One file is one transaction: when any
row is rejected nothing is written, unless the caller asks to skip bad rows. Re-importing the same file
writes nothing and reports every row unchanged.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from .models import EPCI, QPV, Commune, Departement, QPVCorrespondence

# The 105 QPV of Occitanie (2015 generation), the demo and test fixture.
DEMO_QPV_FILE = Path(__file__).resolve().parent / "data" / "qpv_occitanie_2015.csv"

QPV_CODE_RE = {
    2015: re.compile(r"^QP(\d{3}|02[AB])\d{3}$"),
    2024: re.compile(r"^QN(\d{3}|02[AB])\d{2}[A-Z]$"),
}
GENERATION_BY_PREFIX = {"QP": 2015, "QN": 2024}
COMMUNE_CODE_RE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
SIREN_RE = re.compile(r"^\d{9}$")
# Spreadsheets print integers as floats ("1234.0") and French users group thousands with (narrow) spaces.
INTEGER_RE = re.compile(r"^(\d+)(?:[.,]0*)?$")
SPACES_RE = re.compile(r"[\s\u00a0\u202f]+")
# Several SQL back-ends cap the number of parameters of one query.
LOOKUP_CHUNK = 500

QPV_COLUMNS = {
    "code": ("code_qp", "code_qpv", "code_quartier"),
    "name": ("lib_qp", "nom_qp", "lib_qpv", "nom_qpv", "nom_quartier"),
    "departement": ("insee_dep", "code_dep", "dep"),
    "commune_codes": ("insee_com", "code_com", "code_insee"),
    "commune_names": ("lib_com", "nom_com", "commune"),
    "siren": ("siren_epci", "siren"),
    "epci_name": ("lib_epci", "nom_epci"),
    "population": ("pop_mun", "population", "pop"),
}
QPV_REQUIRED = ("code", "name", "departement", "commune_codes", "commune_names")
CORRESPONDENCE_COLUMNS = {
    "code_2024": ("code_qp_2024", "code_qn", "code_qp2024", "code_qn_2024", "code_qn2024", "code_qpv_2024", "qp_2024", "qn"),
    "code_2015": ("code_qp_2015", "code_qp", "code_qp2015", "code_qpv_2015", "qp_2015", "qp"),
}


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self):
        return f"Ligne {self.line} : {self.message}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RowError] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.created} créés, {self.updated} mis à jour, {self.unchanged} inchangés, {len(self.rejected)} rejetés"


class ImportRejected(Exception):
    """Raised when rows were rejected and the caller did not ask to skip them: nothing was written."""

    def __init__(self, report: ImportReport):
        self.report = report
        super().__init__(f"Import refusé, aucune donnée enregistrée ({report.summary()}).")


class RowInvalid(Exception):
    """One unreadable field: the row is rejected with this French message."""


# --- Reading ---------------------------------------------------------------------------------------


def read_text(source) -> str:
    """Whole text of a path or file object, whatever encoding the spreadsheet saved it in."""
    if isinstance(source, str | Path):
        data = Path(source).read_bytes()
    else:
        data = source.read()
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; Latin-1 maps every byte.
        return data.decode("latin-1")


def normalize_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", clean(name).lower())


def clean(value) -> str:
    """Trim a cell and undo Excel's text protection `="01053"`."""
    value = (value or "").strip().lstrip("\ufeff")
    if value.startswith('="') and value.endswith('"') and len(value) >= 3:
        value = value[2:-1].strip()
    return value


def read_rows(source):
    """(normalized headers, [(line number, {header: cell})]) for the non-blank rows of the file.

    The delimiter is the one that splits the header line the most, so `;`, `,` and tab exports all read.
    Line numbers are those a spreadsheet shows (the header is line 1 when the file starts with it).
    """
    text = read_text(source)
    lines = text.splitlines()
    header_line = next((line for line in lines if line.strip()), "")
    if not header_line:
        raise ImportRejected(ImportReport(rejected=[RowError(1, "le fichier est vide")]))
    delimiter = max(";,\t", key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers = None
    rows = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if headers is None:
                headers = [normalize_header(cell) for cell in cells]
                continue
            rows.append((reader.line_num, {name: clean(cell) for name, cell in zip(headers, cells, strict=False) if name}))
    except csv.Error:
        # A stray quote or a huge cell makes the rest of the file ambiguous: refuse it rather than guess.
        raise ImportRejected(
            ImportReport(rejected=[RowError(reader.line_num, "ligne illisible (guillemets ou séparateurs incohérents)")])
        ) from None
    return headers, rows


def find_columns(headers, columns, required):
    """Map each logical column to the header the file uses; reject the whole file when a required one is missing."""
    found = {}
    for key, aliases in columns.items():
        found[key] = next((alias for alias in aliases if alias in headers), None)
    missing = [columns[key][0] for key in required if found[key] is None]
    if missing:
        message = f"en-tête non reconnu : colonne(s) {', '.join(missing)} introuvable(s) (en-tête lu : {';'.join(headers)})"
        raise ImportRejected(ImportReport(rejected=[RowError(1, message)]))
    return found


def chunked(values, size=LOOKUP_CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def in_bulk(queryset, field_name, values):
    """{value: object} for the existing rows, a few queries whatever the number of values."""
    found = {}
    for chunk in chunked(set(values)):
        found.update({getattr(obj, field_name): obj for obj in queryset.filter(**{f"{field_name}__in": chunk})})
    return found


# --- Field parsers (raise RowInvalid with the French message) -------------------------------------


def parse_qpv_code(value, generation=None):
    code = value.upper().replace(" ", "")
    if not code:
        raise RowInvalid("code QPV manquant (colonne code_qp)")
    code_generation = GENERATION_BY_PREFIX.get(code[:2])
    if code_generation is None or not QPV_CODE_RE[code_generation].match(code):
        raise RowInvalid(
            f"code QPV « {value} » invalide (attendu QP + 6 chiffres pour 2015, ex. QP034005, "
            f"ou QN + 5 caractères + une lettre pour 2024, ex. QN07501M)"
        )
    if generation is not None and code_generation != generation:
        raise RowInvalid(f"code QPV « {code} » de la génération {code_generation}, alors que l'import est limité à {generation}")
    return code, code_generation


def departement_of_qpv_code(code):
    part = code[2:5]
    return part[1:] if part.startswith("0") else part


def normalize_departement(value):
    code = value.upper().replace(" ", "")
    match = INTEGER_RE.match(code)
    if match:
        code = match.group(1)
        if len(code) == 1:
            code = "0" + code
        elif len(code) == 3 and code.startswith("0"):
            code = code[1:]
    return code


def parse_commune_code(value):
    code = value.upper().replace(" ", "")
    match = INTEGER_RE.match(code)
    if match:
        code = match.group(1).zfill(5)
    if not COMMUNE_CODE_RE.match(code):
        raise RowInvalid(f"code commune « {value} » invalide (5 caractères attendus, ex. 34172 ou 2A004)")
    return code


def departement_of_commune_code(code):
    return code[:3] if code.startswith("97") else code[:2]


def split_list(value):
    return [part.strip() for part in value.split(";") if part.strip()]


def parse_population(value):
    if not value:
        return None
    match = INTEGER_RE.match(SPACES_RE.sub("", value))
    if not match:
        raise RowInvalid(f"population « {value} » illisible (nombre entier attendu)")
    return int(match.group(1))


def parse_siren(value):
    siren = SPACES_RE.sub("", value)
    match = INTEGER_RE.match(siren)
    if match:
        siren = match.group(1)
    if not SIREN_RE.match(siren):
        raise RowInvalid(f"SIREN de l'EPCI « {value} » invalide (9 chiffres attendus)")
    return siren


def check_length(value, model, field_name, label):
    max_length = model._meta.get_field(field_name).max_length
    if len(value) > max_length:
        raise RowInvalid(f"{label} trop long ({len(value)} caractères, {max_length} au maximum)")


# --- QPV lists -------------------------------------------------------------------------------------


@dataclass
class QPVRow:
    line: int
    code: str
    name: str
    generation: int
    departement: str
    communes: list  # [(code, name)] in file order
    epcis: list  # [(siren, name)] in file order, name may be "" when the file leaves it empty
    population: int | None

    def signature(self):
        return (self.name, self.departement, sorted(self.communes), self.epcis, self.population)


def parse_qpv_row(line, cells, columns, departements, generation):
    def cell(key):
        return cells.get(columns[key], "") if columns[key] else ""

    code, code_generation = parse_qpv_code(cell("code"), generation)
    name = cell("name")
    if not name:
        raise RowInvalid("nom du QPV manquant (colonne lib_qp ou nom_qp)")
    check_length(name, QPV, "name", "nom du QPV")

    raw_departement = cell("departement")
    departement = normalize_departement(raw_departement)
    if not departement:
        raise RowInvalid("code département manquant (colonne insee_dep)")
    if departement not in departements:
        raise RowInvalid(f"code département « {raw_departement} » inconnu")
    if departement_of_qpv_code(code) != departement:
        raise RowInvalid(f"le code QPV « {code} » ne correspond pas au département « {departement} » (colonne insee_dep)")

    commune_codes = [parse_commune_code(value) for value in split_list(cell("commune_codes"))]
    commune_names = split_list(cell("commune_names"))
    if not commune_codes:
        raise RowInvalid("code commune manquant (colonne insee_com)")
    if len(commune_names) != len(commune_codes):
        raise RowInvalid(
            f"{len(commune_codes)} code(s) commune (colonne insee_com) "
            f"pour {len(commune_names)} nom(s) de commune (colonne lib_com)"
        )
    for commune_code, commune_name in zip(commune_codes, commune_names, strict=True):
        if departement_of_commune_code(commune_code) not in departements:
            raise RowInvalid(f"code commune « {commune_code} » : département inconnu")
        check_length(commune_name, Commune, "name", f"nom de la commune {commune_code}")

    sirens = [parse_siren(value) for value in split_list(cell("siren"))]
    epci_names = split_list(cell("epci_name"))
    if len(epci_names) != len(sirens):
        # The name is optional for an EPCI already known: keep the position of each SIREN, drop the names.
        epci_names = [""] * len(sirens)
    for epci_name in epci_names:
        check_length(epci_name, EPCI, "name", "nom de l'EPCI")

    return QPVRow(
        line=line,
        code=code,
        name=name,
        generation=code_generation,
        departement=departement,
        communes=list(dict.fromkeys(zip(commune_codes, commune_names, strict=True))),
        epcis=list(zip(sirens, epci_names, strict=True)),
        population=parse_population(cell("population")) if columns["population"] else None,
    )


def import_qpv(source, *, generation=None, skip_invalid=False) -> ImportReport:
    """Create or update the communes, EPCI and QPV listed in an ANCT file (official or demo format).

    `generation` (2015 or 2024) rejects the rows of the other generation. Counts are about QPV rows; an
    identical duplicate row is read once. Raises ImportRejected (nothing written) when rows are rejected,
    unless `skip_invalid`, which imports the readable rows and reports the others.
    """
    if generation is not None and generation not in QPV_CODE_RE:
        raise ValueError(f"génération inconnue : {generation}")
    headers, raw_rows = read_rows(source)
    columns = find_columns(headers, QPV_COLUMNS, QPV_REQUIRED)
    has_population = columns["population"] is not None
    has_epci = columns["siren"] is not None
    report = ImportReport()

    with transaction.atomic():
        departements = {dep.code: dep for dep in Departement.objects.all()}
        rows = {}
        for line, cells in raw_rows:
            try:
                row = parse_qpv_row(line, cells, columns, departements, generation)
            except RowInvalid as error:
                report.rejected.append(RowError(line, str(error)))
                continue
            previous = rows.get(row.code)
            if previous is None:
                rows[row.code] = row
            elif previous.signature() != row.signature():
                report.rejected.append(
                    RowError(line, f"code QPV « {row.code} » déjà présent ligne {previous.line} avec des données différentes")
                )

        existing_epcis = in_bulk(EPCI.objects.all(), "siren", [siren for row in rows.values() for siren, _ in row.epcis])
        epci_names = {}
        for row in rows.values():
            for siren, name in row.epcis:
                if name:
                    epci_names.setdefault(siren, name)
        for code, row in list(rows.items()):
            unnamed = [siren for siren, _ in row.epcis if siren not in epci_names and siren not in existing_epcis]
            if unnamed:
                report.rejected.append(RowError(row.line, f"EPCI « {unnamed[0]} » inconnu et sans nom (colonne lib_epci)"))
                del rows[code]

        report.rejected.sort(key=lambda error: error.line)
        if report.rejected and not skip_invalid:
            raise ImportRejected(report)

        epcis = save_epcis(rows.values(), epci_names, existing_epcis)
        communes = save_communes(rows.values(), departements, epcis)
        save_qpvs(rows.values(), report, departements, epcis, communes, has_population=has_population, has_epci=has_epci)
    return report


def save_epcis(rows, names, existing):
    wanted = {siren: names.get(siren, "") for row in rows for siren, _ in row.epcis}
    to_create = [EPCI(siren=siren, name=name) for siren, name in wanted.items() if siren not in existing]
    to_update = []
    for siren, name in wanted.items():
        epci = existing.get(siren)
        if epci is not None and name and epci.name != name:
            epci.name = name
            to_update.append(epci)
    EPCI.objects.bulk_create(to_create)
    EPCI.objects.bulk_update(to_update, ["name"])
    return in_bulk(EPCI.objects.all(), "siren", wanted) if to_create else existing


def save_communes(rows, departements, epcis):
    """The first row naming a commune gives its name; its EPCI is set only when the file tells it."""
    wanted = {}
    for row in rows:
        sirens = [siren for siren, _ in row.epcis]
        for position, (code, name) in enumerate(row.communes):
            if len(set(sirens)) == 1:
                siren = sirens[0]
            elif len(sirens) == len(row.communes):
                siren = sirens[position]
            else:
                siren = None
            wanted.setdefault(code, (name, departements[departement_of_commune_code(code)], siren))

    existing = in_bulk(Commune.objects.all(), "code", wanted)
    to_create, to_update = [], []
    for code, (name, departement, siren) in wanted.items():
        epci = epcis[siren] if siren else None
        commune = existing.get(code)
        if commune is None:
            to_create.append(Commune(code=code, name=name, departement=departement, epci=epci))
            continue
        changed = commune.name != name or commune.departement_id != departement.pk
        if epci is not None and commune.epci_id != epci.pk:
            changed = True
        if changed:
            commune.name, commune.departement = name, departement
            if epci is not None:
                commune.epci = epci
            to_update.append(commune)
    Commune.objects.bulk_create(to_create)
    Commune.objects.bulk_update(to_update, ["name", "departement", "epci"])
    return in_bulk(Commune.objects.all(), "code", wanted) if to_create else existing


def save_qpvs(rows, report, departements, epcis, communes, *, has_population, has_epci):
    rows = list(rows)
    existing = in_bulk(QPV.objects.all(), "code", [row.code for row in rows])
    Link = QPV.communes.through
    current_links = {}
    for chunk in chunked([qpv.pk for qpv in existing.values()]):
        for qpv_id, commune_id in Link.objects.filter(qpv_id__in=chunk).values_list("qpv_id", "commune_id"):
            current_links.setdefault(qpv_id, set()).add(commune_id)

    now = timezone.now()
    to_create, to_update, wanted_links = [], [], {}
    update_fields = ["name", "generation", "departement", "updated_at"]
    if has_epci:
        update_fields.append("epci")
    if has_population:
        update_fields.append("population")
    for row in rows:
        # Compare foreign keys by id: reading qpv.departement would cost one query per row.
        values = {"name": row.name, "generation": row.generation, "departement_id": departements[row.departement].pk}
        if has_epci:
            values["epci_id"] = epcis[row.epcis[0][0]].pk if row.epcis else None
        if has_population:
            values["population"] = row.population
        commune_ids = {communes[code].pk for code, _ in row.communes}
        wanted_links[row.code] = commune_ids

        qpv = existing.get(row.code)
        if qpv is None:
            to_create.append(QPV(code=row.code, **values))
            report.created += 1
            continue
        changed = any(getattr(qpv, name) != value for name, value in values.items())
        if changed:
            for name, value in values.items():
                setattr(qpv, name, value)
            qpv.updated_at = now
            to_update.append(qpv)
        if changed or current_links.get(qpv.pk, set()) != commune_ids:
            report.updated += 1
        else:
            report.unchanged += 1

    QPV.objects.bulk_create(to_create)
    QPV.objects.bulk_update(to_update, update_fields)
    if to_create:
        existing.update(in_bulk(QPV.objects.all(), "code", [qpv.code for qpv in to_create]))

    to_link, to_unlink = [], []
    for code, commune_ids in wanted_links.items():
        qpv = existing[code]
        current = current_links.get(qpv.pk, set())
        to_link += [Link(qpv_id=qpv.pk, commune_id=commune_id) for commune_id in commune_ids - current]
        to_unlink += [(qpv.pk, commune_id) for commune_id in current - commune_ids]
    Link.objects.bulk_create(to_link)
    for qpv_id, commune_id in to_unlink:
        Link.objects.filter(qpv_id=qpv_id, commune_id=commune_id).delete()


# --- 2015 <-> 2024 correspondence ------------------------------------------------------------------


def find_correspondence_columns(headers):
    columns = find_columns(headers, CORRESPONDENCE_COLUMNS, ())
    # Files name their columns freely ("Code QPV 2024"...): fall back on the year in the header.
    for key, year in (("code_2024", "2024"), ("code_2015", "2015")):
        if columns[key] is None:
            columns[key] = next((name for name in headers if year in name and "code" in name), None)
    missing = [CORRESPONDENCE_COLUMNS[key][0] for key in ("code_2024", "code_2015") if columns[key] is None]
    if missing:
        message = f"en-tête non reconnu : colonne(s) {', '.join(missing)} introuvable(s) (en-tête lu : {';'.join(headers)})"
        raise ImportRejected(ImportReport(rejected=[RowError(1, message)]))
    return columns


def split_codes(value):
    return [part for part in re.split(r"[;,\s]+", value.upper()) if part]


def import_qpv_correspondence(source, *, skip_invalid=False) -> ImportReport:
    """Link 2015 QPV to their 2024 successors from ANCT's correspondence table.

    Several rows per code are allowed, and one cell may list several codes. A row with one side empty
    (a new quartier, or one that left the list) carries no link and is ignored. Counts are about pairs;
    existing links are kept (the file adds, it never deletes).
    """
    headers, raw_rows = read_rows(source)
    columns = find_correspondence_columns(headers)
    report = ImportReport()

    with transaction.atomic():
        parsed = []
        for line, cells in raw_rows:
            codes = {year: split_codes(cells.get(columns[f"code_{year}"], "")) for year in (2015, 2024)}
            try:
                for year, values in codes.items():
                    for code in values:
                        if not QPV_CODE_RE[year].match(code):
                            example = "QP034005" if year == 2015 else "QN07501M"
                            raise RowInvalid(f"code QPV {year} « {code} » invalide (ex. {example})")
            except RowInvalid as error:
                report.rejected.append(RowError(line, str(error)))
                continue
            parsed.append((line, codes))

        known = in_bulk(QPV.objects.all(), "code", [code for _, codes in parsed for values in codes.values() for code in values])
        pairs = set()
        for line, codes in parsed:
            unknown = [code for values in codes.values() for code in values if code not in known]
            if unknown:
                report.rejected.append(
                    RowError(line, f"QPV « {unknown[0]} » inconnu : importez d'abord la liste des QPV de sa génération")
                )
                continue
            for code_2015 in codes[2015]:
                for code_2024 in codes[2024]:
                    pairs.add((known[code_2015].pk, known[code_2024].pk))

        report.rejected.sort(key=lambda error: error.line)
        if report.rejected and not skip_invalid:
            raise ImportRejected(report)

        existing = set()
        for chunk in chunked({qpv_2015 for qpv_2015, _ in pairs}):
            existing.update(QPVCorrespondence.objects.filter(qpv_2015_id__in=chunk).values_list("qpv_2015_id", "qpv_2024_id"))
        to_create = [QPVCorrespondence(qpv_2015_id=a, qpv_2024_id=b) for a, b in pairs if (a, b) not in existing]
        QPVCorrespondence.objects.bulk_create(to_create)
        report.created = len(to_create)
        report.unchanged = len(pairs) - len(to_create)
    return report
