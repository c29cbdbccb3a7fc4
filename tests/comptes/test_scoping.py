"""The scoping policy, rule by rule and role by role, with rows in two départements (34 and 11).

Every `visible_to` rule of the models is asserted for every kind of organisation, with the exact set
of rows expected: what must be seen, and what must not (the row of the other département, the company
that only lives in the Aude, the convention another club animates...).
"""

import datetime
from types import SimpleNamespace

import pytest

from charte.comptes.models import Organisation, OrganisationKind
from charte.comptes.scoping import Scope
from charte.territoires.models import QPV, Departement
from conventions.models import Action, Convention
from entreprises.models import Company, Diagnostic
from tests.factories import (
    ActionFactory,
    ClubMembershipFactory,
    CommuneFactory,
    CompanyFactory,
    ConventionFactory,
    EstablishmentFactory,
    MembershipFactory,
    OrganisationFactory,
    QPVFactory,
    departement,
)


def visible_rows(scope):
    """What each visibility rule answers for the scope, by name (for the "sees nothing" checks)."""
    return {
        "departements": Departement.objects.visible_to(scope),
        "qpvs": QPV.objects.visible_to(scope),
        "companies": Company.objects.visible_to(scope),
        "conventions": Convention.objects.visible_to(scope),
        "actions": Action.objects.visible_to(scope),
        "clubs": Organisation.objects.clubs_visible_to(scope),
        "diagnostics": Diagnostic.objects.visible_to(scope),
    }


def scope_of(organisation, **membership):
    return Scope.for_membership(MembershipFactory(organisation=organisation, **membership))


def names(queryset, attribute="name"):
    return {getattr(row, attribute) for row in queryset}


