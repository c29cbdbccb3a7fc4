"""The one scoping policy: which rows a person acting for an organisation may see.

Every view, form choice list, export, admin list and API endpoint asks this module. Rules (DESIGN.md):

| kind       | sees                                                                              |
|------------|-----------------------------------------------------------------------------------|
| national   | everything                                                                        |
| prefecture | all data whose territory is in its départements (national conventions: see below)  |
| club       | its member companies, the conventions and actions it animates                     |
| company    | its own company, its conventions and the actions it took part in                  |
| partner    | the aggregates of its territory (départements and QPV pages), no company-level row |

Models of higher apps are reached through `apps.get_model` so that this low-level module never imports
`entreprises` or `conventions` (imports go one way only).
"""

from dataclasses import dataclass, field, replace

from django.apps import apps

from .models import Membership, OrganisationKind

NATIONAL = OrganisationKind.NATIONAL
PREFECTURE = OrganisationKind.PREFECTURE
CLUB = OrganisationKind.CLUB
COMPANY = OrganisationKind.COMPANY
PARTNER = OrganisationKind.PARTNER


def _model(label):
    return apps.get_model(label)


@dataclass(frozen=True)
class Scope:
    """Who is acting: the kind and organisation of the current membership, and its territory."""

    kind: str | None = None
    organisation_id: int | None = None
    departement_ids: frozenset = field(default_factory=frozenset)
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
        return cls(
            kind=organisation.kind,
            organisation_id=organisation.pk,
            departement_ids=frozenset(organisation.departements.values_list("pk", flat=True)),
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
    def has_territory(self):
        """Préfectures, clubs and partners act over the départements of their organisation."""
        return self.kind in (PREFECTURE, CLUB, PARTNER)


# --- transitional delegates: each rule now lives in its model's queryset (`visible_to`) ------------------


def departements(scope):
    return _model("territoires.Departement").objects.visible_to(scope)


def qpvs(scope):
    return _model("territoires.QPV").objects.visible_to(scope)


def regions(scope):
    return _model("territoires.Region").objects.visible_to(scope)


def communes(scope):
    return _model("territoires.Commune").objects.visible_to(scope)


def epcis(scope):
    return _model("territoires.EPCI").objects.visible_to(scope)


def companies(scope):
    return _model("entreprises.Company").objects.visible_to(scope)


def diagnostics(scope):
    return _model("entreprises.Diagnostic").objects.visible_to(scope)


def conventions(scope):
    return _model("conventions.Convention").objects.visible_to(scope)


def actions(scope):
    return _model("conventions.Action").objects.visible_to(scope)


def clubs(scope):
    return _model("comptes.Organisation").objects.clubs_visible_to(scope)


def organisations(scope):
    return _model("comptes.Organisation").objects.visible_to(scope)


def managed_organisations(scope):
    return _model("comptes.Organisation").objects.managed_by(scope)


def users(scope):
    return _model("comptes.User").objects.visible_to(scope)


def campaigns(scope):
    return _model("evaluation.Campaign").objects.visible_to(scope)


def declarations(scope):
    return _model("evaluation.Declaration").objects.visible_to(scope)


def notifications(scope):
    return _model("evaluation.Notification").objects.visible_to(scope)


def evaluation_runs(scope):
    return _model("evaluation.EvaluationRun").objects.visible_to(scope)


def annual_results(scope):
    return _model("evaluation.AnnualResult").objects.visible_to(scope)


def referential(scope, queryset):
    """The catalogue (families, action types, indicators) is the same for everybody acting for an organisation."""
    return queryset if scope.kind is not None else queryset.none()
