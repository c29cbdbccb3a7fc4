"""Reading a spreadsheet as people really save it, into (row number, {column: value}) pairs.

Formats: XLSX through openpyxl; CSV through Python's csv module, decoded as UTF-8 (with or without BOM) and
else Windows-1252 (what Excel writes for "CSV (séparateur : point-virgule)" on a French Windows), separated by
`;` or `,` — the separator is the one under which the header row names the most expected columns, which is
sturdier than guessing from the whole text. Header cells merged by Excel (a title above, a header cell merged
over two rows) are spread over the cells they cover before the header row is looked for among the first rows;
blank rows (Excel keeps formatted empty rows at the end) are skipped. Whatever cannot be read raises
`UnreadableFile` with a French message: never a 500.

The cell parsers below turn Excel's and French typing habits into values: dates as Excel dates, serial
numbers or dd/mm/yyyy; `12,5` and `1 200`; codes that lost their leading zero.
"""

import csv
import datetime
import io
import re
import zipfile
from decimal import Decimal, InvalidOperation

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from charte.exports import unneutralise

# Rows looked at to find the header (a title and a blank line may come first).
HEADER_SEARCH_ROWS = 10
EXCEL_EPOCH = datetime.date(1899, 12, 30)


class UnreadableFile(Exception):
    """The file as a whole cannot be read; the message says why, in French, and what to do."""


class CellError(ValueError):
    """A cell that cannot be read as the column expects; the message is French."""


def clean_header(value):
    return " ".join(str(value).split()) if value is not None else ""


def _best_header(candidate_rows, expected):
    """Index of the row naming the most expected columns among the first rows, and that count."""
    wanted = {name.casefold() for name in expected}
    best, best_hits = 0, -1
    for index, row in enumerate(candidate_rows[:HEADER_SEARCH_ROWS]):
        hits = sum(1 for cell in row if clean_header(cell).casefold() in wanted)
        if hits > best_hits:
            best, best_hits = index, hits
    return best, best_hits


def _is_blank(row):
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in row)


def _as_records(rows, expected, first_row_number=1):
    """(header, [(row number, {header: value})]) from raw rows."""
    if not rows:
        raise UnreadableFile("Le fichier est vide.")
    header_index, hits = _best_header(rows, expected)
    if hits <= 0:
        raise UnreadableFile(
            "Aucune ligne d'en-tête reconnue : la première ligne doit porter les noms des colonnes de l'export "
            "(téléchargez le modèle). Pour un CSV, le séparateur doit être « ; » ou « , »."
        )
    header = [clean_header(cell) for cell in rows[header_index]]
    canonical = {name.casefold(): name for name in expected}
    header = [canonical.get(name.casefold(), name) for name in header]
    records = []
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 1):
        if _is_blank(row):
            continue
        record = {}
        for name, value in zip(header, row, strict=False):
            if name and name not in record:
                record[name] = unneutralise(value.strip()) if isinstance(value, str) else value
        records.append((first_row_number + offset, record))
    return header, records


def decode_csv(data: bytes) -> str:
    if b"\x00" in data:
        raise UnreadableFile(
            "Ce fichier n'est pas un CSV lisible (encodage UTF-16 ou fichier binaire) : enregistrez-le en "
            "« CSV UTF-8 » ou « CSV (séparateur : point-virgule) »."
        )
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as error:
        raise UnreadableFile(
            "Encodage du fichier non reconnu (ni UTF-8 ni Windows-1252) : enregistrez-le en « CSV UTF-8 »."
        ) from error


def read_csv(data: bytes, expected):
    text = decode_csv(data)
    best = None
    for delimiter in (";", ",", "\t"):
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        except csv.Error as error:
            raise UnreadableFile(f"Le CSV est mal formé : {error}.") from error
        hits = _best_header(rows, expected)[1] if rows else 0
        if best is None or hits > best[0]:
            best = (hits, rows)
    return _as_records(best[1], expected)


def read_xlsx(data: bytes, expected):
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as error:
        raise UnreadableFile(
            "Ce fichier n'est pas un classeur Excel lisible (.xlsx) : ouvrez-le dans votre tableur et "
            "enregistrez-le au format .xlsx ou CSV."
        ) from error
    try:
        sheet = workbook.worksheets[0]
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    except Exception as error:  # openpyxl raises many kinds of errors on a damaged sheet
        raise UnreadableFile("La première feuille du classeur ne peut pas être lue.") from error
    finally:
        workbook.close()
    _spread_merged_header(data, rows)
    return _as_records(rows, expected)


