"""The admin's lists of companies, conventions, actions and diagnostics follow the scoping policy for staff
members who are not superusers; superusers keep seeing everything."""

import datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from charte.comptes.models import OrganisationKind, User
from conventions.models import Action, Convention
from entreprises.models import Company, Diagnostic
from tests.factories import (
    ActionFactory,
    CommuneFactory,
    CompanyFactory,
    ConventionFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    departement,
)

MODELS = (Company, Convention, Action, Diagnostic)


def changelist(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def change(obj):
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.fixture
def rows(db):
    """One company, convention, action and diagnostic in the Hérault, the same in the Aude."""
    made = {}
    for code, commune_code in (("34", "34172"), ("11", "11069")):
        dep = departement(code)
        company = CompanyFactory(name=f"Entreprise {code}", commune=CommuneFactory(code=commune_code, departement=dep))
        convention = ConventionFactory(reference=f"{code}-CONV", departement=dep)
        convention.companies.add(company)
        action = ActionFactory(title=f"Action {code}", departement=dep)
        action.companies.add(company)
        diagnostic = Diagnostic.objects.create(company=company, date=datetime.date(2016, 1, 1), comment=f"Diagnostic {code}")
        made[code] = {Company: company, Convention: convention, Action: action, Diagnostic: diagnostic}
    return made


def staff(*organisations, **membership):
    user = UserFactory(is_staff=True)
    codenames = [f"{action}_{model._meta.model_name}" for model in MODELS for action in ("view", "change")]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    for organisation in organisations:
        MembershipFactory(user=user, organisation=organisation, **membership)
    return user


def listed(client, model):
    response = client.get(changelist(model))
    assert response.status_code == 200
    return set(response.context["cl"].result_list)


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_prefecture_staff_sees_its_departement_only(client, rows, model):
    client.force_login(staff(OrganisationFactory(name="Préfecture de l'Hérault", departements=[departement("34")])))
    assert listed(client, model) == {rows["34"][model]}
    assert client.get(change(rows["34"][model])).status_code == 200
    # Out of scope: the admin answers as for a row that does not exist.
    response = client.get(change(rows["11"][model]))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_superuser_sees_everything(client, rows, model):
    client.force_login(User.objects.create_superuser("admin@example.org", "motdepasse-solide-1"))
    assert listed(client, model) == {rows["34"][model], rows["11"][model]}


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_staff_without_active_membership_sees_nothing(client, rows, model):
    client.force_login(staff(OrganisationFactory(departements=[departement("34")]), is_active=False))
    assert listed(client, model) == set()


def test_staff_scope_is_the_first_active_membership(client, rows):
    # Memberships are taken in the organisations' name order: the Aude's préfecture comes first.
    aude = OrganisationFactory(name="A — Préfecture de l'Aude", departements=[departement("11")])
    herault = OrganisationFactory(name="B — Préfecture de l'Hérault", departements=[departement("34")])
    client.force_login(staff(aude, herault))
    assert listed(client, Company) == {rows["11"][Company]}


def test_company_staff_sees_its_own_rows(client, rows):
    company = rows["34"][Company]
    company.organisation = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Entreprise 34 (comptes)")
    company.save()
    client.force_login(staff(company.organisation))
    assert listed(client, Company) == {company}
    assert listed(client, Convention) == {rows["34"][Convention]}
    assert listed(client, Action) == {rows["34"][Action]}


def test_evaluation_admin_lists_follow_the_scoping_policy(client, rows):
    """Campaign declarations, notifications, compile runs and results: a préfecture's staff member sees its
    département's rows only in the admin, as in the portal."""
    from evaluation.engine import runs
    from evaluation.models import AnnualResult, Campaign, Declaration, EvaluationRun, Notification

    campaign = Campaign.objects.create(
        year=2016,
        title="Campagne 2016",
        organisation=OrganisationFactory(kind=OrganisationKind.NATIONAL, name="ANCT"),
        opens_on=datetime.date(2017, 1, 15),
        reminder_on=datetime.date(2017, 3, 1),
        closes_on=datetime.date(2017, 3, 31),
    )
    declarations = {
        code: Declaration.objects.create(
            campaign=campaign, convention=rows[code][Convention], company=rows[code][Company], year=2016
        )
        for code in ("34", "11")
    }
    for code, declaration in declarations.items():
        Notification.objects.create(
            key=f"test-{code}", event="returned", declaration=declaration, recipients="a@example.org", subject=f"Objet {code}"
        )
    # Runs of one département (an older version of the portal started them; compiles now cover the whole year).
    dep_runs = {
        code: EvaluationRun.objects.create(
            year=2016, scope_type="departement", scope_key=code, units=[f"dep:{code}"], units_total=1
        )
        for code in ("34", "11")
    }
    for run in dep_runs.values():
        runs.execute_sync(run.pk)

    user = staff(OrganisationFactory(name="Préfecture de l'Hérault", departements=[departement("34")]))
    models = (Declaration, Notification, EvaluationRun, AnnualResult)
    codenames = [f"view_{model._meta.model_name}" for model in models]
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)

    assert listed(client, Declaration) == {declarations["34"]}
    assert {n.subject for n in listed(client, Notification)} == {"Objet 34"}
    assert listed(client, EvaluationRun) == {dep_runs["34"]}
    assert {row.scope_key for row in listed(client, AnnualResult) if row.scope_type == "departement"} == {"34"}
