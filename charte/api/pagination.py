"""Page-number pagination: `?page=2&page_size=100`. A page size above the maximum is capped, not refused."""

import re

from django.conf import settings
from django.core.paginator import Paginator
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

MAX_PAGE_SIZE = 200
DIGITS = re.compile(r"[0-9]+")
HUGE = 10**18


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
        paginator = Paginator(queryset, page_size)
        if number > paginator.num_pages:
            raise exceptions.NotFound(
                f"La page {number} n'existe pas : cette liste compte {paginator.num_pages} page(s) de {page_size} élément(s)."
            )
        self.page = paginator.page(number)
        return list(self.page)

    def get_paginated_response(self, data):
        return Response(
            {
                "total": self.page.paginator.count,
                "pages": self.page.paginator.num_pages,
                "suivante": self.get_next_link(),
                "precedente": self.get_previous_link(),
                "resultats": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["total", "pages", "suivante", "precedente", "resultats"],
            "properties": {
                "total": {"type": "integer", "description": "Nombre total d'éléments de la liste filtrée.", "example": 123},
                "pages": {"type": "integer", "description": "Nombre de pages.", "example": 5},
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
