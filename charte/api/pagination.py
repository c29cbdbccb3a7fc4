"""Page-number pagination: `?page=2&page_size=100`. A page size above the maximum is capped, not refused.

Lists of millions of rows (actions, published results at national scale) are counted exactly up to
`settings.LIST_EXACT_COUNT_LIMIT` rows, then PostgreSQL's estimate is given with `total_estime: true`
(`charte.pagination.LargeListPaginator`): counting 1.1 M published results took 0.5 to 1 s per call on the national
benchmark, more than the page itself. With an estimate, the next page's link depends on the rows really there (one
more row is read), never on the estimate: a client that follows `suivante` gets every row, whatever the estimate.
"""

import re

from django.conf import settings
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from charte.pagination import LargeListPaginator

MAX_PAGE_SIZE = 200
DIGITS = re.compile(r"[0-9]+")
HUGE = 10**18
# Beyond this OFFSET PostgreSQL's bigint overflows; no list comes near it.
MAX_OFFSET = 2**62


class Pagination(PageNumberPagination):
    page_size = settings.PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    page_query_param = "page"

    def _positive_int(self, request, name):
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return None
        raw = raw.strip()
        digits = raw.lstrip("0") if DIGITS.fullmatch(raw) else ""
        if not digits:
            raise exceptions.ValidationError({name: ["Un entier supérieur ou égal à 1 est attendu."]})
        # Beyond 18 digits the exact value no longer matters (capped size, page out of range), and Python
        # refuses to convert very long digit strings.
        return int(digits) if len(digits) <= 18 else HUGE

    def get_page_size(self, request):
        size = self._positive_int(request, self.page_size_query_param)
        if size is None:
            return self.page_size
        return min(size, self.max_page_size)

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        page_size = self.get_page_size(request)
        number = self._positive_int(request, self.page_query_param) or 1
        paginator = LargeListPaginator(queryset, page_size)
        paginator.count  # noqa: B018 - counted (or estimated) first: that decides `count_is_estimate`
        self.estimated = paginator.count_is_estimate
        if not self.estimated:
            if number > paginator.num_pages:
                raise exceptions.NotFound(
                    f"La page {number} n'existe pas : cette liste compte {paginator.num_pages} page(s) de {page_size} "
                    "élément(s)."
                )
            self.page = paginator.page(number)
            return list(self.page)
        # Estimated total: the page is read past its end by one row, which says whether a next page exists; a page
        # past the estimate is served while rows are there (the estimate may be low).
        self.page = paginator.page(1)  # for the totals only
        self.number, offset = number, (number - 1) * page_size
        rows = list(queryset[offset : offset + page_size + 1]) if offset < MAX_OFFSET else []
        if not rows and number > 1:
            raise exceptions.NotFound(f"La page {number} n'existe pas : cette liste s'arrête avant.")
        self.has_more = len(rows) > page_size
        return rows[:page_size]

    def get_next_link(self):
        if not self.estimated:
            return super().get_next_link()
        if not self.has_more:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.page_query_param, self.number + 1)

    def get_previous_link(self):
        if not self.estimated:
            return super().get_previous_link()
        if self.number == 1:
            return None
        if self.number == 2:
            return remove_query_param(self.request.build_absolute_uri(), self.page_query_param)
        return replace_query_param(self.request.build_absolute_uri(), self.page_query_param, self.number - 1)

    def get_paginated_response(self, data):
        return Response(
            {
                "total": self.page.paginator.count,
                "total_estime": self.estimated,
                "pages": self.page.paginator.num_pages,
                "suivante": self.get_next_link(),
                "precedente": self.get_previous_link(),
                "resultats": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["total", "total_estime", "pages", "suivante", "precedente", "resultats"],
            "properties": {
                "total": {"type": "integer", "description": "Nombre total d'éléments de la liste filtrée.", "example": 123},
                "total_estime": {
                    "type": "boolean",
                    "description": f"Vrai au-delà de {settings.LIST_EXACT_COUNT_LIMIT} éléments : le total et le nombre de "
                    "pages sont alors une estimation de la base de données ; suivez « suivante » pour tout lire.",
                    "example": False,
                },
                "pages": {"type": "integer", "description": "Nombre de pages (estimé si total_estime).", "example": 5},
                "suivante": {"type": "string", "nullable": True, "format": "uri", "description": "Adresse de la page suivante."},
                "precedente": {
                    "type": "string",
                    "nullable": True,
                    "format": "uri",
                    "description": "Adresse de la page précédente.",
                },
                "resultats": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Numéro de la page (à partir de 1).",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Nombre d'éléments par page (par défaut {self.page_size}, plafonné à {self.max_page_size}).",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]
