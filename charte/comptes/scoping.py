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
from django.db.models import Q

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
            company = _model("entreprises.Company").objects.filter(organisation=organisation).only("pk").first()
            company_id = company.pk if company else None
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


# --- territories -------------------------------------------------------------------------------------


def departements(scope):
    Departement = _model("territoires.Departement")
    qs = Departement.objects.select_related("region")
    if scope.is_national:
        return qs
    if scope.kind in (PREFECTURE, CLUB, PARTNER):
        return qs.filter(pk__in=scope.departement_ids)
    if scope.is_company:
        return qs.filter(
            Q(pk__in=companies(scope).values("commune__departement"))
            | Q(
                pk__in=_model("entreprises.Establishment")
                .objects.filter(company_id=scope.company_id)
                .values("commune__departement")
            )
            | Q(pk__in=conventions(scope).values("departement"))
        )
    return qs.none()


def qpvs(scope):
    QPV = _model("territoires.QPV")
    if scope.is_national:
        return QPV.objects.all()
    if scope.kind is None:
        return QPV.objects.none()
    return QPV.objects.filter(departement__in=departements(scope).values("pk"))


# --- companies ---------------------------------------------------------------------------------------


def _member_company_ids(club_id):
    """The club's members today: a company that left the club is no longer its business (what the club did
    with it stays visible through the conventions it animates and the actions it logged)."""
    return _model("entreprises.ClubMembership").objects.current().filter(club_id=club_id).values("company_id")


def companies(scope):
    Company = _model("entreprises.Company")
    Establishment = _model("entreprises.Establishment")
    ConventionCompany = _model("conventions.Convention").companies.through
    qs = Company.objects.all()
    if scope.is_national:
        return qs
    if scope.is_prefecture:
        dep = scope.departement_ids
        return qs.filter(
            Q(commune__departement_id__in=dep)
            | Q(pk__in=Establishment.objects.filter(commune__departement_id__in=dep).values("company_id"))
            | Q(pk__in=ConventionCompany.objects.filter(convention__departement_id__in=dep).values("company_id"))
        )
    if scope.is_club:
        return qs.filter(
            Q(pk__in=_member_company_ids(scope.organisation_id))
            | Q(pk__in=ConventionCompany.objects.filter(convention__club_id=scope.organisation_id).values("company_id"))
        )
    if scope.is_company and scope.company_id:
        return qs.filter(pk=scope.company_id)
    return qs.none()


# --- conventions -------------------------------------------------------------------------------------


# A declination grants its préfecture the view of its national parent only once concluded.
_CONCLUDED = ("signed", "active", "expired", "terminated")


def _national_conventions_of_prefecture(departement_ids):
    """The national conventions a préfecture sees, as a subquery of ids. The rule is one a préfecture cannot
    satisfy by writing something itself (issue 10: a draft declination opened its parent):

    - a company party to the national convention has its registered office or an establishment in one of
      the préfecture's départements (where a company is located is data on the company, not on a
      convention the préfecture writes); or
    - a declination of it in one of the préfecture's départements is concluded (signed, active, expired or
      terminated) and was created by the national level: a user with an active national membership, or no
      user at all (imports and demo data).

    A child convention written by the préfecture (or a club), draft or not, never grants the view of its
    parent; the convention form only offers as parents the national conventions already visible.
    """
    Convention = _model("conventions.Convention")
    Company = _model("entreprises.Company")
    Establishment = _model("entreprises.Establishment")
    located = Company.objects.filter(
        Q(commune__departement_id__in=departement_ids)
        | Q(pk__in=Establishment.objects.filter(commune__departement_id__in=departement_ids).values("company_id"))
    ).values("pk")
    parties = Convention.companies.through.objects.filter(convention__kind="national", company_id__in=located).values(
        "convention_id"
    )
    national_users = Membership.objects.filter(is_active=True, organisation__kind=NATIONAL).values("user_id")
    declined = (
        Convention.objects.filter(departement_id__in=departement_ids, parent__isnull=False, status__in=_CONCLUDED)
        .filter(Q(created_by__isnull=True) | Q(created_by__in=national_users))
        .values("parent_id")
    )
    return Convention.objects.filter(kind="national").filter(Q(pk__in=parties) | Q(pk__in=declined)).values("pk")


