"""The companies spreadsheet: one column list for the export (`views.company_export`) and the import
(`conventions.imports.companies`), so that a file exported, edited and imported back means the same thing.

Shape: one row per establishment, the company's columns repeated on each of its rows; a company without any
establishment has one row whose establishment columns are empty. The stable references are the SIREN (the
company) and the SIRET (the establishment): re-importing an export finds every row again and changes nothing.
"Clubs" lists the clubs the company is a member of today, by name, separated by commas.

Communes are written twice: their INSEE code (read by the import) and their name (for the reader, not read).
`INFORMATIVE` columns are written by the export and ignored by the import.
"""

SIREN = "SIREN"
SIRET = "SIRET"
NAME = "Raison sociale"
CLUBS = "Clubs"
COMMUNE_CODE = "Code commune"
ESTABLISHMENT_COMMUNE_CODE = "Code commune de l'établissement"
HEAD_OFFICE = "Siège"

COLUMNS = [
    SIREN,
    NAME,
    "Forme juridique",
    "Taille",
    "Code NAF",
    "Adresse",
    "Code postal",
    COMMUNE_CODE,
    "Commune",
    "Département",
    CLUBS,
    SIRET,
    "Établissement",
    "Adresse de l'établissement",
    ESTABLISHMENT_COMMUNE_CODE,
    "Commune de l'établissement",
    HEAD_OFFICE,
    "Nombre de conventions",
    "Convention en vigueur",
]
REQUIRED = [SIREN, NAME]
INFORMATIVE = {"Commune", "Département", "Commune de l'établissement", "Nombre de conventions", "Convention en vigueur"}


def export_rows(company):
    """The rows of one company: its cells, then one set of establishment cells per establishment (or none).
    `company` comes with `current_memberships` and `listed_establishments` prefetched (views._filtered_companies),
    and the list figures `convention_count` / `has_active_convention`."""
    commune = company.commune
    head = [
        company.siren,
        company.name,
        company.legal_form,
        company.get_size_display() if company.size else "",
        company.naf_code,
        company.address,
        company.postcode,
        commune.code if commune else "",
        commune.name if commune else "",
        commune.departement.code if commune else "",
        ", ".join(m.club.name for m in company.current_memberships),
    ]
    tail = [company.convention_count, "oui" if company.has_active_convention else "non"]
    establishments = company.listed_establishments
    if not establishments:
        yield [*head, "", "", "", "", "", "", *tail]
    for establishment in establishments:
        place = establishment.commune
        yield [
            *head,
            establishment.siret,
            establishment.name,
            establishment.address,
            place.code if place else "",
            place.name if place else "",
            "oui" if establishment.is_head_office else "non",
            *tail,
        ]
