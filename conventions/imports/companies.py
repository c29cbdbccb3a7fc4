"""Import of companies, their establishments and their club memberships, from the file the companies export
writes (`entreprises.table`: one row per establishment, the company's columns repeated).

A row is known by its SIREN (the company) and its SIRET (the establishment): a known SIREN updates that company,
an unknown one creates it; a known SIRET updates that establishment, an unknown one creates it. Establishments
absent from the file are left as they are (the file may hold a few rows only), and so are the fields of a column
absent from the header. "Clubs" adds the memberships it names that the company does not have today, starting
today; it never ends one (ending a membership is dated, on the club's members page). Rows whose values equal
the stored ones are left unchanged: re-importing an export writes nothing.

The rules are those of the company form (entreprises.forms, validators): SIREN and SIRET with their Luhn key,
the SIRET starting with the SIREN, the size among the choices, a NAF code like 62.01Z, communes of the
referential, one head office per company; a préfecture creating a company puts it in one of its départements.
Scope: a company that exists but is not in `Company.objects.visible_to(scope)` is refused for its rows; a
visible one the person may not change (`can_edit_company`) may only be left unchanged; memberships are added
only to clubs the person may manage (`can_manage_club_members`), and a club creating a company makes it a
member, as the form does. Codes that lost their leading zero in a spreadsheet are restored: a SIREN of 8 digits
(or a SIRET of 13) whose padded value passes the Luhn key, a commune or postcode of 4 digits.
"""

import re
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from charte.comptes.models import Organisation
from charte.territoires.models import Commune
from entreprises import permissions
from entreprises.models import ClubMembership, Company, Establishment
from entreprises.table import (
    CLUBS,
    COLUMNS,
    COMMUNE_CODE,
    ESTABLISHMENT_COMMUNE_CODE,
    HEAD_OFFICE,
    NAME,
    REQUIRED,
    SIREN,
    SIRET,
)
from entreprises.validators import is_valid_siret, normalize_identifier

from .actions import ImportRefused, siren_of
from .reading import CellError, code_text, is_empty

SIZES = {}
for _value, _label in Company.Size.choices:
    SIZES[_value.casefold()] = _value
    SIZES[_label.casefold()] = _value
    SIZES[_label.split(" (")[0].casefold()] = _value  # "PME", "Grande entreprise"
NAF = re.compile(r"(\d{2})\.?(\d{2})([A-Za-z])")
YES = {"oui", "o", "yes", "x", "1", "vrai", "true"}
NO = {"non", "n", "no", "0", "faux", "false", ""}
# Column -> (model field, maximum length) of the plain text fields.
COMPANY_TEXTS = {NAME: ("name", 200), "Forme juridique": ("legal_form", 100), "Adresse": ("address", 250)}
COMPANY_COLUMNS = {
    **{column: name for column, (name, _) in COMPANY_TEXTS.items()},
    "Taille": "size",
    "Code NAF": "naf_code",
    "Code postal": "postcode",
    COMMUNE_CODE: "commune_id",
}
ESTABLISHMENT_TEXTS = {"Établissement": ("name", 200), "Adresse de l'établissement": ("address", 250)}
COMPANY_FIELDS = ("name", "legal_form", "size", "naf_code", "address", "postcode", "commune_id")
ESTABLISHMENT_FIELDS = ("name", "address", "commune_id", "is_head_office")


@dataclass
class CompanyRowPlan:
    row: int
    operation: str = "error"  # create, update, unchanged, error
    label: str = ""
    errors: list = field(default_factory=list)
    siren: str = ""
    company_id: int | None = None
    company_values: dict = field(default_factory=dict)  # fields to write on the company (first row of a SIREN)
    siret: str = ""
    establishment_id: int | None = None
    establishment_values: dict = field(default_factory=dict)
    new_club_ids: list = field(default_factory=list)

    def error(self, column, value, message):
        self.errors.append(
            {"row": self.row, "column": column, "value": "" if value is None else str(value)[:200], "message": message}
        )