def conventions(scope):
    Convention = _model("conventions.Convention")
    qs = Convention.objects.all()
    if scope.is_national:
        return qs
    if scope.is_prefecture:
        dep = scope.departement_ids
        return qs.filter(Q(departement_id__in=dep) | Q(pk__in=_national_conventions_of_prefecture(dep)))
    if scope.is_club:
        return qs.filter(club_id=scope.organisation_id)
    if scope.is_company and scope.company_id:
        return qs.filter(pk__in=Convention.companies.through.objects.filter(company_id=scope.company_id).values("convention_id"))
    return qs.none()


# --- actions -----------------------------------------------------------------------------------------


def actions(scope):
    Action = _model("conventions.Action")
    qs = Action.objects.all()
    if scope.is_national:
        return qs
    if scope.is_prefecture:
        return qs.filter(departement_id__in=scope.departement_ids)
    if scope.is_club:
        return qs.filter(club_id=scope.organisation_id)
    if scope.is_company and scope.company_id:
        return qs.filter(pk__in=Action.companies.through.objects.filter(company_id=scope.company_id).values("action_id"))
    return qs.none()


# --- organisations -----------------------------------------------------------------------------------


def clubs(scope):
    """Clubs a person may pick (e.g. as a convention's animating club)."""
    Organisation = _model("comptes.Organisation")
    qs = Organisation.objects.clubs().active()
    if scope.is_national:
        return qs
    if scope.is_club:
        return qs.filter(pk=scope.organisation_id)
    if scope.kind in (PREFECTURE, PARTNER):
        return qs.filter(departements__in=scope.departement_ids).distinct()
    return qs.none()


def diagnostics(scope):
    Diagnostic = _model("entreprises.Diagnostic")
    if scope.kind is None or scope.is_partner:
        return Diagnostic.objects.none()
    qs = Diagnostic.objects.filter(company__in=companies(scope).values("pk"))
    if scope.is_club:
        qs = qs.filter(Q(club_id=scope.organisation_id) | Q(club__isnull=True))
    return qs


# --- territorial and catalogue referentials (API) -------------------------------------------------------


def referential(scope, queryset):
    """The catalogue (families, action types, indicators) is the same for everybody acting for an organisation."""
    return queryset if scope.kind is not None else queryset.none()


def regions(scope):
    Region = _model("territoires.Region")
    if scope.is_national:
        return Region.objects.all()
    return Region.objects.filter(pk__in=departements(scope).values("region_id"))


def communes(scope):
    Commune = _model("territoires.Commune")
    if scope.is_national:
        return Commune.objects.all()
    return Commune.objects.filter(departement__in=departements(scope).values("pk"))


def epcis(scope):
    EPCI = _model("territoires.EPCI")
    if scope.is_national:
        return EPCI.objects.all()
    return EPCI.objects.filter(pk__in=communes(scope).values("epci_id"))


# --- annual campaigns (evaluation) -----------------------------------------------------------------------


def campaigns(scope):
    """National: all. Préfecture, club: the campaigns covering one of its départements, national ones
    included. Company: the campaigns where it has a declaration. Partner: none."""
    Campaign = _model("evaluation.Campaign")
    qs = Campaign.objects.all()
    if scope.is_national:
        return qs
    if scope.kind in (PREFECTURE, CLUB):
        covered = Campaign.departements.through.objects
        return qs.filter(
            Q(pk__in=covered.filter(departement_id__in=scope.departement_ids).values("campaign_id"))
            | ~Q(pk__in=covered.values("campaign_id"))
        )
    if scope.is_company and scope.company_id:
        own = _model("evaluation.Declaration").objects.filter(company_id=scope.company_id)
        return qs.filter(pk__in=own.values("campaign_id"))
    return qs.none()


def declarations(scope):
    """Préfecture: the declarations of conventions in its départements. Club: those of the conventions it
    animates (a member company's declaration on a convention animated by another club, or by no club, is
    not its business: issue 10). Company: its own. National: all. Partner: none."""
    Declaration = _model("evaluation.Declaration")
    qs = Declaration.objects.all()
    if scope.is_national:
        return qs
    if scope.is_prefecture:
        return qs.filter(convention__departement_id__in=scope.departement_ids)
    if scope.is_club:
        return qs.filter(convention__club_id=scope.organisation_id)
    if scope.is_company and scope.company_id:
        return qs.filter(company_id=scope.company_id)
    return qs.none()


