"""Page-number pagination: `?page=2&page_size=100`. A page size above the maximum is capped, not refused.

Lists of millions of rows (actions, published results at national scale) are counted exactly up to
`settings.LIST_EXACT_COUNT_LIMIT` rows, then PostgreSQL's estimate is given with `total_estime: true`
(`charte.pagination.LargeListPaginator`): counting 1.1 M published results took 0.5 to 1 s per call on the national
benchmark, more than the page itself. With an estimate, the next page's link depends on the rows really there (one
more row is read), never on the estimate: a client that follows `suivante` gets every row, whatever the estimate.
"""

import binascii
import re
from base64 import b64decode, b64encode
from urllib import parse

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from rest_framework import exceptions
from rest_framework.pagination import Cursor, CursorPagination, PageNumberPagination
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
                    f"La page {number} n'existe pas : cette liste compte {paginator.num_pages} page(s) de {page_size} élément(s)."
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


class KeysetPagination(CursorPagination):
    """`?curseur=`: pages read after the last row of the previous one (keyset), in the list's index order.

    An OFFSET makes the database walk every row before the page: the 2,000th page of the national actions took
    1.9 s. Here each page starts from the (date, id) of the row before it through the index, so page 2,000 costs
    what page 1 does. DRF's own cursor keeps only the first ordering field in the cursor and counts the rows tied on
    it with an OFFSET capped at 1,000: thousands of actions share a start date, so the full key is kept instead
    (descending on every field, ties impossible because the id ends it). No total is counted in this mode.
    """

    cursor_query_param = "curseur"
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    invalid_cursor_message = "Curseur invalide : suivez les liens « suivante » et « precedente » de la réponse."
    # The fields of the index the pages walk, all descending; the last one is unique.
    keyset = ("start_date", "id")

    def __init__(self, keyset=None):
        if keyset:
            self.keyset = keyset
        self.ordering = tuple(f"-{name}" for name in self.keyset)

    def get_page_size(self, request):
        return Pagination().get_page_size(request)

    def decode_cursor(self, request):
        encoded = request.query_params.get(self.cursor_query_param, "").strip()
        if not encoded:
            return None  # `?curseur=` alone: the first page
        try:
            tokens = parse.parse_qs(b64decode(encoded.encode("ascii"), validate=True).decode("ascii"), strict_parsing=True)
            reverse = tokens.get("r", ["0"])[0] == "1"
            raw = tokens["p"][0].split("|")
            if len(raw) != len(self.keyset):
                raise ValueError
            position = tuple(self._field(name).to_python(value) for name, value in zip(self.keyset, raw, strict=True))
        except (ValueError, KeyError, TypeError, DjangoValidationError, binascii.Error, UnicodeError):
            # A 404 as DRF's own cursor answers: a position that no longer leads anywhere, not a malformed request
            # (any string is a valid `curseur` for the schema).
            raise exceptions.NotFound(self.invalid_cursor_message) from None
        return Cursor(offset=0, reverse=reverse, position=position)

    def _field(self, name):
        return self.model._meta.get_field(name)

    def _after(self, position, reverse):
        """Rows strictly after `position` in the walked order (strictly before it when going back)."""
        strictly, or_equal = ("gt", "gte") if reverse else ("lt", "lte")
        # `a <= x AND (a < x OR (b = y AND c < z) ...)`: the first condition is a range on the index's leading
        # column, which PostgreSQL walks in order and stops at the page's end.
        condition = Q()
        for depth in range(len(self.keyset) - 1, -1, -1):
            name = self.keyset[depth]
            equal_before = Q(**{self.keyset[i]: position[i] for i in range(depth)})
            condition |= equal_before & Q(**{f"{name}__{strictly}": position[depth]})
        return Q(**{f"{self.keyset[0]}__{or_equal}": position[0]}) & condition

    def paginate_queryset(self, queryset, request, view=None):
        self.model = queryset.model
        self.request = request
        self.base_url = request.build_absolute_uri()
        self.page_size = self.get_page_size(request)
        self.cursor = self.decode_cursor(request)
        reverse = bool(self.cursor and self.cursor.reverse)
        if self.cursor:
            queryset = queryset.filter(self._after(self.cursor.position, reverse))
        order = [name if reverse else f"-{name}" for name in self.keyset]
        rows = list(queryset.order_by(*order)[: self.page_size + 1])
        more = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if reverse:
            rows.reverse()
        self.page = rows
        # Going forward, a next page exists when one more row was read, and a previous one when we came from a
        # cursor; going back, the other way round.
        self.has_next = more if not reverse else True
        self.has_previous = bool(self.cursor) if not reverse else more
        return rows

    def _position(self, row):
        return "|".join(str(getattr(row, name)) for name in self.keyset)

    def _link(self, row, reverse):
        tokens = {"p": self._position(row)}
        if reverse:
            tokens["r"] = "1"
        encoded = b64encode(parse.urlencode(tokens).encode("ascii")).decode("ascii")
        return replace_query_param(self.base_url, self.cursor_query_param, encoded)

    def get_next_link(self):
        if not (self.has_next and self.page):
            return None
        return self._link(self.page[-1], reverse=False)

    def get_previous_link(self):
        if not self.has_previous:
            return None
        if not self.page:
            # Came back past the first row (rows deleted meanwhile): the first page.
            return replace_query_param(self.base_url, self.cursor_query_param, "")
        return self._link(self.page[0], reverse=True)

    def get_paginated_response(self, data):
        return Response({"suivante": self.get_next_link(), "precedente": self.get_previous_link(), "resultats": data})


class PageOrKeysetPagination(Pagination):
    """Page numbers as everywhere (`?page=`), or the keyset pages of `KeysetPagination` when the request carries
    `curseur` (empty for the first page): the large lists (actions, results) offer both, so existing clients keep
    their page numbers and a client reading everything follows `suivante` from `?curseur=` at a constant cost."""

    keyset = KeysetPagination.keyset

    def __init__(self):
        self.keyset_pagination = KeysetPagination(self.keyset)
        self.by_cursor = False

    def paginate_queryset(self, queryset, request, view=None):
        cursor_param = self.keyset_pagination.cursor_query_param
        self.by_cursor = cursor_param in request.query_params
        if not self.by_cursor:
            return super().paginate_queryset(queryset, request, view)
        # With `curseur`, `page` and `ordering` are ignored (the schema cannot say that they exclude each other,
        # so a request carrying both is valid and is answered): the cursor follows the list's index order.
        return self.keyset_pagination.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        if self.by_cursor:
            return self.keyset_pagination.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["suivante", "precedente", "resultats"]
        for name in ("total", "total_estime", "pages"):
            response["properties"][name]["description"] += " Absent avec « curseur »."
        return response

    def get_schema_operation_parameters(self, view):
        order = ", ".join(f"{name} décroissant" for name in self.keyset)
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.keyset_pagination.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Pagination par curseur, pour parcourir une longue liste à coût constant par page : "
                "`curseur=` (vide) donne la première page, puis suivez `suivante` (ou `precedente`), qui porte le "
                f"curseur suivant. Ordre fixe ({order}) : avec le curseur, `page` et `ordering` sont ignorés et il n'y a "
                "pas de total ; un curseur inconnu répond 404.",
                "schema": {"type": "string"},
            },
        ]
