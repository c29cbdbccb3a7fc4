"""What a company has realised against its convention targets, computed from its logged actions.

Only indicators that logged actions can measure are computed here; the others (places offered, euros,
hires in CDI six months later...) come from the company's annual declarations, not from actions.

Mapping, per indicator code, to what is summed over the company's actions of the commitment's action type
(or of every action type of its family, for a commitment made for a whole family) started that year:
"""

from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import ExtractYear

BENEFICIARIES = "beneficiaries_total"
BENEFICIARIES_QPV = "beneficiaries_qpv"
HOURS = "hours"
EMPLOYEES = "employees_involved"
ACTIONS = "actions"

REALISED_FROM_ACTIONS = {
    "BENEFICIAIRES": BENEFICIARIES,
    "BENEFICIAIRES_QPV": BENEFICIARIES_QPV,
    "HEURES_MECENAT": HOURS,
    "SALARIES_MOBILISES": EMPLOYEES,
    # Each intervention in a school is logged as one action.
    "INTERVENTIONS_CLASSE": ACTIONS,
    # The people an action of the matching type reached are its beneficiaries.
    "STAGE3_ACCUEILLIS": BENEFICIARIES,
    "ELEVES_SENSIBILISES": BENEFICIARIES,
    "JEUNES_PARRAINES": BENEFICIARIES,
    "ALTERNANTS_RECRUTES": BENEFICIARIES,
    "EMBAUCHES": BENEFICIARIES,
    "PERSONNES_COACHEES": BENEFICIARIES,
    "SERVICES_CIVIQUES": BENEFICIARIES,
    "STAGIAIRES_INSERTION": BENEFICIARIES,
    "PORTEURS_ACCOMPAGNES": BENEFICIARIES,
}


def measure_for(indicator_code):
    """The action count an indicator is realised by, or None when only a declaration can tell."""
    return REALISED_FROM_ACTIONS.get(indicator_code)


def realised_by_target(targets, actions):
    """{target pk: realised value (Decimal) or None} for these targets, from these actions.

    `actions` is the company's actions the reader may see (already scoped and filtered to the company);
    an action carried out with several companies counts fully for each of them, as nothing says how to
    split it. One aggregate query, grouped by action type and year, whatever the number of targets.
    """
    targets = list(targets)
    measured = [t for t in targets if measure_for(t.indicator.code)]
    if not measured:
        return {t.pk: None for t in targets}
    years = {t.year for t in measured}
    rows = (
        actions.filter(start_date__year__in=years)
        .annotate(year=ExtractYear("start_date"))
        .values("action_type_id", "action_type__family_id", "year")
        .annotate(
            **{
                BENEFICIARIES: Sum(BENEFICIARIES),
                BENEFICIARIES_QPV: Sum(BENEFICIARIES_QPV),
                HOURS: Sum(HOURS),
                EMPLOYEES: Sum(EMPLOYEES),
                ACTIONS: Count("pk", distinct=True),
            }
        )
        .order_by()
    )
    by_type, by_family = {}, {}
    for row in rows:
        for key, bucket in (
            ((row["action_type_id"], row["year"]), by_type),
            ((row["action_type__family_id"], row["year"]), by_family),
        ):
            totals = bucket.setdefault(key, {})
            for measure in (BENEFICIARIES, BENEFICIARIES_QPV, HOURS, EMPLOYEES, ACTIONS):
                totals[measure] = totals.get(measure, Decimal(0)) + Decimal(row[measure] or 0)

    result = {}
    for target in targets:
        measure = measure_for(target.indicator.code)
        if measure is None:
            result[target.pk] = None
            continue
        commitment = target.commitment
        if commitment.action_type_id:
            totals = by_type.get((commitment.action_type_id, target.year), {})
        else:
            totals = by_family.get((commitment.family_id, target.year), {})
        result[target.pk] = totals.get(measure, Decimal(0))
    return result
