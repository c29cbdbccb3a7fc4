"""The 2017 national campaign of the demo territory (built after `conventions.demo`, never imported by it).

The campaign closed on 15 March 2018: the services would refuse every step after that date, so the
declarations are written directly, with statuses, dates and authors consistent with what the services
would have recorded at the time. Figures are invented, drawn by `random.Random(2018)`.
"""

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from charte.comptes.models import Organisation, OrganisationKind, User
from conventions.demo import ANCT_NAME

from .campaigns import computed, lines
from .campaigns.services import sync_expected_declarations
from .models import Campaign, Declaration, DeclarationValue

YEAR = 2017
OPENS_ON = datetime.date(2018, 1, 15)
REMINDER_ON = datetime.date(2018, 2, 15)
CLOSES_ON = datetime.date(2018, 3, 15)

# Cumulative shares of the drawn statuses; what is left stays a draft without any value ("missing").
STATUS_DRAW = (
    (0.60, Declaration.Status.VALIDATED),
    (0.75, Declaration.Status.SUBMITTED),
    (0.85, Declaration.Status.RETURNED),
    (0.93, Declaration.Status.DRAFT),
)
RETURN_COMMENTS = (
    "Le nombre de stagiaires de 3e accueillis dépasse celui des places offertes : merci de vérifier.",
    "Joignez la liste d'émargement des ateliers pour justifier les bénéficiaires déclarés.",
    "Les recrutements déclarés ne distinguent pas les résidents des QPV : merci de corriger.",
)
# Who validates where: the accounts of the demo; elsewhere no account exists and `*_by` stays empty.
VALIDATORS = {"34": "animateur.face-herault@demo.charte.fr", "11": "prefecture.aude@demo.charte.fr"}
COMPANY_ACCOUNTS = {"BRL": "entreprise.brl@demo.charte.fr"}


@dataclass
class CampaignReport:
    title: str = ""
    created: bool = False
    filled: bool = False
    counts: dict = None

    def summary(self):
        counts = self.counts or {}
        return (
            f"Campagne {YEAR} ({self.title}) : {counts.get('total', 0)} déclarations attendues, "
            f"{counts.get(Declaration.Status.VALIDATED, 0)} validées, {counts.get(Declaration.Status.SUBMITTED, 0)} transmises, "
            f"{counts.get(Declaration.Status.RETURNED, 0)} renvoyées, {counts.get(Declaration.Status.DRAFT, 0)} en brouillon "
            f"(dont {counts.get('missing', 0)} sans aucune valeur), {counts.get('values', 0)} valeurs déclarées"
            + ("." if self.filled else " — déjà remplie, rien de modifié.")
        )


def at(day, hour):
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=datetime.UTC)


def day_between(rng, first, last):
    return first + datetime.timedelta(days=rng.randint(0, (last - first).days))


def draw_status(rng):
    draw = rng.random()
    return next((status for share, status in STATUS_DRAW if draw < share), None)


def declared_values(rng, declaration):
    """[DeclarationValue]: 50 to 130 % of each 2017 target; the actions' figure where there is no target."""
    pairs = lines.commitment_indicators(declaration.convention)
    from_actions = computed.computed_values(declaration, pairs)
    values = []
    for commitment, indicators in pairs:
        targets = {t.indicator_id: t.value for t in commitment.targets.all() if t.year == YEAR}
        for indicator in indicators:
            if indicator.pk in targets:
                value = (targets[indicator.pk] * Decimal(rng.uniform(0.5, 1.3))).quantize(Decimal("1"))
            else:
                value = from_actions.get((commitment.pk, indicator.pk))
            if value is not None:
                values.append(DeclarationValue(declaration=declaration, commitment=commitment, indicator=indicator, value=value))
        # Drawn separately, the QPV residents could exceed the beneficiaries of the same commitment: the
        # declaration services refuse such a line (a declared share over 100 %), so the demo never writes one.
        by_code = {v.indicator.code: v for v in values if v.commitment_id == commitment.pk}
        part, whole = by_code.get("BENEFICIAIRES_QPV"), by_code.get("BENEFICIAIRES")
        if part is not None and whole is not None and part.value > whole.value:
            part.value = whole.value
    if not values and pairs and pairs[0][1]:
        commitment, indicators = pairs[0]
        values.append(
            DeclarationValue(declaration=declaration, commitment=commitment, indicator=indicators[0], value=rng.randint(1, 12))
        )
    return values