def siret_of(value):
    """A SIRET as typed or as a spreadsheet kept it; 13 digits: the leading zero a number cell dropped is put
    back when the padded value is a valid SIRET (the Luhn key does not change with a leading zero)."""
    text = normalize_identifier(code_text(value))
    if text.isascii() and text.isdigit() and len(text) == 13 and is_valid_siret("0" + text):
        text = "0" + text
    if not (text.isascii() and text.isdigit() and len(text) == 14):
        raise CellError(f"SIRET invalide « {text} » : quatorze chiffres attendus.")
    if not is_valid_siret(text):
        raise CellError(f"SIRET invalide « {text} » : la clé de contrôle est inexacte.")
    return text


def _five_digits(value):
    """Commune codes and postcodes: "1000" (a number cell) is "01000"; "2a004" is "2A004"."""
    text = code_text(value).upper()
    if text.isdigit() and len(text) == 4:
        text = "0" + text
    return text


def _text(record, column, limit):
    value = record.get(column)
    text = "" if is_empty(value) else " ".join(code_text(value).split())
    if len(text) > limit:
        raise CellError(f"Le texte dépasse {limit} caractères.")
    return text


def _clubs(value):
    """ "FACE Hérault, CREPI Occitanie" → names; a `;` or a line break also separates them."""
    if is_empty(value):
        return []
    return [part.strip() for part in re.split(r"[,;\n]", str(value)) if part.strip()]