def _spread_merged_header(data, rows):
    """Excel keeps a merged cell's value in its top-left cell only: copy it over the header cells the merge
    covers (read-only mode does not see merges, so the first rows are read once more, in normal mode, only
    when the sheet has merges)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheets = sorted(n for n in archive.namelist() if n.startswith("xl/worksheets/sheet"))
            if not sheets or b"<mergeCell " not in archive.read(sheets[0]):
                return
    except (zipfile.BadZipFile, KeyError):
        return
    workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    try:
        sheet = workbook.worksheets[0]
        for merged in sheet.merged_cells.ranges:
            if merged.min_row > HEADER_SEARCH_ROWS:
                continue
            value = rows[merged.min_row - 1][merged.min_col - 1] if merged.min_row - 1 < len(rows) else None
            for row in range(merged.min_row, min(merged.max_row, HEADER_SEARCH_ROWS) + 1):
                if row - 1 >= len(rows):
                    break
                line = rows[row - 1]
                line.extend([None] * (merged.max_col - len(line)))
                for col in range(merged.min_col, merged.max_col + 1):
                    line[col - 1] = value
    finally:
        workbook.close()


def read_table(data: bytes, filename: str, expected):
    """(header, records) of an uploaded CSV or XLSX file."""
    name = filename.lower()
    if name.endswith(".xls"):
        raise UnreadableFile("Le format Excel 97-2003 (.xls) n'est pas lu : enregistrez le fichier en .xlsx ou CSV.")
    if name.endswith((".xlsx", ".xlsm")) or data.startswith(b"PK\x03\x04"):
        return read_xlsx(data, expected)
    if name.endswith((".csv", ".txt")):
        return read_csv(data, expected)
    raise UnreadableFile("Déposez un fichier .xlsx ou .csv.")


def count_rows(data: bytes, filename: str) -> int:
    """A cheap upper bound of the number of rows, to choose between the page and the background."""
    if filename.lower().endswith((".xlsx", ".xlsm")) or data.startswith(b"PK\x03\x04"):
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
            try:
                return workbook.worksheets[0].max_row or 0
            finally:
                workbook.close()
        except Exception:
            return 0  # the analysis will say why the file cannot be read
    return data.count(b"\n")


# --- cells -------------------------------------------------------------------------------------------

# The export's own format, read without strptime (thousands of rows per file).
_FRENCH_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%d/%m/%y", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M")


def is_empty(value):
    return value is None or (isinstance(value, str) and not value.strip())


def parse_date(value):
    if is_empty(value):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and 1 <= value < 2958466:
        # An Excel serial number (a date cell formatted as a number, or exported as such to CSV).
        return EXCEL_EPOCH + datetime.timedelta(days=int(value))
    text = str(value).strip()
    match = _FRENCH_DATE.fullmatch(text)
    if match:
        day, month, year = (int(part) for part in match.groups())
        try:
            return datetime.date(year, month, day)
        except ValueError as error:
            raise CellError("Date inexistante : vérifiez le jour et le mois (jj/mm/aaaa).") from error
    if text.isdigit() and 20000 <= int(text) <= 80000:
        return EXCEL_EPOCH + datetime.timedelta(days=int(text))
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise CellError("Date illisible : attendu jj/mm/aaaa (par exemple 15/03/2017).")


def _number_text(value):
    text = str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    return text.replace(",", ".")


def parse_decimal(value, default=Decimal(0)):
    if is_empty(value):
        return default
    if isinstance(value, bool):
        raise CellError("Nombre attendu.")
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    else:
        try:
            number = Decimal(_number_text(value))
        except InvalidOperation as error:
            raise CellError("Nombre attendu (par exemple 12,5).") from error
    if not number.is_finite():
        raise CellError("Nombre attendu (par exemple 12,5).")
    return number


def parse_count(value, maximum):
    """A whole number of people or hours (empty: 0)."""
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise CellError("Nombre entier attendu.")
    if number < 0:
        raise CellError("Le nombre ne peut pas être négatif.")
    if number > maximum:
        raise CellError(f"Nombre trop grand (au plus {maximum}).")
    return int(number)


def code_text(value):
    """A code typed in a cell: 1.0 (a number cell) becomes "1"."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def departement_code(value):
    """ "1" (a number cell dropped the zero) → "01"; "2a" → "2A"."""
    code = code_text(value).upper()
    if code.isdigit() and len(code) == 1:
        code = "0" + code
    return code


_QPV_SHORT = re.compile(r"(Q[PN])(\d{2}[0-9A-Z]{3,4})")


def qpv_code(value):
    """QPV codes carry a 3-digit département (QP034005, QN03401M); a code rebuilt from a département that
    lost its zero (QP34005) gets it back: with 5 characters after QP/QN instead of 6 there is one reading."""
    code = "".join(str(value).split()).upper()
    match = _QPV_SHORT.fullmatch(code)
    if match and len(code) == 7:
        return f"{match.group(1)}0{match.group(2)}"
    return code


def split_list(value):
    if is_empty(value):
        return []
    return [part.strip() for part in re.split(r"[,;\n]", code_text(value)) if part.strip()]
