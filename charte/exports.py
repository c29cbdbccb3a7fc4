"""Cells of every CSV and XLSX the portal writes, made safe against formula injection (CSV injection).

A spreadsheet opening an export runs a cell that begins with `=`, `+`, `-` or `@` as a formula (and a leading
tab or carriage return lets such a cell slip past naive checks): a company name saved as
`=HYPERLINK("http://evil.example","x")` would become a live link, or worse, on the desk of whoever opens the
file. As OWASP recommends (https://owasp.org/www-community/attacks/CSV_Injection), such text is prefixed with
a single quote, so the spreadsheet shows it as text. Numbers stay numbers: an int, a float or a Decimal, and a
string that is only a plain number (`-1,5`, as the French CSV exports write decimals) cannot carry a formula.

Every CSV goes through `charte.web.csv_response`; every XLSX is built on the `Workbook` below, whose cells
always store text as text (openpyxl would otherwise turn any string starting with `=` into a formula).
"""

import re

import openpyxl
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.functional import cached_property
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?%?")


def neutralise(value):
    """The value to write in a cell: text that a spreadsheet would read as a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def unneutralise(value):
    """The inverse of `neutralise`, for the imports: a cell the portal's own export quoted comes back as it was,
    so that exporting then importing a company named `=Cité` changes nothing."""
    if isinstance(value, str) and value.startswith("'") and neutralise(value[1:]) == value:
        return value[1:]
    return value


class TextCell(Cell):
    """An openpyxl cell where a string is neutralised and always stored as text (data type "s"), never as a
    formula or an error code; numbers and dates keep their type."""

    __slots__ = ()

    def _bind_value(self, value):
        super()._bind_value(neutralise(value))
        if isinstance(value, str):
            self.data_type = "s"


class TextWorksheet(Worksheet):
    """A worksheet whose every cell, appended or addressed (`ws["B2"] = ...`), is a `TextCell`."""

    def append(self, iterable):
        if isinstance(iterable, dict):
            iterable = {key: TextCell(self, value=value) for key, value in iterable.items()}
            return super().append(self._dict_as_list(iterable))
        return super().append([v if isinstance(v, Cell) else TextCell(self, value=v) for v in iterable])

    @staticmethod
    def _dict_as_list(cells):
        from openpyxl.utils import column_index_from_string

        by_index = {column_index_from_string(k) if isinstance(k, str) else k: v for k, v in cells.items()}
        return [by_index.get(index) for index in range(1, max(by_index, default=0) + 1)]

    def _get_cell(self, row, column):
        if 0 < row < 1048577 and (row, column) not in self._cells:
            self._add_cell(TextCell(self, row=row, column=column))
        return super()._get_cell(row, column)


class Workbook(openpyxl.Workbook):
    """openpyxl's workbook, with `TextWorksheet` sheets: use it for every XLSX the portal writes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.write_only:
            self._sheets = []
            self._sheets.append(TextWorksheet(self))

    def create_sheet(self, title=None, index=None):
        if self.read_only or self.write_only:
            return super().create_sheet(title, index)
        sheet = TextWorksheet(parent=self, title=title)
        self._add_sheet(sheet=sheet, index=index)
        return sheet


class PrivateExportStorage(FileSystemStorage):
    """Where export jobs write their files (settings.EXPORT_ROOT, outside MEDIA_ROOT): no URL of its own, a file
    leaves only through the download view, which checks that the person asking is the one who asked for it."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, settings.EXPORT_ROOT)

    def url(self, name):
        raise ValueError("Les fichiers d'export n'ont pas d'adresse publique.")
