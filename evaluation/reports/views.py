"""Reports of the compiled evaluation (issue 5): pages per scope, compile runs started from the portal,
exports (XLSX, CSV, PDF) and the public open data.

A report is addressed by a kind and a key (`departement/34`, `club/12`, `national/france`...). The target is
looked up in the reader's scoped querysets: out of scope is a 404, never a 403.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from charte.comptes import scoping
from charte.comptes.models import Organisation
from charte.territoires.models import QPV, Departement, Region
from charte.web import EXPORT_CHUNK_SIZE, csv_response, streaming_csv_response
from conventions.models import Convention
from entreprises.models import Company

from ..engine import runs
from ..models import EvaluationRun, ScopeType
from . import compare, exports, opendata, reports
from .charts import report_charts

NATIONAL_KEY = "france"
WHOLE_YEAR = "La compilation porte sur toute l'année, pour tous les territoires, afin que les totaux restent cohérents."
KINDS = {
    "national": ScopeType.NATIONAL,
    "region": ScopeType.REGION,
    "departement": ScopeType.DEPARTEMENT,
    "club": ScopeType.CLUB,
    "convention": ScopeType.CONVENTION,
    "entreprise": ScopeType.COMPANY,
}


# The roles whose organisation has a territory, hence read its aggregates (département, région, QPV).
TERRITORY_READERS = (scoping.NATIONAL, scoping.PREFECTURE, scoping.CLUB, scoping.PARTNER)


def _pk(key):
    if not str(key).isdigit():
        raise Http404("Page introuvable.")
    return int(key)


def resolve(scope, kind, key):
    """(scope type, scope key, title) of a report the reader may open, or 404."""
    if kind == "national" and key == NATIONAL_KEY and scope.is_national:
        return ScopeType.NATIONAL, "", "France entière"
    if kind == "region" and scope.kind in TERRITORY_READERS:
        # The roles that read the compiled rows of a région (AnnualResult.visible_to): those of its départements.
        region = get_object_or_404(Region.objects.visible_to(scope), code=key)
        return ScopeType.REGION, region.code, f"Région {region.name}"
    if kind == "departement" and scope.kind in TERRITORY_READERS:
        departement = get_object_or_404(Departement.objects.visible_to(scope), code=key)
        return ScopeType.DEPARTEMENT, departement.code, f"{departement.name} ({departement.code})"
    if kind == "qpv" and scope.kind in TERRITORY_READERS:
        # A partner attached to an EPCI reads its territory through the reports of the EPCI's QPV.
        qpv = get_object_or_404(QPV.objects.visible_to(scope), code=str(key).upper())
        return ScopeType.QPV, qpv.code, f"{qpv.name} ({qpv.code})"
    if kind == "club" and scope.kind in (scoping.NATIONAL, scoping.PREFECTURE, scoping.CLUB):
        club = get_object_or_404(Organisation.objects.clubs_visible_to(scope), pk=_pk(key))
        return ScopeType.CLUB, str(club.pk), club.name
    if kind == "convention":
        convention = get_object_or_404(Convention.objects.visible_to(scope), pk=_pk(key))
        return ScopeType.CONVENTION, str(convention.pk), f"Convention {convention.reference}"
    if kind == "entreprise":
        company = get_object_or_404(Company.objects.visible_to(scope), pk=_pk(key))
        return ScopeType.COMPANY, str(company.pk), company.name
    raise Http404("Page introuvable.")


def _year(request):
    value = request.GET.get("annee") or request.POST.get("annee") or ""
    if value.isdigit() and 2000 <= int(value) <= 2100:
        return int(value)
    return reports.default_year()


def _report(request, kind, key, comparison=False):
    scope_type, scope_key, title = resolve(request.scope, kind, key)
    report = reports.build(request.scope, scope_type, scope_key, _year(request), title)
    if comparison:
        # A département beside the others: its report was resolved in the reader's scope above; the group
        # statistics are anonymous, built from publishable values only (methodology §14).
        report.comparison = compare.build(report)
    return report


def index(request):
    scope = request.scope
    if scope.kind is None:
        raise Http404("Page introuvable.")
    departements = regions = []
    if scope.kind in TERRITORY_READERS:
        departements = Departement.objects.visible_to(scope).order_by("code")
        regions = Region.objects.visible_to(scope).order_by("name")
    clubs = (
        Organisation.objects.clubs_visible_to(scope).order_by("name")
        if scope.kind in (scoping.NATIONAL, scoping.PREFECTURE, scoping.CLUB)
        else []
    )
    company = Company.objects.visible_to(scope).first() if scope.is_company else None
    qpvs = QPV.objects.visible_to(scope).order_by("-generation", "code") if scope.below_departement else []
    return render(
        request,
        "rapports/index.html",
        {
            "regions": regions,
            "departements": departements,
            "qpvs": qpvs,
            "clubs": clubs,
            "company": company,
            "year": _year(request),
            "national_key": NATIONAL_KEY,
        },
    )


def report(request, kind, key):
    report = _report(request, kind, key, comparison=True)
    return render(
        request,
        "rapports/report.html",
        {"report": report, "charts": report_charts(report) if report.has_figures else [], "kind": kind, "key": key},
    )


def progress(request, kind, key):
    """The compile's progress as JSON, polled by the report page (static/js/report-progress.js) instead of
    reloading it. Resolved like the report: out of scope is a 404."""
    resolve(request.scope, kind, key)
    year = _year(request)
    run_id = request.GET.get("run")
    run = reports.run_progress(request.scope, year, int(run_id) if run_id and run_id.isdigit() else None)
    report_url = reverse("rapports:report", args=[kind, key]) + f"?annee={year}"
    if run is None:
        return JsonResponse({"run": None, "status": None, "finished": True, "percent": None, "report_url": report_url})
    return JsonResponse(
        {
            "run": run.pk,
            "status": run.status,
            "label": reports.run_state_label(run),
            "percent": run.percent,
            "units_done": run.units_done,
            "units_total": run.units_total,
            "finished": run.is_finished,
            "succeeded": run.status == EvaluationRun.Status.SUCCEEDED,
            "report_url": report_url,
        }
    )


@require_POST
def start(request, kind, key):
    scope_type, scope_key, title = resolve(request.scope, kind, key)
    year = _year(request)
    if not reports.can_start_run(request.scope, scope_type, scope_key):
        return render(
            request,
            "rapports/forbidden.html",
            {"message": "Votre organisation ne peut pas lancer la compilation de ce périmètre.", "kind": kind, "key": key},
            status=403,
        )
    try:
        run = runs.start_run(year, scope_type, scope_key, requested_by=request.user, trigger=EvaluationRun.Trigger.PORTAL)
        # Without a broker the tasks ran in this request (eager Celery, on commit): the run may be over already.
        run.refresh_from_db()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except runs.BrokerError:  # the run is already marked failed, with the technical reason, for the support
        messages.error(
            request,
            "La compilation n'a pas pu être lancée : le service de calcul est injoignable. Réessayez dans quelques minutes.",
        )
    else:
        # Whatever report the button is on, the whole year is compiled: say so, the préfet asked for one territory.
        if run.status == EvaluationRun.Status.SUCCEEDED:
            messages.success(request, f"Compilation {year} terminée : les chiffres ci-dessous sont à jour. {WHOLE_YEAR}")
        elif run.status == EvaluationRun.Status.FAILED:
            messages.error(
                request, f"La compilation {year} a échoué : les chiffres publiés restent ceux de la compilation précédente."
            )
        else:
            messages.success(
                request, f"Compilation {year} demandée depuis « {title} » : son avancement s'affiche ci-dessous. {WHOLE_YEAR}"
            )
    return redirect(reverse("rapports:report", args=[kind, key]) + f"?annee={year}")


def export_xlsx(request, kind, key):
    report = _report(request, kind, key, comparison=True)
    return exports.xlsx_response(report, request)


def export_csv(request, kind, key):
    report = _report(request, kind, key)
    return exports.csv_response(report)


def export_pdf(request, kind, key):
    report = _report(request, kind, key, comparison=True)
    return exports.pdf_response(report, request)


MISSING_HEADER = ["Entreprise", "SIREN", "Convention", "Statut"]


def export_missing_csv(request, kind, key):
    """Every company of the report's scope that has not declared, streamed (the page and the PDF show the first
    50): resolved like the report, so out of scope answers 404."""
    scope_type, scope_key, _title = resolve(request.scope, kind, key)
    year = _year(request)
    declarations = reports.missing_declarations(request.scope, scope_type, scope_key, year)
    rows = (
        [d.company.name, d.company.siren, d.convention.reference, d.get_status_display()]
        for d in declarations.iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )
    return streaming_csv_response(f"non-declarants-{kind}-{scope_key or key}-{year}", MISSING_HEADER, rows)


@login_not_required
def open_data(request):
    year = opendata.open_data_year(request.GET.get("annee"))
    return render(
        request,
        "rapports/open_data.html",
        {
            "columns": opendata.OPEN_DATA_COLUMNS,
            "threshold": opendata.OPEN_DATA_THRESHOLD,
            "years": opendata.open_data_years(),
            "data": opendata.open_data(year),
            "secrecy_url": opendata.SECRECY_URL,
            # Signed in, the page sits under « Évaluation » (rapports/includes/breadcrumb.html); public, under the home.
            "public_breadcrumb": {"links": [], "current": "Données ouvertes"},
        },
    )


@login_not_required
def open_data_csv(request):
    year = opendata.open_data_year(request.GET.get("annee"))
    rows = opendata.open_data_rows(year)
    return csv_response(
        f"charte-entreprises-quartiers-{year}-departements-familles",
        [name for name, _ in opendata.OPEN_DATA_COLUMNS],
        ([row[name] for name, _ in opendata.OPEN_DATA_COLUMNS] for row in rows),
    )


@login_not_required
def open_data_json(request):
    year = opendata.open_data_year(request.GET.get("annee"))
    data = opendata.open_data(year)
    return JsonResponse(
        {
            "annee": year,
            "seuil_secret_statistique": opendata.OPEN_DATA_THRESHOLD,
            "secret_statistique": {
                "regle": (
                    "Cellule à null : chiffre masqué par le secret statistique (effectif de 1 à 4, complément de 1 à 4, "
                    "ou masquage secondaire pour qu'aucun total publié ne le redonne)."
                ),
                "methodologie": request.build_absolute_uri(opendata.SECRECY_URL),
                "cellules_masquees": data.hidden if data else {},
            },
            "compilation_terminee_le": data.run.finished_at.isoformat() if data and data.run.finished_at else None,
            "lignes": data.rows if data else [],
        },
        json_dumps_params={"ensure_ascii": False},
    )
