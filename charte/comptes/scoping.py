"""Who acts: the kind and organisation of the current membership (or API key), and its territory.

Which rows a scope sees is decided by each model's queryset, `Model.objects.visible_to(scope)` (issue 10), and
every view, form choice list, export, admin list and API endpoint asks it. The rules (DESIGN.md):

| kind       | sees                                                                              |
|------------|-----------------------------------------------------------------------------------|
| national   | everything                                                                        |
| prefecture | all data whose territory is in its départements (national conventions: see below)  |
| club       | its member companies, the conventions and actions it animates                     |
| company    | its own company, its conventions and the actions it took part in                  |
| partner    | the aggregates of its territory (départements and QPV pages), no company-level row |

A partner attached to an EPCI or to communes (a métropole, an agglomération, a town) sees that territory
only: its scope carries `epci_ids` / `commune_ids` and no département, so that every département-wide row
(département pages, département and région aggregates) is refused rather than shown for a wider area.

This module reaches no model of a higher app (entreprises, conventions, evaluation), not even through
`apps.get_model`: tests/comptes/test_scope_layering.py checks it.
"""

from dataclasses import dataclass, field, replace

from .models import Membership, OrganisationKind

NATIONAL = OrganisationKind.NATIONAL
PREFECTURE = OrganisationKind.PREFECTURE
CLUB = OrganisationKind.CLUB
COMPANY = OrganisationKind.COMPANY
PARTNER = OrganisationKind.PARTNER


@dataclass(frozen=True)
class Scope:
    """Who is acting: the kind and organisation of the current membership, and its territory."""

    kind: str | None = None
    organisation_id: int | None = None
    departement_ids: frozenset = field(default_factory=frozenset)
    # A partner attached below the département: the EPCI and communes it covers (empty for everybody else).
    epci_ids: frozenset = field(default_factory=frozenset)
    commune_ids: frozenset = field(default_factory=frozenset)
    company_id: int | None = None
    membership_id: int | None = None
    is_org_admin: bool = False

    @classmethod
    def none(cls):
        return cls()

    @classmethod
    def for_membership(cls, membership):
        if membership is None or not membership.is_active:
            return cls.none()
        scope = cls.for_organisation(membership.organisation)
        if scope.kind is None:
            return scope
        return replace(scope, membership_id=membership.pk, is_org_admin=membership.role == Membership.Role.ADMIN)

    @classmethod
    def for_organisation(cls, organisation):
        """The scope of an organisation acting without a person (an API key): the same rows as its members."""
        if organisation is None or not organisation.is_active:
            return cls.none()
        company_id = None
        if organisation.kind == COMPANY:
            # The company an organisation is the account of, through the relation the company declares on it
            # (related_name "company"): this module imports no model of a higher app.
            company_id = (
                type(organisation)
                .objects.filter(pk=organisation.pk, company__isnull=False)
                .values_list("company", flat=True)
                .first()
            )
        departement_ids = frozenset(organisation.departements.values_list("pk", flat=True))
        epci_ids, commune_ids = frozenset(), frozenset()
        if organisation.kind == PARTNER:
            epci_ids = frozenset([organisation.epci_id]) if organisation.epci_id else frozenset()
            commune_ids = frozenset(organisation.communes.values_list("pk", flat=True))
            if epci_ids or commune_ids:
                # The EPCI (or the communes) is the whole territory: the départements the organisation also
                # lists only say where it is, and would open the aggregates of the whole département.
                departement_ids = frozenset()
        return cls(
            kind=organisation.kind,
            organisation_id=organisation.pk,
            departement_ids=departement_ids,
            epci_ids=epci_ids,
            commune_ids=commune_ids,
            company_id=company_id,
        )

    @property
    def is_national(self):
        return self.kind == NATIONAL

    @property
    def is_prefecture(self):
        return self.kind == PREFECTURE

    @property
    def is_club(self):
        return self.kind == CLUB

    @property
    def is_company(self):
        return self.kind == COMPANY

    @property
    def is_partner(self):
        return self.kind == PARTNER

    @property
    def below_departement(self):
        """A partner whose territory is an EPCI or a list of communes rather than départements."""
        return self.kind == PARTNER and bool(self.epci_ids or self.commune_ids)

    @property
    def has_territory(self):
        """Préfectures, clubs and partners act over the départements of their organisation."""
        return self.kind in (PREFECTURE, CLUB, PARTNER)


# --- the catalogue (API) ---------------------------------------------------------------------------------


def referential(scope, queryset):
    """The catalogue (families, action types, indicators) is the same for everybody acting for an organisation."""
    return queryset if scope.kind is not None else queryset.none()