def notifications(scope):
    """E-mails the portal sent about declarations (the admin's list): those of the declarations in scope, and
    the reminders to companies in scope. National: all; partner: none."""
    Notification = _model("evaluation.Notification")
    if scope.is_national:
        return Notification.objects.all()
    if scope.kind is None or scope.is_partner:
        return Notification.objects.none()
    return Notification.objects.filter(
        Q(declaration__in=declarations(scope).values("pk"))
        | Q(declaration__isnull=True, company__in=companies(scope).values("pk"))
    )


# --- compiled evaluation (evaluation engine) ------------------------------------------------------------


def _keys(queryset, field="pk"):
    """The scope keys of compiled rows are text: ids of clubs, conventions and companies, territory codes."""
    from django.db.models import CharField
    from django.db.models.functions import Cast

    return queryset.order_by().annotate(scope_key_text=Cast(field, CharField())).values("scope_key_text")


def evaluation_runs(scope):
    """National: every run. Others acting for an organisation: the national runs (their figures come from them)
    and the runs of their départements, their régions and, for a club, its own."""
    EvaluationRun = _model("evaluation.EvaluationRun")
    qs = EvaluationRun.objects.all()
    if scope.is_national:
        return qs
    if scope.kind is None:
        return qs.none()
    visible = Q(scope_type="national")
    visible |= Q(scope_type="departement", scope_key__in=departements(scope).values("code"))
    visible |= Q(scope_type="region", scope_key__in=regions(scope).values("code"))
    if scope.is_club:
        visible |= Q(scope_type="club", scope_key=str(scope.organisation_id))
    return qs.filter(visible)


def annual_results(scope):
    """Compiled rows a reader may see (published or not: callers add `.published()`).

    National: all. Everybody acting for an organisation: the national aggregate. Préfecture: its départements,
    their régions, QPV, clubs, conventions and companies. Club: itself, its conventions and companies, and the
    aggregates of its territory. Company: itself and its conventions. Partner: the aggregates of its territory
    (départements, régions, QPV), never a company-level row."""
    AnnualResult = _model("evaluation.AnnualResult")
    qs = AnnualResult.objects.all()
    if scope.is_national:
        return qs
    if scope.kind is None:
        return qs.none()
    visible = Q(scope_type="national")
    if scope.kind in (PREFECTURE, CLUB, PARTNER):
        visible |= Q(scope_type="departement", scope_key__in=departements(scope).values("code"))
        visible |= Q(scope_type="region", scope_key__in=regions(scope).values("code"))
        visible |= Q(scope_type="qpv", scope_key__in=qpvs(scope).values("code"))
    if scope.kind in (PREFECTURE, CLUB):
        visible |= Q(scope_type="club", scope_key__in=_keys(clubs(scope)))
    if scope.kind in (PREFECTURE, CLUB, COMPANY):
        visible |= Q(scope_type="convention", scope_key__in=_keys(conventions(scope)))
        visible |= Q(scope_type="company", scope_key__in=_keys(companies(scope)))
    return qs.filter(visible)


# --- organisations and accounts (the admin's accounts pages, API keys) -----------------------------------


def organisations(scope):
    """Organisations a person sees. National: all. Préfecture: itself, the organisations of its départements
    and the accounts of the companies in its scope. Club: itself and the accounts of its companies. Company,
    partner: itself."""
    Organisation = _model("comptes.Organisation")
    qs = Organisation.objects.all()
    if scope.is_national:
        return qs
    if scope.kind is None:
        return qs.none()
    visible = Q(pk=scope.organisation_id)
    if scope.is_prefecture:
        covered = Organisation.departements.through.objects.filter(departement_id__in=scope.departement_ids)
        visible |= Q(pk__in=covered.values("organisation_id"))
    if scope.kind in (PREFECTURE, CLUB):
        visible |= Q(pk__in=companies(scope).filter(organisation__isnull=False).values("organisation_id"))
    return qs.filter(visible)


def managed_organisations(scope):
    """Organisations whose accounts (memberships, API keys) a person may manage: its own organisation, or any
    for the national level. Never wider than the organisation the person acts for."""
    Organisation = _model("comptes.Organisation")
    if scope.is_national:
        return Organisation.objects.all()
    if scope.kind is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(pk=scope.organisation_id)


def users(scope):
    """People a person sees: the members (past or present) of the organisations it sees."""
    User = _model("comptes.User")
    if scope.is_national:
        return User.objects.all()
    return User.objects.filter(
        pk__in=Membership.objects.filter(organisation__in=organisations(scope).values("pk")).values("user_id")
    )
