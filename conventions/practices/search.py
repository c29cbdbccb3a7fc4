"""French full-text search of the practice sheets (issue 15, "trouver les fiches"). Method, in the README
("Bonnes pratiques : catalogue et recherche"):

- PostgreSQL: each sheet keeps a weighted `tsvector` (title A; the problem and what was done B; the rest C) in
  the `french_unaccent` text search configuration (the French Snowball stemmer after `unaccent`, created by
  migration 0002), GIN-indexed, rewritten whenever the sheet is saved. The words typed are stemmed by the same
  configuration, then each stem matches the words of the sheets that begin with it ("inser" finds "insert") and
  the words that are themselves a beginning of it, of at least MIN_SHARED letters ("insert" finds "inser"): the
  French Snowball stems "insertion" as "insert" and "insérés" as "inser", so a prefix search one way only would
  find "insertion" from "insérés" and not the other way round. Results are ranked by `ts_rank`.
- SQLite (development, the browser tests): the same rule on a plain text column holding the sheet's words folded
  (lower case, no accents) and cut by a light French stemmer (`light_stem`), unranked (newest first).

Contact names and e-mails are never indexed: a public search must not find a sheet by a person's name.
"""

import re
import unicodedata

from django.db import connection
from django.db.models import F, Q

TS_CONFIG = "french_unaccent"
MIN_SHARED = 4  # a stem shorter than the one typed matches only when they share at least this many letters

WEIGHTS = {
    "A": ("title",),
    "B": ("problem", "what_was_done"),
    "C": ("actors", "partners", "means", "results_text", "success_factors", "difficulties", "how_to_reproduce"),
}
SEARCHED_FIELDS = tuple(name for names in WEIGHTS.values() for name in names)

# Words too common to tell sheets apart (SQLite only: PostgreSQL's French configuration has its own list).
STOP_WORDS = frozenset(
    "a au aux avec ce ces cet cette d dans de des du elle en et il ils je l la le les leur leurs lui ma mais me "
    "mes mon n ne nos notre nous on ou par pas pour qu que qui s sa se ses son sur ta te tes toi ton tu un une "
    "vos votre vous y est sont ete".split()
)
# Longest first: the first ending found is cut, when at least four letters remain.
SUFFIXES = (
    "issements", "issement", "atrices", "ateurs", "ations", "ements", "atrice", "ateur", "ation", "ement",
    "ments", "tions", "ances", "ences", "ables", "ibles", "euses", "ismes", "istes", "ment", "tion", "sion",
    "ance", "ence", "able", "ible", "euse", "isme", "iste", "eurs", "ions", "ites", "ees", "ies", "ion", "eur",
    "ite", "ee", "es", "er", "ez", "ir", "e",
)  # fmt: skip


def fold(text):
    """Lower case without accents: "Insérés" -> "inseres"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(char for char in decomposed if not unicodedata.combining(char)).lower()


def words(text):
    return re.findall(r"[a-z0-9]+", fold(text))


def light_stem(word):
    """A light French stemmer (plural, then one derivational or inflectional ending), enough for a search by
    word family: "insertion", "insérés", "insérer" -> "inser"."""
    if len(word) > 4 and word[-1] in "sx":
        word = word[:-1]
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def stems(text):
    return [light_stem(word) for word in words(text) if word not in STOP_WORDS and len(word) > 1]


def shorter_stems(stem):
    """The beginnings of a stem that may be the stem of a word of the same family."""
    return [stem[:length] for length in range(MIN_SHARED, len(stem))]


def is_postgresql():
    return connection.vendor == "postgresql"


# --- keeping the index up to date ------------------------------------------------------------------------


def _vector():
    from django.contrib.postgres.search import SearchVector

    vector = None
    for weight, names in WEIGHTS.items():
        part = SearchVector(*names, weight=weight, config=TS_CONFIG)
        vector = part if vector is None else vector + part
    return vector


def index_sheets(model, pks):
    """Rewrite the search columns of these sheets (`model`: PracticeSheet, or its historical version in a
    migration). Called by PracticeSheet.save()."""
    rows = model.objects.filter(pk__in=pks).values("pk", *SEARCHED_FIELDS)
    for row in rows:
        text = " ".join(row[name] or "" for name in SEARCHED_FIELDS)
        model.objects.filter(pk=row["pk"]).update(search_text=f" {' '.join(stems(text))} ")
    if is_postgresql():
        model.objects.filter(pk__in=pks).update(search_vector=_vector())


# --- searching -------------------------------------------------------------------------------------------


def _postgresql_stems(text):
    with connection.cursor() as cursor:
        cursor.execute("SELECT tsvector_to_array(to_tsvector(%s::regconfig, %s))", [TS_CONFIG, text])
        lexemes = cursor.fetchone()[0] or []
    return [lexeme for lexeme in lexemes if re.fullmatch(r"[a-z0-9]+", lexeme)]


def _tsquery(query_stems):
    terms = []
    for stem in query_stems:
        options = [f"'{stem}':*", *(f"'{short}'" for short in shorter_stems(stem))]
        terms.append("(" + " | ".join(options) + ")")
    return " & ".join(terms)


def search(queryset, text):
    """The sheets of `queryset` whose words match every word typed (see the module's docstring), best first on
    PostgreSQL. Nothing to search for (empty, or only common words): no sheet."""
    if is_postgresql():
        from django.contrib.postgres.search import SearchQuery, SearchRank

        query_stems = _postgresql_stems(text)
        if not query_stems:
            return queryset.none()
        # The stems are already those of the French configuration: "simple" only reads them, never stems again.
        query = SearchQuery(_tsquery(query_stems), config="simple", search_type="raw")
        return (
            queryset.filter(search_vector=query)
            .annotate(search_rank=SearchRank(F("search_vector"), query))
            .order_by("-search_rank", "-published_at", "-pk")
        )
    query_stems = stems(text)
    if not query_stems:
        return queryset.none()
    for stem in query_stems:
        matches = Q(search_text__contains=f" {stem}")
        for short in shorter_stems(stem):
            matches |= Q(search_text__contains=f" {short} ")
        queryset = queryset.filter(matches)
    return queryset.order_by("-published_at", "-pk")