@pytest.fixture
def world(db):
    """Two départements, each with its préfecture, club, companies, conventions, actions, QPV, diagnostics."""
    d34, d11 = departement("34"), departement("11")
    montpellier = CommuneFactory(code="34172", name="Montpellier", departement=d34)
    carcassonne = CommuneFactory(code="11069", name="Carcassonne", departement=d11)
    w = SimpleNamespace(d34=d34, d11=d11)

    w.national = OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT")
    w.prefecture34 = OrganisationFactory(name="Préfecture de l'Hérault", departements=[d34])
    w.prefecture11 = OrganisationFactory(name="Préfecture de l'Aude", departements=[d11])
    w.club34 = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[d34])
    w.club11 = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Aude", departements=[d11])
    w.inactive_club34 = OrganisationFactory(kind=OrganisationKind.CLUB, name="Club dissous", departements=[d34], is_active=False)
    w.partner34 = OrganisationFactory(kind=OrganisationKind.PARTNER, name="Montpellier Métropole", departements=[d34])

    # Companies: in 34 by head office, by establishment only, by convention only; one only in 11.
    w.head34 = CompanyFactory(name="Siège Hérault", commune=montpellier)
    w.establishment34 = CompanyFactory(name="Établissement Hérault", commune=carcassonne)
    EstablishmentFactory(company=w.establishment34, commune=montpellier)
    w.convention34_company = CompanyFactory(name="Convention Hérault", commune=carcassonne)
    w.only11 = CompanyFactory(name="Aude seulement", commune=carcassonne)
    w.national_group = CompanyFactory(name="Groupe national", is_national_signatory=True)
    w.company_org = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Siège Hérault (comptes)")
    w.head34.organisation = w.company_org
    w.head34.save()

    ClubMembershipFactory(company=w.head34, club=w.club34)
    ClubMembershipFactory(company=w.only11, club=w.club11)

    # Conventions: national ones declined (or not) in 34, local ones in 34 and 11. A declination opens its
    # national parent to the préfecture once concluded (here: active, imported without author).
    w.national_declined34 = ConventionFactory(reference="NAT-1", kind=Convention.Kind.NATIONAL, departement=None)
    w.national_declined34.companies.add(w.national_group)
    w.national_declined11 = ConventionFactory(reference="NAT-2", kind=Convention.Kind.NATIONAL, departement=None)
    w.declination34 = ConventionFactory(
        reference="034-DECL", departement=d34, parent=w.national_declined34, status=Convention.Status.ACTIVE
    )
    w.declination34.companies.add(w.national_group)
    w.declination11 = ConventionFactory(
        reference="011-DECL", departement=d11, parent=w.national_declined11, status=Convention.Status.ACTIVE
    )
    w.club34_convention = ConventionFactory(reference="034-CLUB", departement=d34, club=w.club34)
    w.club34_convention.companies.add(w.head34)
    # Animated by the club for a company that is not (yet) its member.
    w.club34_prospect = ConventionFactory(reference="034-PROSPECT", departement=d34, club=w.club34)
    w.club34_prospect.companies.add(w.convention34_company)
    w.prefecture34_only = ConventionFactory(reference="034-PREF", departement=d34)
    w.prefecture34_only.companies.add(w.establishment34)
    w.convention11 = ConventionFactory(reference="011-CLUB", departement=d11, club=w.club11)
    w.convention11.companies.add(w.only11)

    # Actions: one animated by the club in 34, one logged by the préfecture in 34, one in 11.
    w.action34_club = ActionFactory(title="Action club 34", departement=d34, club=w.club34)
    w.action34_club.companies.add(w.head34)
    w.action34_pref = ActionFactory(title="Action préfecture 34", departement=d34)
    w.action34_pref.companies.add(w.establishment34)
    w.action11 = ActionFactory(title="Action 11", departement=d11, club=w.club11)
    w.action11.companies.add(w.only11)

    w.qpv34 = QPVFactory(code="QP034005", name="Mosson", departement=d34)
    w.qpv11 = QPVFactory(code="QP011001", name="La Conte", departement=d11)

    day = datetime.date(2016, 1, 10)
    w.diag_club34 = Diagnostic.objects.create(company=w.head34, club=w.club34, date=day, comment="club 34")
    w.diag_no_club = Diagnostic.objects.create(company=w.head34, date=day, comment="sans club")
    w.diag_other_club = Diagnostic.objects.create(company=w.head34, club=w.club11, date=day, comment="club 11")
    w.diag11 = Diagnostic.objects.create(company=w.only11, club=w.club11, date=day, comment="11")
    return w


def test_national_sees_everything(world):
    scope = scope_of(world.national)
    assert scope.is_national
    assert Departement.objects.visible_to(scope).count() == Departement.objects.count()
    assert set(QPV.objects.visible_to(scope)) == set(QPV.objects.all())
    assert names(Company.objects.visible_to(scope)) == {
        "Siège Hérault",
        "Établissement Hérault",
        "Convention Hérault",
        "Aude seulement",
        "Groupe national",
    }
    assert Convention.objects.visible_to(scope).count() == Convention.objects.count() == 8
    assert names(Action.objects.visible_to(scope), "title") == {"Action club 34", "Action préfecture 34", "Action 11"}
    # Only active clubs are offered.
    assert names(Organisation.objects.clubs_visible_to(scope)) == {"FACE Hérault", "FACE Aude"}
    assert Diagnostic.objects.visible_to(scope).count() == 4


def test_prefecture_sees_its_departement_only(world):
    scope = scope_of(world.prefecture34)
    assert scope.is_prefecture
    assert scope.departement_ids == frozenset({world.d34.pk})
    assert list(Departement.objects.visible_to(scope)) == [world.d34]
    assert list(QPV.objects.visible_to(scope)) == [world.qpv34]
    # Head office, establishment or convention in 34; never the company that only lives in the Aude.
    assert names(Company.objects.visible_to(scope)) == {
        "Siège Hérault",
        "Établissement Hérault",
        "Convention Hérault",
        "Groupe national",
    }
    # The national convention declined in 34 is visible; the one declined only in 11 is not.
    assert names(Convention.objects.visible_to(scope), "reference") == {
        "NAT-1",
        "034-DECL",
        "034-CLUB",
        "034-PROSPECT",
        "034-PREF",
    }
    assert names(Action.objects.visible_to(scope), "title") == {"Action club 34", "Action préfecture 34"}
    assert names(Organisation.objects.clubs_visible_to(scope)) == {"FACE Hérault"}
    # Every diagnostic of its companies, whichever club made it.
    assert names(Diagnostic.objects.visible_to(scope), "comment") == {"club 34", "sans club", "club 11"}