class CompanyImporter:
    """Checks the rows of a file (`analyse`) and writes them all or nothing (`apply`), for one person acting
    under one scope."""

    columns = COLUMNS
    required = REQUIRED

    def __init__(self, *, user, scope):
        self.user = user
        self.scope = scope

    # --- references, once per file ---------------------------------------------------------------------

    def _load(self, records, lock=False):
        sirens, sirets, communes = set(), set(), set()
        for _, record in records:
            try:
                sirens.add(siren_of(record.get(SIREN)))
            except CellError:
                pass
            if not is_empty(record.get(SIRET)):
                try:
                    sirets.add(siret_of(record[SIRET]))
                except CellError:
                    pass
            for column in (COMMUNE_CODE, ESTABLISHMENT_COMMUNE_CODE):
                if not is_empty(record.get(column)):
                    communes.add(_five_digits(record[column]))

        # All companies of these SIREN, visible or not: one outside the scope is refused, not created twice.
        companies = Company.objects.filter(siren__in=sirens)
        establishments = Establishment.objects.filter(Q(siret__in=sirets) | Q(company__siren__in=sirens))
        if lock:
            # Rows the import changes are locked until it commits; a concurrent edit waits, then sees them.
            companies = companies.select_for_update(of=("self",))
            establishments = establishments.select_for_update(of=("self",))
        self.companies = {c.siren: c for c in companies}
        self.visible = set(Company.objects.visible_to(self.scope).filter(siren__in=sirens).values_list("pk", flat=True))
        self.establishments = {e.siret: e for e in establishments}
        self.head_offices = {}
        for establishment in self.establishments.values():
            if establishment.is_head_office:
                self.head_offices.setdefault(establishment.company_id, set()).add(establishment.siret)
        self.communes = {c.code: c for c in Commune.objects.filter(code__in=communes).only("pk", "code", "departement_id")}

        company_ids = [c.pk for c in self.companies.values()]
        self.current_clubs = {}  # company id -> {club name casefolded: club id}, every club, visible or not
        for company_id, club_id, name in (
            ClubMembership.objects.current().filter(company_id__in=company_ids).values_list("company_id", "club_id", "club__name")
        ):
            self.current_clubs.setdefault(company_id, {})[name.casefold()] = club_id
        self.clubs = {club.name.casefold(): club for club in Organisation.objects.clubs_visible_to(self.scope)}
        self.manageable = {club.pk for club in self.clubs.values() if permissions.can_manage_club_members(self.scope, club)}

    def _may_edit(self, company):
        """`permissions.can_edit_company`, answered from the memberships loaded once for the file."""
        if self.scope.is_club:
            return self.scope.organisation_id in self.current_clubs.get(company.pk, {}).values()
        return permissions.can_edit_company(self.scope, company)

    # --- one row -----------------------------------------------------------------------------------------

    def _commune(self, plan, record, column):
        value = record.get(column)
        if is_empty(value):
            return None
        commune = self.communes.get(_five_digits(value))
        if commune is None:
            plan.error(column, value, "Commune inconnue : indiquez son code INSEE (5 caractères, par exemple 34172).")
        return commune

    def _company_values(self, plan, record, company):
        """The company's fields as the row gives them; a column absent from the file keeps the stored value."""
        values = {}
        for column, (name, limit) in COMPANY_TEXTS.items():
            if column in record:
                try:
                    values[name] = _text(record, column, limit)
                except CellError as error:
                    plan.error(column, record.get(column), str(error))
        if "Taille" in record:
            size = record.get("Taille")
            values["size"] = "" if is_empty(size) else SIZES.get(" ".join(str(size).split()).casefold())
            if values["size"] is None:
                plan.error("Taille", size, "Taille inconnue : TPE, PME, ETI ou Grande entreprise (ou vide).")
        if "Code NAF" in record:
            naf = "" if is_empty(record.get("Code NAF")) else code_text(record["Code NAF"]).replace(" ", "")
            match = NAF.fullmatch(naf)
            if match:
                naf = f"{match.group(1)}.{match.group(2)}{match.group(3).upper()}"
            elif naf and not (company is not None and company.naf_code == naf):
                plan.error("Code NAF", naf, "Code NAF illisible : deux chiffres, un point, deux chiffres et une lettre (62.01Z).")
            values["naf_code"] = naf
        if "Code postal" in record:
            postcode = "" if is_empty(record.get("Code postal")) else _five_digits(record["Code postal"])
            if postcode and not (postcode.isascii() and postcode.isdigit() and len(postcode) == 5):
                plan.error("Code postal", record.get("Code postal"), "Code postal : cinq chiffres.")
            values["postcode"] = postcode
        if COMMUNE_CODE in record:
            commune = self._commune(plan, record, COMMUNE_CODE)
            values["commune_id"] = commune.pk if commune else None
        return values

    def _establishment(self, plan, record, siren, company):
        """(SIRET, establishment or None, values) of the row, or ("", None, {}) for a row without establishment."""
        if is_empty(record.get(SIRET)):
            filled = [c for c in ESTABLISHMENT_TEXTS if not is_empty(record.get(c))]
            if filled or not is_empty(record.get(ESTABLISHMENT_COMMUNE_CODE)):
                plan.error(SIRET, "", "Le SIRET est obligatoire pour décrire un établissement.")
            return "", None, {}
        try:
            siret = siret_of(record[SIRET])
        except CellError as error:
            plan.error(SIRET, record[SIRET], str(error))
            return "", None, {}
        if not siret.startswith(siren):
            plan.error(SIRET, siret, f"Le SIRET doit commencer par le SIREN de l'entreprise ({siren}).")
        establishment = self.establishments.get(siret)
        if establishment is not None and (company is None or establishment.company_id != company.pk):
            plan.error(SIRET, siret, "Ce SIRET est déjà celui d'un établissement d'une autre entreprise.")
        values = {}
        for column, (name, limit) in ESTABLISHMENT_TEXTS.items():
            if column in record:
                try:
                    values[name] = _text(record, column, limit)
                except CellError as error:
                    plan.error(column, record.get(column), str(error))
        if ESTABLISHMENT_COMMUNE_CODE in record:
            commune = self._commune(plan, record, ESTABLISHMENT_COMMUNE_CODE)
            values["commune_id"] = commune.pk if commune else None
        if HEAD_OFFICE in record:
            flag = "" if is_empty(record.get(HEAD_OFFICE)) else str(record[HEAD_OFFICE]).strip().casefold()
            if flag in YES:
                values["is_head_office"] = True
            elif flag in NO:
                values["is_head_office"] = False
            else:
                plan.error(HEAD_OFFICE, record[HEAD_OFFICE], "Indiquez « oui » ou « non ».")
        return siret, establishment, values

    def _new_clubs(self, plan, record, company):
        """Ids of the clubs the row names that the company is not a member of today."""
        current = self.current_clubs.get(company.pk, {}) if company else {}
        new = []
        for name in _clubs(record.get(CLUBS)):
            key = name.casefold()
            if key in current:
                continue
            club = self.clubs.get(key)
            if club is None:
                plan.error(CLUBS, name, "Club inconnu ou hors de votre périmètre.")
            elif club.pk not in self.manageable:
                plan.error(CLUBS, name, "Vous ne pouvez pas inscrire d'entreprise à ce club.")
            elif club.pk not in new:
                new.append(club.pk)
        if company is None and self.scope.is_club and self.scope.organisation_id not in new:
            # As the form does: a club's new company joins it, or the club would lose sight of what it created.
            new.append(self.scope.organisation_id)
        return new

    def _row(self, number, record, state):
        plan = CompanyRowPlan(row=number)
        plan.label = "" if is_empty(record.get(NAME)) else " ".join(code_text(record[NAME]).split())[:200]
        for column in REQUIRED:
            if is_empty(record.get(column)):
                plan.error(column, "", "Cette colonne est obligatoire.")
        if is_empty(record.get(SIREN)):
            return plan
        try:
            siren = siren_of(record[SIREN])
        except CellError as error:
            plan.error(SIREN, record[SIREN], str(error))
            return plan
        plan.siren = siren
        company = self.companies.get(siren)
        if company is not None and company.pk not in self.visible:
            plan.error(
                SIREN,
                siren,
                "Cette entreprise existe dans le portail mais n'est pas dans votre périmètre : demandez à la préfecture "
                "de son département de l'y rattacher.",
            )
            return plan
        plan.company_id = company.pk if company else None

        values = self._company_values(plan, record, company)
        siret, establishment, establishment_values = self._establishment(plan, record, siren, company)
        new_clubs = self._new_clubs(plan, record, company)
        plan.label = values.get("name") or (company.name if company else siren)
        if siret:
            plan.label += f" — {siret}"

        # The company's columns are repeated on each row of its establishments: they must say the same thing.
        first = state["companies"].get(siren)
        if first is None:
            state["companies"][siren] = (number, values, sorted(new_clubs))
        else:
            first_number, first_values, first_clubs = first
            for column, name in COMPANY_COLUMNS.items():
                if values.get(name) != first_values.get(name):
                    message = f"Valeur différente de la ligne {first_number} pour la même entreprise."
                    plan.error(column, record.get(column), message)
            if sorted(new_clubs) != first_clubs:
                plan.error(CLUBS, record.get(CLUBS), f"Clubs différents de la ligne {first_number} pour la même entreprise.")
        key = siret or siren
        if key in state["rows"]:
            what = "même SIRET" if siret else "même SIREN, sans établissement"
            plan.error(SIRET if siret else SIREN, key, f"Ligne en double : {what} qu'à la ligne {state['rows'][key]}.")
        else:
            state["rows"][key] = number
        if plan.errors:
            return plan

        if company is None:
            plan.company_values = values if first is None else {}
            plan.new_club_ids = new_clubs if first is None else []
            plan.siret, plan.establishment_values = siret, establishment_values
            plan.operation = "create"
            return plan

        company_changes = {k: v for k, v in values.items() if getattr(company, k) != v} if first is None else {}
        establishment_changes = establishment_values
        if establishment is not None:
            establishment_changes = {k: v for k, v in establishment_values.items() if getattr(establishment, k) != v}
            plan.establishment_id = establishment.pk
        clubs_added = new_clubs if first is None else []
        changed = bool(company_changes or clubs_added or (siret and (establishment is None or establishment_changes)))
        if changed and not self._may_edit(company):
            plan.error(SIREN, siren, "Vous pouvez consulter cette entreprise, mais pas la modifier.")
            return plan
        plan.company_values, plan.new_club_ids = company_changes, clubs_added
        plan.siret, plan.establishment_values = siret, establishment_changes
        plan.operation = "update" if changed else "unchanged"
        if siret and establishment is None:
            plan.operation = "create"
        return plan

    def _check_companies(self, plans):
        """Rules on a whole company: one head office; a préfecture's new company in one of its départements."""
        by_siren = {}
        for plan in plans:
            if plan.siren:
                by_siren.setdefault(plan.siren, []).append(plan)
        for siren, group in by_siren.items():
            company = self.companies.get(siren)
            heads = set(self.head_offices.get(company.pk, ())) if company else set()
            for plan in group:
                if plan.siret and "is_head_office" in plan.establishment_values:
                    (heads.add if plan.establishment_values["is_head_office"] else heads.discard)(plan.siret)
            if len(heads) > 1:
                for plan in group:
                    if plan.siret in heads:
                        message = f"Un seul établissement peut être le siège (SIRET {', '.join(sorted(heads))})."
                        plan.error(HEAD_OFFICE, "oui", message)
            if company is None and self.scope.is_prefecture and not any(p.errors for p in group):
                communes = [group[0].company_values.get("commune_id")]
                communes += [p.establishment_values.get("commune_id") for p in group]
                departements = {c.departement_id for c in self.communes.values() if c.pk in communes}
                if not departements & set(self.scope.departement_ids):
                    group[0].error(
                        COMMUNE_CODE,
                        "",
                        "Indiquez une commune de l'un de vos départements pour le siège ou pour un établissement : "
                        "sinon l'entreprise sortirait de votre périmètre.",
                    )
        for plan in plans:
            if plan.errors:
                plan.operation = "error"

    def analyse(self, records, progress=None, lock=False):
        self._load(records, lock=lock)
        plans, state = [], {"companies": {}, "rows": {}}
        for index, (number, record) in enumerate(records, start=1):
            plans.append(self._row(number, record, state))
            if progress and index % 500 == 0:
                progress(index)
        self._check_companies(plans)
        if progress:
            progress(len(records))
        return plans

    def preview_row(self, plan):
        company = self.companies.get(plan.siren)
        return {"row": plan.row, "operation": plan.operation, "company_id": company.pk if company else None, "label": plan.label}

    @staticmethod
    def detail_url(row):
        return reverse("entreprises:detail", args=[row["company_id"]]) if row.get("company_id") else None

    # --- writing ---------------------------------------------------------------------------------------

    @transaction.atomic
    def apply(self, records):
        """Check the file again against the database as it is now, rows locked, then write every row or none.
        Returns the plans; raises ImportRefused (nothing written) when a row has an error."""
        plans = self.analyse(records, lock=True)
        errors = [error for plan in plans for error in plan.errors]
        if errors:
            raise ImportRefused(errors)
        now, today = timezone.now(), timezone.localdate()

        new_companies = {}
        for plan in plans:
            if plan.company_id is None and plan.company_values:
                new_companies[plan.siren] = Company(siren=plan.siren, updated_by=self.user, **plan.company_values)
        Company.objects.bulk_create(new_companies.values(), batch_size=1000)
        company_ids = {siren: c.pk for siren, c in self.companies.items()}
        company_ids.update({siren: c.pk for siren, c in new_companies.items()})

        changed = []
        for plan in plans:
            if plan.company_id is not None and plan.company_values:
                company = self.companies[plan.siren]
                for name, value in plan.company_values.items():
                    setattr(company, name, value)
                company.version += 1
                company.updated_by, company.updated_at = self.user, now
                changed.append(company)
        Company.objects.bulk_update(changed, [*COMPANY_FIELDS, "version", "updated_by", "updated_at"], batch_size=500)

        # A head office moving from one establishment to another: the old one loses the flag first (one head
        # office per company is a unique index, checked row by row).
        losing = [p.establishment_id for p in plans if p.establishment_values.get("is_head_office") is False]
        Establishment.objects.filter(pk__in=losing).update(is_head_office=False)
        updated, created = [], []
        for plan in plans:
            if not plan.siret:
                continue
            if plan.establishment_id is None:
                created.append(Establishment(company_id=company_ids[plan.siren], siret=plan.siret, **plan.establishment_values))
            elif plan.establishment_values:
                establishment = self.establishments[plan.siret]
                for name, value in plan.establishment_values.items():
                    setattr(establishment, name, value)
                updated.append(establishment)
        Establishment.objects.bulk_update(updated, list(ESTABLISHMENT_FIELDS), batch_size=500)
        Establishment.objects.bulk_create(created, batch_size=1000)
        ClubMembership.objects.bulk_create(
            (
                ClubMembership(company_id=company_ids[p.siren], club_id=club_id, start_date=today, recorded_by=self.user)
                for p in plans
                for club_id in p.new_club_ids
            ),
            batch_size=1000,
        )
        return plans
