"""Open data: the département x family aggregates of the published national runs, for anyone (no login), in
CSV and JSON, with statistical secrecy applied.
"""

from charte.territoires.models import Departement

from ..models import AnnualResult, EvaluationRun, ScopeType

# Statistical secrecy: a count below this threshold could point at one company or one person; it is blanked,
# together with the share computed from it.
OPEN_DATA_THRESHOLD = 5
OPEN_DATA_COLUMNS = [
    ("annee", "Année évaluée"),
    ("departement_code", "Code du département"),
    ("departement_nom", "Nom du département"),
    ("famille_code", "Code de la famille d'actions"),
    ("famille", "Libellé de la famille d'actions"),
    ("actions", "Nombre d'actions de l'année dans le département"),
    ("beneficiaires", "Nombre de bénéficiaires de ces actions"),
    ("beneficiaires_qpv", "Dont bénéficiaires résidant en quartier prioritaire (QPV)"),
    ("part_beneficiaires_qpv", "Part des bénéficiaires résidant en QPV (fraction de 0 à 1, rapport des sommes)"),
    ("entreprises_attendues", "Entreprises attendues à la campagne de déclaration"),
    ("entreprises_ayant_declare", "Entreprises ayant transmis leur déclaration"),
]
SECRET_COUNTS = ("actions", "beneficiaires", "beneficiaires_qpv", "entreprises_attendues", "entreprises_ayant_declare")


def _national_runs():
    return EvaluationRun.objects.published().filter(scope_type=ScopeType.NATIONAL)


def open_data_years():
    return list(_national_runs().order_by("-year").values_list("year", flat=True).distinct())


def open_data_year(value):
    years = open_data_years()
    if value and str(value).isdigit() and int(value) in years:
        return int(value)
    return years[0] if years else None


def _secret(value):
    return None if value is None or value < OPEN_DATA_THRESHOLD else value


def open_data_rows(year):
    """Département x family aggregates of the published national run of the year, counts below 5 blanked."""
    run = _national_runs().filter(year=year).first() if year else None
    if run is None:
        return []
    results = (
        AnnualResult.objects.filter(run=run, scope_type=ScopeType.DEPARTEMENT, family__isnull=False, indicator__isnull=True)
        .select_related("family")
        .order_by("scope_key", "family__position", "family__code")
    )
    names = dict(Departement.objects.values_list("code", "name"))
    rows = []
    for result in results:
        row = {
            "annee": year,
            "departement_code": result.scope_key,
            "departement_nom": names.get(result.scope_key, ""),
            "famille_code": result.family.code,
            "famille": result.family.label,
            "actions": _secret(result.actions_count),
            "beneficiaires": _secret(result.beneficiaries),
            "beneficiaires_qpv": _secret(result.beneficiaries_qpv),
            "part_beneficiaires_qpv": None,
            "entreprises_attendues": _secret(result.companies_expected),
            "entreprises_ayant_declare": _secret(result.companies_reporting),
        }
        # The share would give the hidden count back from the total: published only when both are.
        if row["beneficiaires"] is not None and row["beneficiaires_qpv"] is not None and result.qpv_share is not None:
            row["part_beneficiaires_qpv"] = round(result.qpv_share, 4)
        rows.append(row)
    return rows