def test_the_other_prefecture_sees_the_mirror_image(world):
    scope = scope_of(world.prefecture11)
    assert names(Company.objects.visible_to(scope)) == {"Établissement Hérault", "Convention Hérault", "Aude seulement"}
    assert names(Convention.objects.visible_to(scope), "reference") == {"NAT-2", "011-DECL", "011-CLUB"}
    assert names(Action.objects.visible_to(scope), "title") == {"Action 11"}
    assert list(QPV.objects.visible_to(scope)) == [world.qpv11]
    assert names(Organisation.objects.clubs_visible_to(scope)) == {"FACE Aude"}


def test_club_sees_its_members_and_what_it_animates(world):
    scope = scope_of(world.club34)
    assert scope.is_club
    # Its member, and the company of a convention it animates; not the préfecture's own companies.
    assert names(Company.objects.visible_to(scope)) == {"Siège Hérault", "Convention Hérault"}
    assert names(Convention.objects.visible_to(scope), "reference") == {"034-CLUB", "034-PROSPECT"}
    assert names(Action.objects.visible_to(scope), "title") == {"Action club 34"}
    assert list(Departement.objects.visible_to(scope)) == [world.d34]
    assert list(QPV.objects.visible_to(scope)) == [world.qpv34]
    assert list(Organisation.objects.clubs_visible_to(scope)) == [world.club34]
    # Its own diagnostics and those no club made; never another club's.
    assert names(Diagnostic.objects.visible_to(scope), "comment") == {"club 34", "sans club"}


def test_club_no_longer_sees_a_company_that_left_it(world):
    """A former member drops out of the club's companies and declarations; the convention the club animated
    for it and the actions it logged stay visible (they are the club's own work)."""
    former = CompanyFactory(name="Ancien membre", commune=world.head34.commune)
    ClubMembershipFactory(company=former, club=world.club34, end_date=datetime.date(2016, 12, 31))
    ClubMembershipFactory(company=former, club=world.club11)  # it moved to the other club
    future = CompanyFactory(name="Adhésion à venir", commune=world.head34.commune)
    ClubMembershipFactory(company=future, club=world.club34, start_date=datetime.date.today() + datetime.timedelta(days=30))
    scope = scope_of(world.club34)

    assert names(Company.objects.visible_to(scope)) == {"Siège Hérault", "Convention Hérault"}
    assert "Ancien membre" in names(Company.objects.visible_to(scope_of(world.club11)))

    animated = ConventionFactory(reference="034-ANCIEN", departement=world.d34, club=world.club34)
    animated.companies.add(former)
    assert names(Company.objects.visible_to(scope)) == {"Siège Hérault", "Convention Hérault", "Ancien membre"}
    assert "034-ANCIEN" in names(Convention.objects.visible_to(scope), "reference")


def test_company_sees_only_itself(world):
    scope = scope_of(world.company_org)
    assert scope.is_company
    assert scope.company_id == world.head34.pk
    assert list(Company.objects.visible_to(scope)) == [world.head34]
    assert names(Convention.objects.visible_to(scope), "reference") == {"034-CLUB"}
    assert names(Action.objects.visible_to(scope), "title") == {"Action club 34"}
    assert list(Departement.objects.visible_to(scope)) == [world.d34]
    assert list(QPV.objects.visible_to(scope)) == [world.qpv34]
    assert not Organisation.objects.clubs_visible_to(scope).exists()
    assert names(Diagnostic.objects.visible_to(scope), "comment") == {"club 34", "sans club", "club 11"}