def fill(campaign, users):
    rng = random.Random(2018)
    declarations = list(
        campaign.declarations.select_related("convention__departement", "company").order_by(
            "convention__reference", "company__siren"
        )
    )
    values, changed = [], []
    for declaration in declarations:
        status = draw_status(rng)
        rows = declared_values(rng, declaration) if status else []
        if not rows:
            continue
        values += rows
        dep = declaration.convention.departement.code if declaration.convention.departement_id else None
        company_user = users.get(COMPANY_ACCOUNTS.get(declaration.company.name))
        validator = users.get(VALIDATORS.get(dep))
        declaration.updated_by = company_user
        declaration.version = 2
        if status != Declaration.Status.DRAFT:
            submitted_on = day_between(rng, OPENS_ON + datetime.timedelta(days=5), CLOSES_ON - datetime.timedelta(days=10))
            declaration.status = status
            declaration.submitted_at = at(submitted_on, rng.randint(8, 18))
            declaration.submitted_by = company_user
            declaration.version = 3
            decided_at = at(day_between(rng, submitted_on + datetime.timedelta(days=1), CLOSES_ON), rng.randint(8, 18))
            if status == Declaration.Status.VALIDATED:
                declaration.validated_at, declaration.validated_by = decided_at, validator
                declaration.version = 4
            elif status == Declaration.Status.RETURNED:
                declaration.returned_at, declaration.returned_by = decided_at, validator
                declaration.return_comment = rng.choice(RETURN_COMMENTS)
                declaration.version = 4
        changed.append(declaration)
    DeclarationValue.objects.bulk_create(values)
    Declaration.objects.bulk_update(
        changed,
        [
            "status", "submitted_at", "submitted_by", "validated_at", "validated_by",
            "returned_at", "returned_by", "return_comment", "updated_by", "version",
        ],
    )  # fmt: skip


def counts(campaign):
    declarations = campaign.declarations.all()
    result = {"total": declarations.count(), "values": DeclarationValue.objects.filter(declaration__campaign=campaign).count()}
    for status in Declaration.Status.values:
        result[status] = declarations.filter(status=status).count()
    result["missing"] = declarations.filter(status=Declaration.Status.DRAFT, values__isnull=True).count()
    return result


@transaction.atomic
def seed_campaign():
    """Create (once) the 2017 national campaign of the demo and fill it (once); returns a CampaignReport."""
    anct = Organisation.objects.get(kind=OrganisationKind.NATIONAL, name=ANCT_NAME)
    users = {user.email: user for user in User.objects.filter(email__in=[*VALIDATORS.values(), *COMPANY_ACCOUNTS.values()])}
    national = User.objects.filter(email="national@demo.charte.fr").first()
    campaign, created = Campaign.objects.get_or_create(
        organisation=anct,
        year=YEAR,
        defaults={
            "title": f"Campagne nationale {YEAR}",
            "opens_on": OPENS_ON,
            "reminder_on": REMINDER_ON,
            "closes_on": CLOSES_ON,
            "created_by": national,
        },
    )
    report = CampaignReport(title=campaign.title, created=created)
    if not DeclarationValue.objects.filter(declaration__campaign=campaign).exists():
        # Declarations only for a campaign never filled: a second run must change nothing.
        sync_expected_declarations(campaign, by=national)
        fill(campaign, users)
        report.filled = True
    report.counts = counts(campaign)
    return report
