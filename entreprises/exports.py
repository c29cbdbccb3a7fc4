"""The CSV export of the companies list: one row per establishment, in the columns the import reads
(entreprises.table). Streamed by the list view, written to a file by an export job (evaluation.exports)."""

from django.db.models import Prefetch

from charte.web import EXPORT_CHUNK_SIZE, CsvExport

from . import table
from .filters import CompanyFilter, with_list_figures
from .models import ClubMembership, Company, Establishment


def current_memberships():
    return Prefetch(
        "club_memberships",
        queryset=ClubMembership.objects.current().select_related("club").order_by("club__name"),
        to_attr="current_memberships",
    )


def filtered_companies(scope, data):
    """(filterset, companies): the companies of `scope` that the list's filters (`data`) keep, with their figures."""
    filterset = CompanyFilter(data or None, queryset=Company.objects.visible_to(scope), scope=scope)
    companies = (
        with_list_figures(filterset.qs, scope)
        .select_related("commune__departement")
        .prefetch_related(current_memberships())
        .order_by("name", "pk")
    )
    return filterset, companies


def company_rows(companies):
    for company in companies.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        yield from table.export_rows(company)


def company_export(scope, data):
    _, companies = filtered_companies(scope, data)
    companies = companies.prefetch_related(
        Prefetch(
            "establishments",
            queryset=Establishment.objects.select_related("commune").order_by("siret"),
            to_attr="listed_establishments",
        )
    )
    return CsvExport("entreprises", table.COLUMNS, companies, company_rows)
