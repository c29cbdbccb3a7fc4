"""Declared values in spreadsheets: the export (one row per line of a declaration, as the declaration page shows
them) and the import of the same file (issue 12). One column list, `COLUMNS`, serves both.

A row is known by its stable reference: convention reference, company SIREN, year (which name the declaration,
unique in the database) and commitment number with indicator code (which name the line). Re-importing an export
finds every value equal to the stored one and writes nothing.

The rules are those of the declaration form (`services.save_draft`): the declaration must be one the person
sees (`Declaration.objects.visible_to`) and may fill (`permissions.can_edit_declaration`: the company itself,
nobody on its behalf), still open for input (draft or returned, campaign open or reopened: `services.edit_refusal`
gives the French reason otherwise, so a validated declaration is refused, never silently changed); the line must
be one of the convention's commitments; the value non-negative, two decimals at most, within the bounds; a
part never above its whole (QPV residents within beneficiaries). Writing goes through `save_draft` itself, one
call per declaration in one transaction: the values land as a draft with their history, exactly as if typed in
the form; nothing is submitted.

Informative columns (`Entreprise`, `Engagement`, `Indicateur`, `Unité`, `Nature`, `Objectif`, `Statut`) are
written by the export and not read back.
"""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from charte.catalogue.models import Indicator
from conventions.imports.actions import ImportRefused, siren_of
from conventions.imports.reading import CellError, code_text, is_empty, parse_decimal

from ..models import Declaration, DeclarationValue
from . import lines, permissions, services
from .forms import show_number

CONVENTION, SIREN, YEAR, COMMITMENT, INDICATOR = "Convention", "SIREN", "Année", "N° engagement", "Code indicateur"
VALUE, COMMENT = "Valeur", "Commentaire"
COLUMNS = [
    CONVENTION,
    SIREN,
    "Entreprise",
    YEAR,
    COMMITMENT,
    "Engagement",
    INDICATOR,
    "Indicateur",
    "Unité",
    "Nature",
    "Objectif",
    VALUE,
    COMMENT,
    "Statut",
]
# `Commentaire` may be left out: the comments then stay as they are (a file of figures only).
REQUIRED = [CONVENTION, SIREN, YEAR, COMMITMENT, INDICATOR, VALUE]
KEY_COLUMNS = [CONVENTION, SIREN, YEAR, COMMITMENT, INDICATOR]
MAX_COMMENT = 2000  # the form's comment field
EXPORT_CHUNK = 500


# --- export --------------------------------------------------------------------------------------------


def export_rows(declarations, *, for_xlsx=False):
    """The rows of the export for a queryset of declarations (already scoped), produced chunk by chunk: each
    chunk of declarations costs four queries (declarations, their lines, their values), whatever its size."""
    queryset = declarations.select_related("convention", "company").order_by(
        "-year", "convention__reference", "company__siren", "pk"
    )
    chunk = []
    for declaration in queryset.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(declaration)
        if len(chunk) == EXPORT_CHUNK:
            yield from _chunk_rows(chunk, for_xlsx)
            chunk = []
    if chunk:
        yield from _chunk_rows(chunk, for_xlsx)


def _chunk_rows(declarations, for_xlsx):
    by_convention = lines.commitment_indicators_of({d.convention_id for d in declarations})
    values = {
        (v.declaration_id, v.commitment_id, v.indicator_id): v
        for v in DeclarationValue.objects.filter(declaration__in=declarations)
    }
    for declaration in declarations:
        status = declaration.get_status_display()
        for commitment, indicators in by_convention.get(declaration.convention_id, []):
            targets = {t.indicator_id: t.value for t in commitment.targets.all() if t.year == declaration.year}
            for indicator in indicators:
                stored = values.get((declaration.pk, commitment.pk, indicator.pk))
                value = stored.value if stored else None
                target = targets.get(indicator.pk)
                yield [
                    declaration.convention.reference,
                    declaration.company.siren,
                    declaration.company.name,
                    declaration.year,
                    commitment.pk,
                    str(commitment),
                    indicator.code,
                    indicator.label,
                    indicator.unit,
                    indicator.get_nature_display(),
                    _number(target, for_xlsx),
                    _number(value, for_xlsx),
                    stored.comment if stored else "",
                    status,
                ]


def _number(value, for_xlsx):
    # XLSX keeps numbers as numbers; the CSV writes them the French way (« 12,5 »), as the form shows them.
    if value is None:
        return None if for_xlsx else ""
    if not for_xlsx:
        return show_number(value)
    # An integral figure as an int: Decimal("10.00").normalize() would be written "1E+1" in the sheet's XML.
    return int(value) if value == value.to_integral_value() else value.normalize()


