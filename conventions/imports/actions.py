"""Import of actions from the file the actions export writes (same columns, `Identifiant` first).

A row with an `Identifiant` updates that action (one the person may see and change); a row without one
creates an action — unless an action of the person's scope already has the same type, start date, title,
département and companies, in which case the row is that action (so re-importing a file of new rows creates
nothing twice). A row whose values equal the stored ones is left unchanged: re-importing an export writes
nothing.

The rules are those of the form and of `save_action` (scope of every choice through `visible_to(scope)`, input
bounds of charte.validators, sub-counts within the total, QPV in the action's département, convention
concerning one of the companies), plus the QPV generation of the date. References are resolved in bulk
before the rows are checked, so the check of a file costs a handful of queries, not a few per row.

Informative columns of the export (`Famille`, `Entreprises`, `Saisie par`, `Saisie le`) are not read.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from charte.catalogue.models import ActionType
from charte.comptes.models import Organisation
from charte.territoires.models import QPV, Departement
from charte.validators import validate_plausible_date
from entreprises.models import Company
from entreprises.validators import is_valid_siren, normalize_identifier

from ..action_permissions import can_edit_action
from ..action_services import link_errors, qpv_generation_errors
from ..models import Action, ActionPartner, Convention
from .reading import (
    CellError,
    code_text,
    departement_code,
    is_empty,
    parse_count,
    parse_date,
    parse_decimal,
    qpv_code,
    split_list,
)

ID = "Identifiant"
NOT_VISIBLE = "Convention non visible"
COLUMNS = [
    ID,
    "Date de début",
    "Date de fin",
    "Type d'action",
    "Famille",
    "Intitulé",
    "Entreprises",
    "SIREN",
    "QPV",
    "Département",
    "Convention",
    "Bénéficiaires",
    "dont femmes",
    "dont moins de 26 ans",
    "dont résidents des QPV",
    "Salariés mobilisés",
    "Heures",
    "Structures partenaires",
    "Club",
    "Saisie par",
    "Saisie le",
]
REQUIRED = ["Date de début", "Type d'action", "Intitulé", "SIREN", "Département"]
COUNTS = {
    "Bénéficiaires": "beneficiaries_total",
    "dont femmes": "beneficiaries_women",
    "dont moins de 26 ans": "beneficiaries_under_26",
    "dont résidents des QPV": "beneficiaries_qpv",
    "Salariés mobilisés": "employees_involved",
}
MAX_COUNT = 2147483647
MAX_HOURS = Decimal("999999999.9")
PARTNER_KINDS = {label.casefold(): value for value, label in ActionPartner.Kind.choices}
SCALARS = (
    "action_type_id",
    "start_date",
    "end_date",
    "title",
    "departement_id",
    "convention_id",
    "club_id",
    *COUNTS.values(),
    "hours",
)


class ImportRefused(Exception):
    """The file has errors: nothing was written. `errors` lists them."""

    def __init__(self, errors):
        super().__init__(f"{len(errors)} erreur(s)")
        self.errors = errors


@dataclass
class RowPlan:
    row: int
    operation: str = "error"  # create, update, unchanged, error
    action_id: int | None = None
    label: str = ""
    errors: list = field(default_factory=list)
    values: dict = field(default_factory=dict)
    companies: list = field(default_factory=list)
    qpvs: list = field(default_factory=list)
    partners: list = field(default_factory=list)

    def error(self, column, value, message):
        self.errors.append(
            {"row": self.row, "column": column, "value": "" if value is None else str(value)[:200], "message": message}
        )


def parse_partners(value):
    """ "Collège Las Cazes (Collège), Lycée Jean Mermoz (Montpellier) (Lycée)" → [(kind, name)], as the export
    writes them. An entry ends with one of the known types in parentheses: a name may itself hold parentheses or
    commas (« Lycée Jean Mermoz (Montpellier) », the demo's own partners)."""
    if is_empty(value):
        return []
    labels = sorted((label for _, label in ActionPartner.Kind.choices), key=len, reverse=True)
    entry = re.compile(
        r"\s*(?P<name>.+?)\s*\((?P<kind>" + "|".join(re.escape(label) for label in labels) + r")\)\s*(?:[,;\n]+|$)",
        re.IGNORECASE | re.DOTALL,
    )
    pairs, text, position = [], str(value).strip(), 0
    while position < len(text):
        match = entry.match(text, position)
        if match is None:
            rest = text[position:]
            unknown = re.search(r"\(([^()]*)\)\s*(?:[,;\n]|$)", rest)
            if unknown is None:
                raise CellError("Écrivez chaque structure « Nom (Type) », séparées par des virgules.")
            kinds = ", ".join(label for _, label in ActionPartner.Kind.choices)
            raise CellError(f"Type de structure inconnu « {unknown.group(1).strip()} » (types possibles : {kinds}).")
        name = match.group("name").strip().lstrip(",;").strip()
        if not name:
            raise CellError("Une structure partenaire n'a pas de nom.")
        if len(name) > 200:
            raise CellError("Le nom d'une structure partenaire dépasse 200 caractères.")
        pairs.append((PARTNER_KINDS[match.group("kind").casefold()], name))
        position = match.end()
    return pairs


def siren_of(value):
    """A SIREN as typed or as a spreadsheet kept it. Eight digits: a number cell dropped the leading zero
    (SIREN 0xxxxxxxx); the zero is put back — the Luhn key does not change with it, so the padded number is the
    only one the cell can stand for. Anything else that is not nine digits with a valid key is refused."""
    text = normalize_identifier(code_text(value))
    if text.isascii() and text.isdigit() and len(text) == 8:
        text = "0" + text
    if not is_valid_siren(text):
        raise CellError(f"SIREN invalide « {text} » : neuf chiffres avec une clé de contrôle exacte.")
    return text


class ActionImporter:
    """Checks the rows of a file (`analyse`) and writes them all or nothing (`apply`), for one person acting
    under one scope."""

    columns = COLUMNS
    required = REQUIRED

    def __init__(self, *, user, scope):
        self.user = user
        self.scope = scope

    # --- references, once per file ---------------------------------------------------------------------

    def _load(self, records, lock=False):
        scope = self.scope
        sirens, qpv_codes, references, ids, dates, titles = set(), set(), set(), set(), set(), set()
        for _, record in records:
            for value in split_list(record.get("SIREN")):
                try:
                    sirens.add(siren_of(value))
                except CellError:
                    pass
            qpv_codes.update(qpv_code(v) for v in split_list(record.get("QPV")))
            if not is_empty(record.get("Convention")):
                references.add(code_text(record["Convention"]))
            if not is_empty(record.get(ID)):
                try:
                    ids.add(int(parse_decimal(record[ID])))
                except (CellError, ValueError, ArithmeticError):
                    pass
            try:
                day = parse_date(record.get("Date de début"))
            except CellError:
                day = None
            if day:
                dates.add(day)
            if not is_empty(record.get("Intitulé")):
                titles.add(str(record["Intitulé"]).strip())

        self.types = {}
        for action_type in ActionType.objects.select_related("family"):
            self.types[action_type.label.casefold()] = action_type
            self.types[action_type.code.casefold()] = action_type
        self.departements = {d.code: d for d in Departement.objects.visible_to(scope).select_related(None)}
        self.companies = dict(Company.objects.visible_to(scope).filter(siren__in=sirens).values_list("siren", "pk"))
        known_qpvs = QPV.objects.filter(code__in=qpv_codes).only("pk", "code", "name", "departement_id", "generation")
        self.qpvs = {q.code: q for q in known_qpvs}
        self.visible_qpvs = set(QPV.objects.visible_to(scope).filter(code__in=qpv_codes).values_list("pk", flat=True))
        conventions = Convention.objects.visible_to(scope).exclude(kind=Convention.Kind.FRAMEWORK)
        self.conventions = {c.reference: c for c in conventions.filter(reference__in=references).only("pk", "reference")}
        self.convention_companies = {}
        for convention_id, company_id in Convention.companies.through.objects.filter(
            convention_id__in=[c.pk for c in self.conventions.values()]
        ).values_list("convention_id", "company_id"):
            self.convention_companies.setdefault(convention_id, set()).add(company_id)
        self.clubs = {}
        if scope.is_prefecture or scope.is_national:
            self.clubs = {
                name.casefold(): pk for pk, name in Organisation.objects.clubs_visible_to(scope).values_list("pk", "name")
            }

        existing = Action.objects.visible_to(scope).filter(pk__in=ids)
        candidates = Action.objects.visible_to(scope).filter(start_date__in=dates, title__in=titles)
        if lock:
            # Rows updated by the import are locked until it commits (a concurrent edit waits, then sees the
            # new version); `of=("self",)`: PostgreSQL refuses FOR UPDATE on the nullable side of a join.
            existing = existing.select_for_update(of=("self",))
            candidates = candidates.select_for_update(of=("self",))
        self.actions = {a.pk: a for a in existing}
        self.actions.update({a.pk: a for a in candidates})
        action_ids = list(self.actions)
        self.action_companies, self.action_qpvs, self.action_partners = {}, {}, {}
        through = Action.companies.through.objects.filter(action_id__in=action_ids)
        for action_id, company_id in through.values_list("action_id", "company_id"):
            self.action_companies.setdefault(action_id, set()).add(company_id)
        for action_id, qpv_id in Action.qpvs.through.objects.filter(action_id__in=action_ids).values_list("action_id", "qpv_id"):
            self.action_qpvs.setdefault(action_id, set()).add(qpv_id)
        for partner in ActionPartner.objects.filter(action_id__in=action_ids).order_by("pk"):
            self.action_partners.setdefault(partner.action_id, []).append((partner.kind, partner.name))
        linked = {c for companies in self.action_companies.values() for c in companies}
        self.visible_company_ids = set(self.companies.values()) | set(
            Company.objects.visible_to(scope).filter(pk__in=linked).values_list("pk", flat=True)
        )
        self.by_key = {}
        for action in self.actions.values():
            key = (
                action.action_type_id,
                action.start_date,
                action.title.strip().casefold(),
                action.departement_id,
                frozenset(self.action_companies.get(action.pk, ())),
            )
            self.by_key.setdefault(key, action)

    # --- one row -----------------------------------------------------------------------------------------

    def _row(self, number, record, seen_ids, seen_keys):
        plan = RowPlan(row=number)
        values = {}
        action = None
        raw_id = record.get(ID)
        if not is_empty(raw_id):
            try:
                action_id = int(parse_decimal(raw_id))
            except (CellError, ValueError, ArithmeticError):
                action_id = None
            action = self.actions.get(action_id)
            if action is None:
                plan.error(ID, raw_id, "Aucune action de votre périmètre ne porte cet identifiant.")
                return plan
            if action_id in seen_ids:
                plan.error(ID, raw_id, f"Cette action figure déjà à la ligne {seen_ids[action_id]} du fichier.")
                return plan
            seen_ids[action_id] = number
            if not can_edit_action(self.user, self.scope, action):
                plan.error(
                    ID,
                    raw_id,
                    "Vous ne pouvez pas modifier cette action : seuls l'auteur de la saisie, la préfecture du "
                    "département de l'action et le niveau national le peuvent.",
                )
                return plan

        for column in REQUIRED:
            if is_empty(record.get(column)):
                plan.error(column, "", "Cette colonne est obligatoire.")

        def read(column, parser, *args):
            try:
                return parser(record.get(column), *args)
            except CellError as error:
                plan.error(column, record.get(column), str(error))
                return None

        start, end = read("Date de début", parse_date), read("Date de fin", parse_date)
        for column, day in (("Date de début", start), ("Date de fin", end)):
            try:
                validate_plausible_date(day)
            except ValidationError as error:
                plan.error(column, record.get(column), error.messages[0])
        if start and end and end < start:
            plan.error(
                "Date de fin", record.get("Date de fin"), "La date de fin doit être postérieure ou égale à la date de début."
            )
        values["start_date"], values["end_date"] = start, end

        type_name = record.get("Type d'action")
        action_type = self.types.get(str(type_name).strip().casefold()) if not is_empty(type_name) else None
        if not is_empty(type_name):
            if action_type is None:
                plan.error("Type d'action", type_name, "Type d'action inconnu : reprenez un libellé du catalogue.")
            elif not action_type.is_active and (action is None or action.action_type_id != action_type.pk):
                plan.error("Type d'action", type_name, "Ce type d'action n'est plus proposé.")
        values["action_type_id"] = action_type.pk if action_type else None

        title = "" if is_empty(record.get("Intitulé")) else " ".join(str(record["Intitulé"]).split())
        if len(title) > 250:
            plan.error("Intitulé", title, "L'intitulé dépasse 250 caractères.")
        values["title"] = title

        departement = None
        if not is_empty(record.get("Département")):
            code = departement_code(record["Département"])
            departement = self.departements.get(code)
            if departement is None:
                plan.error("Département", record["Département"], "Département inconnu ou hors de votre périmètre.")
        values["departement_id"] = departement.pk if departement else None

        company_ids = []
        for value in split_list(record.get("SIREN")):
            try:
                siren = siren_of(value)
            except CellError as error:
                plan.error("SIREN", value, str(error))
                continue
            company_id = self.companies.get(siren)
            if company_id is None:
                plan.error("SIREN", value, "Aucune entreprise de votre périmètre n'a ce SIREN.")
            elif company_id not in company_ids:
                company_ids.append(company_id)
        if action is not None:
            # Companies the person cannot see stay on the action (the export counts them without naming them).
            hidden = [c for c in self.action_companies.get(action.pk, ()) if c not in self.visible_company_ids]
            company_ids += [c for c in sorted(hidden) if c not in company_ids]

        qpvs = []
        for value in split_list(record.get("QPV")):
            qpv = self.qpvs.get(qpv_code(value))
            if qpv is None:
                plan.error("QPV", value, "Code de QPV inconnu.")
            elif qpv.pk not in self.visible_qpvs:
                plan.error("QPV", value, "Ce QPV est hors de votre périmètre.")
            elif qpv not in qpvs:
                qpvs.append(qpv)

        convention = None
        reference = record.get("Convention")
        values["convention_id"] = None
        if not is_empty(reference):
            reference = code_text(reference)
            if reference == NOT_VISIBLE and action is not None:
                values["convention_id"] = action.convention_id
            else:
                convention = self.conventions.get(reference)
                if convention is None:
                    plan.error("Convention", reference, "Aucune convention de votre périmètre n'a cette référence.")
                else:
                    values["convention_id"] = convention.pk

        if self.scope.is_prefecture or self.scope.is_national:
            club = record.get("Club")
            values["club_id"] = None
            if not is_empty(club):
                values["club_id"] = self.clubs.get(str(club).strip().casefold())
                if values["club_id"] is None:
                    plan.error("Club", club, "Club inconnu ou hors de votre périmètre.")
        elif action is not None:
            values["club_id"] = action.club_id
        else:
            values["club_id"] = self.scope.organisation_id if self.scope.is_club else None

        for column, name in COUNTS.items():
            values[name] = read(column, parse_count, MAX_COUNT)
        total = values["beneficiaries_total"]
        if total is not None:
            for column, name in list(COUNTS.items())[1:4]:
                if values[name] is not None and values[name] > total:
                    plan.error(
                        column, values[name], f"Ce nombre ne peut pas dépasser le nombre total de bénéficiaires ({total})."
                    )
        hours = read("Heures", parse_decimal)
        if hours is not None:
            if hours < 0:
                plan.error("Heures", record.get("Heures"), "Le nombre d'heures ne peut pas être négatif.")
            elif hours > MAX_HOURS or hours != hours.quantize(Decimal("0.1")):
                plan.error("Heures", record.get("Heures"), "Heures : au plus un chiffre après la virgule (par exemple 3,5).")
            else:
                hours = hours.quantize(Decimal("0.1"))
        values["hours"] = hours
        plan.partners = read("Structures partenaires", parse_partners) or []

        if company_ids or not is_empty(record.get("SIREN")):
            companies = [Company(pk=pk) for pk in company_ids]
            errors = link_errors(
                departement=departement,
                qpvs=qpvs,
                convention=convention,
                companies=companies,
                convention_company_ids=self.convention_companies.get(convention.pk, set()) if convention else None,
            )
            columns = {"qpvs": "QPV", "convention": "Convention"}
            for name, messages in errors.items():
                for message in messages:
                    plan.error(columns[name], record.get(columns[name]), message)
        for message in qpv_generation_errors(start, qpvs):
            plan.error("QPV", record.get("QPV"), message)
        if plan.errors:
            return plan

        plan.values, plan.companies, plan.qpvs = values, company_ids, [q.pk for q in qpvs]
        plan.label = title
        key = (values["action_type_id"], start, title.casefold(), values["departement_id"], frozenset(company_ids))
        # Only a row without an identifier is known by its content: two identified rows alike are two actions
        # (the demo has such twins, logged twice the same day), told apart by their identifiers.
        if action is None and key in seen_keys:
            plan.error(
                "Intitulé",
                title,
                f"Ligne en double : même action (type, date, intitulé, département, entreprises) que la ligne {seen_keys[key]}.",
            )
            return plan
        if action is None:
            seen_keys[key] = number
            action = self.by_key.get(key)
            if action is not None and action.pk in seen_ids:
                plan.error("Intitulé", title, f"Cette action figure déjà à la ligne {seen_ids[action.pk]} du fichier.")
                return plan
            if action is not None:
                seen_ids[action.pk] = number
        if action is None:
            plan.operation = "create"
            return plan
        plan.action_id = action.pk
        same = all(getattr(action, name) == values[name] for name in SCALARS)
        same = same and set(company_ids) == self.action_companies.get(action.pk, set())
        same = same and set(plan.qpvs) == self.action_qpvs.get(action.pk, set())
        same = same and plan.partners == self.action_partners.get(action.pk, [])
        plan.operation = "unchanged" if same else "update"
        return plan

    def analyse(self, records, progress=None, lock=False):
        self._load(records, lock=lock)
        plans, seen_ids, seen_keys = [], {}, {}
        for index, (number, record) in enumerate(records, start=1):
            plans.append(self._row(number, record, seen_ids, seen_keys))
            if progress and index % 500 == 0:
                progress(index)
        if progress:
            progress(len(records))
        return plans

    def preview_row(self, plan):
        return {"row": plan.row, "operation": plan.operation, "action_id": plan.action_id, "label": plan.label}

    @staticmethod
    def detail_url(row):
        return reverse("actions:detail", args=[row["action_id"]]) if row.get("action_id") else None

    # --- writing ---------------------------------------------------------------------------------------

    @transaction.atomic
    def apply(self, records):
        """Check the file again against the database as it is now, rows locked, then write every row or none.
        Returns the plans; raises ImportRefused (nothing written) when a row has an error."""
        plans = self.analyse(records, lock=True)
        errors = [error for plan in plans for error in plan.errors]
        if errors:
            raise ImportRefused(errors)
        now = timezone.now()
        creates = [plan for plan in plans if plan.operation == "create"]
        updates = [plan for plan in plans if plan.operation == "update"]
        new_actions = [Action(**plan.values, logged_by=self.user) for plan in creates]
        Action.objects.bulk_create(new_actions, batch_size=1000)
        for plan, action in zip(creates, new_actions, strict=True):
            plan.action_id = action.pk

        changed = []
        for plan in updates:
            action = self.actions[plan.action_id]
            for name, value in plan.values.items():
                setattr(action, name, value)
            action.version += 1
            action.updated_by = self.user
            action.updated_at = now
            changed.append(action)
        Action.objects.bulk_update(changed, [*SCALARS, "version", "updated_by", "updated_at"], batch_size=500)

        written = creates + updates
        ids = [plan.action_id for plan in updates]
        Action.companies.through.objects.filter(action_id__in=ids).delete()
        Action.qpvs.through.objects.filter(action_id__in=ids).delete()
        ActionPartner.objects.filter(action_id__in=ids).delete()
        Action.companies.through.objects.bulk_create(
            (Action.companies.through(action_id=p.action_id, company_id=c) for p in written for c in p.companies),
            batch_size=2000,
        )
        Action.qpvs.through.objects.bulk_create(
            (Action.qpvs.through(action_id=p.action_id, qpv_id=q) for p in written for q in p.qpvs), batch_size=2000
        )
        ActionPartner.objects.bulk_create(
            (ActionPartner(action_id=p.action_id, kind=k, name=n) for p in written for k, n in p.partners),
            batch_size=2000,
        )
        return plans