def test_company_territory_comes_from_establishments_and_conventions(world):
    # Head office in 11, an establishment in 34, a convention in 34: both départements are its own.
    organisation = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Établissement Hérault (comptes)")
    world.establishment34.organisation = organisation
    world.establishment34.save()
    scope = scope_of(organisation)
    assert set(Departement.objects.visible_to(scope)) == {world.d34, world.d11}
    assert names(Convention.objects.visible_to(scope), "reference") == {"034-PREF"}
    assert names(Action.objects.visible_to(scope), "title") == {"Action préfecture 34"}


def test_company_organisation_without_its_company_sees_nothing(world):
    scope = scope_of(OrganisationFactory(kind=OrganisationKind.COMPANY, name="Pas encore rattachée"))
    assert scope.is_company and scope.company_id is None
    for name, rows in visible_rows(scope).items():
        assert not rows.exists(), name


def test_partner_sees_its_territory_but_no_row_of_companies_conventions_or_actions(world):
    scope = scope_of(world.partner34)
    assert scope.is_partner
    assert not Company.objects.visible_to(scope).exists()
    assert not Convention.objects.visible_to(scope).exists()
    assert not Action.objects.visible_to(scope).exists()
    assert not Diagnostic.objects.visible_to(scope).exists()
    assert list(Departement.objects.visible_to(scope)) == [world.d34]
    assert list(QPV.objects.visible_to(scope)) == [world.qpv34]
    assert list(Organisation.objects.clubs_visible_to(scope)) == [world.club34]


@pytest.mark.parametrize(
    "make_scope",
    [
        pytest.param(lambda w: Scope.none(), id="empty-scope"),
        pytest.param(lambda w: scope_of(w.prefecture34, is_active=False), id="inactive-membership"),
        pytest.param(lambda w: scope_of(OrganisationFactory(departements=[w.d34], is_active=False)), id="inactive-organisation"),
        pytest.param(lambda w: Scope.for_membership(None), id="no-membership"),
    ],
)
def test_no_active_membership_sees_nothing(world, make_scope):
    scope = make_scope(world)
    assert scope.kind is None
    for name, rows in visible_rows(scope).items():
        assert not rows.exists(), name


def test_middleware_gives_the_empty_scope_without_active_membership(world, client):
    membership = MembershipFactory(organisation=world.prefecture34, is_active=False)
    client.force_login(membership.user)
    response = client.get("/tableau-de-bord/")
    assert response.wsgi_request.scope == Scope.none()
    assert "Aucune organisation active" in response.content.decode()


def test_middleware_scope_follows_the_first_active_membership(world, client):
    membership = MembershipFactory(organisation=world.prefecture34)
    client.force_login(membership.user)
    response = client.get("/tableau-de-bord/")
    assert response.wsgi_request.scope == Scope.for_membership(membership)
    assert response.wsgi_request.scope.departement_ids == frozenset({world.d34.pk})


def test_querysets_have_no_duplicates(world):
    # A company seen through its head office AND an establishment AND a convention is listed once.
    EstablishmentFactory(company=world.head34, commune=world.head34.commune)
    world.prefecture34_only.companies.add(world.head34)
    scope = scope_of(world.prefecture34)
    companies = list(Company.objects.visible_to(scope))
    assert len(companies) == len(set(companies))
    # A club animating both départements is offered once to a préfecture covering both.
    OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Occitanie", departements=[world.d34, world.d11])
    clubs = list(Organisation.objects.clubs_visible_to(scope_of(OrganisationFactory(departements=[world.d34, world.d11]))))
    assert sorted(club.name for club in clubs) == ["FACE Aude", "FACE Hérault", "FACE Occitanie"]