# --- import --------------------------------------------------------------------------------------------


@dataclass
class RowPlan:
    row: int
    operation: str = "error"  # create, update, unchanged, error
    label: str = ""
    errors: list = field(default_factory=list)
    declaration_id: int | None = None
    key: tuple | None = None  # (commitment_id, indicator_id)
    value: object = None
    comment: str | None = None

    def error(self, column, value, message):
        self.errors.append(
            {"row": self.row, "column": column, "value": "" if value is None else str(value)[:200], "message": message}
        )


def _int(value):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = code_text(value)
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        raise CellError("Nombre entier attendu.")
    return int(text)


class DeclaredValueImporter:
    """Checks the rows of a file (`analyse`) and writes them all or nothing (`apply`), for one person acting
    under one scope."""

    columns = COLUMNS
    required = REQUIRED

    def __init__(self, *, user, scope):
        self.user = user
        self.scope = scope

    def preview_row(self, plan):
        return {"row": plan.row, "operation": plan.operation, "declaration_id": plan.declaration_id, "label": plan.label}

    @staticmethod
    def detail_url(row):
        return reverse("evaluation:declaration", args=[row["declaration_id"]]) if row.get("declaration_id") else None

    def _load(self, records, lock=False):
        references, sirens, years, codes = set(), set(), set(), set()
        for _, record in records:
            if not is_empty(record.get(CONVENTION)):
                references.add(code_text(record[CONVENTION]))
            try:
                sirens.add(siren_of(record.get(SIREN)))
            except (CellError, TypeError):
                pass
            try:
                years.add(_int(record.get(YEAR)))
            except CellError:
                pass
            if not is_empty(record.get(INDICATOR)):
                codes.add(code_text(record[INDICATOR]).upper())
        declarations = (
            Declaration.objects.visible_to(self.scope)
            .filter(convention__reference__in=references, company__siren__in=sirens, year__in=years)
            .select_related("campaign", "convention", "company")
        )
        if lock:
            # The declarations the file changes are locked until it commits: a person saving the form meanwhile
            # waits, then finds the new version (its page sent the old one: a concurrent-edit refusal, no loss).
            declarations = declarations.select_for_update(of=("self",))
        self.declarations = {(d.convention.reference, d.company.siren, d.year): d for d in declarations}
        self.indicators = {i.code.upper(): i for i in Indicator.objects.filter(code__in=codes)}
        pairs = lines.commitment_indicators_of({d.convention_id for d in self.declarations.values()})
        self.lines = {
            convention_id: {(c.pk, i.pk) for c, indicators in commitments for i in indicators}
            for convention_id, commitments in pairs.items()
        }
        self.commitments = {convention_id: {c.pk: c for c, _ in commitments} for convention_id, commitments in pairs.items()}
        self.stored = {
            (v.declaration_id, v.commitment_id, v.indicator_id): (v.value, v.comment)
            for v in DeclarationValue.objects.filter(declaration__in=list(self.declarations.values()))
        }
        self.today = timezone.localdate()

    def _row(self, number, record, seen, has_comments):
        plan = RowPlan(row=number)
        # A refused row is still named in the preview, by its reference as typed.
        plan.label = " · ".join(code_text(record[c]) for c in KEY_COLUMNS if not is_empty(record.get(c)))
        for column in KEY_COLUMNS:
            if is_empty(record.get(column)):
                plan.error(column, "", "Cette colonne est obligatoire.")
        if plan.errors:
            return plan

        def read(column, parser):
            try:
                return parser(record.get(column))
            except CellError as error:
                plan.error(column, record.get(column), str(error))
                return None

        reference = code_text(record[CONVENTION])
        siren, year = read(SIREN, siren_of), read(YEAR, _int)
        commitment_id = read(COMMITMENT, _int)
        code = code_text(record[INDICATOR]).upper()
        indicator = self.indicators.get(code)
        if indicator is None:
            plan.error(INDICATOR, record[INDICATOR], "Indicateur inconnu : reprenez le code indiqué dans l'export.")
        try:
            raw = parse_decimal(record.get(VALUE), default=None)
            value = services.parse_value(raw)
        except (CellError, ValueError) as error:
            plan.error(VALUE, record.get(VALUE), str(error))
            value = None
        comment = None
        if has_comments:
            comment = "" if is_empty(record.get(COMMENT)) else str(record[COMMENT]).strip()
            if len(comment) > MAX_COMMENT:
                plan.error(COMMENT, comment[:50], f"Le commentaire dépasse {MAX_COMMENT} caractères.")
        if siren is None or year is None:
            return plan

        declaration = self.declarations.get((reference, siren, year))
        if declaration is None:
            plan.error(
                CONVENTION,
                f"{reference} / {siren} / {year}",
                "Aucune déclaration de votre périmètre pour cette convention, cette entreprise (SIREN) et cette année.",
            )
            return plan
        if not permissions.can_edit_declaration(self.scope, declaration):
            plan.error(CONVENTION, reference, "Seule l'entreprise concernée peut remplir sa déclaration.")
            return plan
        refusal = services.edit_refusal(declaration, self.today)
        if refusal:
            plan.error(CONVENTION, reference, refusal)
        commitment = self.commitments.get(declaration.convention_id, {}).get(commitment_id)
        if commitment_id is not None and commitment is None:
            plan.error(COMMITMENT, record[COMMITMENT], "Cet engagement n'appartient pas à cette convention.")
        elif indicator is not None and commitment is not None:
            if (commitment.pk, indicator.pk) not in self.lines.get(declaration.convention_id, set()):
                plan.error(INDICATOR, code, "Cet indicateur ne fait pas partie des engagements de cette convention.")
        if plan.errors:
            return plan

        key = (declaration.pk, commitment.pk, indicator.pk)
        if key in seen:
            plan.error(
                INDICATOR,
                code,
                f"Ligne en double : même déclaration, engagement et indicateur que la ligne {seen[key]}.",
            )
            return plan
        seen[key] = number
        plan.declaration_id, plan.key, plan.value, plan.comment = declaration.pk, key[1:], value, comment
        plan.label = f"{reference} · {siren} · {year} · {commitment} · {indicator.code} : {show_number(value) or 'vide'}"
        stored = self.stored.get(key)
        stored_value, stored_comment = stored if stored else (None, "")
        new_comment = stored_comment if comment is None else comment
        if stored_value == value and stored_comment == new_comment:
            plan.operation = "unchanged"
        else:
            plan.operation = "update" if stored else "create"
        return plan

    def _check_terms(self, plans):
        """A part above its whole once the file is applied (QPV residents above beneficiaries): refused on the
        row that sets the part, as the form refuses it at that field."""
        by_declaration = {}
        for plan in plans:
            if plan.operation in ("create", "update"):
                by_declaration.setdefault(plan.declaration_id, []).append(plan)
        for declaration_id, changed in by_declaration.items():
            final = {(c, i): v for (d, c, i), (v, _) in self.stored.items() if d == declaration_id}
            rows = {}
            for plan in (p for p in plans if p.declaration_id == declaration_id and p.key):
                final[plan.key] = plan.value
                rows[services.value_key(*plan.key)] = plan
            for field_key, message in services.inconsistent_terms(final).items():
                plan = rows.get(field_key, changed[0])
                plan.error(VALUE, show_number(plan.value), message)
                plan.operation = "error"

    def analyse(self, records, progress=None, lock=False):
        self._load(records, lock=lock)
        has_comments = any(COMMENT in record for _, record in records)
        plans, seen = [], {}
        for index, (number, record) in enumerate(records, start=1):
            plans.append(self._row(number, record, seen, has_comments))
            if progress and index % 500 == 0:
                progress(index)
        self._check_terms(plans)
        if progress:
            progress(len(records))
        return plans

    @transaction.atomic
    def apply(self, records):
        """Check the file again, declarations locked, then save each changed declaration's values through
        `save_draft` (history, version, the form's rules). Raises ImportRefused, nothing written, on any error."""
        plans = self.analyse(records, lock=True)
        errors = [error for plan in plans for error in plan.errors]
        if errors:
            raise ImportRefused(errors)
        changed = {}
        for plan in plans:
            if plan.operation in ("create", "update"):
                changed.setdefault(plan.declaration_id, []).append(plan)
        declarations = {d.pk: d for d in self.declarations.values()}
        for declaration_id, rows in changed.items():
            values = {plan.key: (plan.value, plan.comment) for plan in rows}
            try:
                services.save_draft(declarations[declaration_id], self.user, values, None, scope=self.scope)
            except (ValidationError, PermissionDenied) as error:
                messages = error.messages if isinstance(error, ValidationError) else [str(error)]
                raise ImportRefused(
                    [{"row": rows[0].row, "column": VALUE, "value": "", "message": m} for m in messages]
                ) from error
        return plans
