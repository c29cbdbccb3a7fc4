"""`manage.py seed_demo`: the Occitanie demo territory (DOMAIN.md §7), idempotent and consistent."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import F, Q

from charte.comptes.models import Membership, Organisation, OrganisationKind, User
from charte.territoires.models import QPV
from conventions.demo import DEMO_PASSWORD, is_seeded
from conventions.models import Action, Convention, Target
from entreprises.models import Company, Establishment
from entreprises.validators import is_valid_siren, is_valid_siret
from evaluation.models import Campaign, Declaration, DeclarationValue

pytestmark = pytest.mark.django_db

EXPECTED_ACCOUNTS = {
    "national@demo.charte.fr": (OrganisationKind.NATIONAL, "ANCT (ex-CGET)"),
    "prefecture.herault@demo.charte.fr": (OrganisationKind.PREFECTURE, "Préfecture de l'Hérault"),
    "prefecture.aude@demo.charte.fr": (OrganisationKind.PREFECTURE, "Préfecture de l'Aude"),
    "animateur.face-herault@demo.charte.fr": (OrganisationKind.CLUB, "FACE Hérault"),
    "entreprise.brl@demo.charte.fr": (OrganisationKind.COMPANY, "BRL"),
    "collaborateur.brl@demo.charte.fr": (OrganisationKind.COMPANY, "BRL"),
    "partenaire@demo.charte.fr": (OrganisationKind.PARTNER, "Montpellier Méditerranée Métropole"),
}


def seed():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def count_every_model():
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_second_run_changes_no_count_and_output_says_figures_are_invented():
    first_output = seed()
    first = count_every_model()
    second_output = seed()

    assert count_every_model() == first
    assert "inventés" in first_output
    assert "2000 créées" in first_output
    assert "déjà présentes" in second_output
    assert DEMO_PASSWORD in first_output
    for email in [*EXPECTED_ACCOUNTS, "admin@demo.charte.fr"]:
        assert email in first_output
    assert "Campagne 2017" in first_output and "rien de modifié" in second_output


def test_demo_has_a_closed_2017_national_campaign_with_validated_declarations():
    assert not is_seeded()
    seed()
    assert is_seeded()  # the reports' PDF then carries the invented-data warning

    campaign = Campaign.objects.get(year=2017, organisation__name="ANCT (ex-CGET)")
    assert campaign.is_national
    assert (campaign.opens_on.isoformat(), campaign.closes_on.isoformat()) == ("2018-01-15", "2018-03-15")
    declarations = campaign.declarations.all()
    validated = declarations.filter(status=Declaration.Status.VALIDATED)
    assert validated.count() >= declarations.count() // 2 > 0
    assert not validated.filter(Q(validated_at__lt=F("submitted_at")) | Q(validated_at__year__gt=2018)).exists()
    assert validated.filter(validated_by__email="animateur.face-herault@demo.charte.fr").exists()
    assert declarations.filter(status=Declaration.Status.RETURNED).exclude(return_comment="").exists()
    assert declarations.filter(company__name="BRL", submitted_by__email="entreprise.brl@demo.charte.fr").exists()
    assert DeclarationValue.objects.filter(declaration__in=validated, value__gt=0).exists()


def test_demo_territory_has_the_expected_magnitudes():
    seed()

    assert QPV.objects.filter(generation=2015).count() == 105
    assert Company.objects.count() >= 45
    assert 1900 <= Action.objects.count() <= 2100
    assert set(Action.objects.values_list("start_date__year", flat=True).distinct()) == {2015, 2016, 2017}
    statuses = set(Convention.objects.filter(kind=Convention.Kind.LOCAL).values_list("status", flat=True))
    assert statuses == set(Convention.Status.values)
    assert Convention.objects.filter(kind=Convention.Kind.FRAMEWORK).count() == 5
    assert Convention.objects.filter(kind=Convention.Kind.COLLECTIVE).get().companies.count() > 1
    national = Convention.objects.filter(kind=Convention.Kind.NATIONAL)
    assert {c.companies.get().name for c in national} == {"Engie", "SNCF", "Suez"}
    assert Convention.objects.filter(parent__in=national).exists()
    assert Convention.objects.filter(predecessor__isnull=False, generation=2).exists()

    # Haute-Garonne: 17 companies engaged, prospected by the préfecture alone.
    assert Company.objects.filter(conventions__departement__code="31").distinct().count() == 17
    assert not Organisation.objects.clubs().filter(departements__code="31").exists()
    assert not Action.objects.filter(departement__code="31", club__isnull=False).exists()

    civic = Action.objects.get(title__contains="18 services civiques")
    assert civic.beneficiaries_total == 18 and civic.companies.get().siren == "241100593"
    limoux = Action.objects.get(title__contains="Osez l'entreprise")
    assert limoux.beneficiaries_total == 12 and "6 entreprises créées" in limoux.description
    assert Company.objects.get(name="18 printemps").labels.filter(name="Lucie").exists()
    brl = Company.objects.get(name="BRL")
    assert set(brl.conventions.values_list("departement__code", flat=True)) == {"11", "30", "34"}
    assert set(brl.establishments.values_list("commune__departement__code", flat=True)) == {"11", "30", "34"}


def test_each_demo_account_logs_in_with_an_active_membership_of_the_right_kind():
    seed()

    for email, (kind, organisation_name) in EXPECTED_ACCOUNTS.items():
        user = User.objects.get(email=email)
        assert user.check_password(DEMO_PASSWORD)
        membership = Membership.objects.active().get(user=user)
        assert (membership.organisation.kind, membership.organisation.name) == (kind, organisation_name)
    brl_org = User.objects.get(email="entreprise.brl@demo.charte.fr").memberships.get().organisation
    assert brl_org.company.name == "BRL"
    # Every demo organisation with accounts has an active administrator, who can try the members pages.
    with_accounts = Organisation.objects.filter(memberships__isnull=False).distinct()
    assert with_accounts.count() == 6
    assert not with_accounts.exclude(memberships__role=Membership.Role.ADMIN, memberships__is_active=True).exists()
    assert Membership.objects.get(user__email="collaborateur.brl@demo.charte.fr").role == Membership.Role.MEMBER
    admin = User.objects.get(email="admin@demo.charte.fr")
    assert admin.is_staff and admin.is_superuser and admin.check_password(DEMO_PASSWORD)


def test_the_demo_metropole_is_scoped_to_its_epci():
    """Issue 11, point 5: the partner Montpellier Méditerranée Métropole reads its EPCI (Montpellier's QPV), not the
    rest of the Hérault (Béziers, Sète) nor the département."""
    from charte.comptes.scoping import Scope
    from charte.territoires.models import Departement

    seed()

    partner = User.objects.get(email="partenaire@demo.charte.fr").memberships.get().organisation
    assert partner.epci.siren == "243400017"
    scope = Scope.for_organisation(partner)
    qpvs = set(QPV.objects.visible_to(scope).values_list("code", flat=True))
    assert "QP034005" in qpvs and len(qpvs) == 12  # Mosson and the eleven other QPV of Montpellier
    assert not qpvs & {"QP034001", "QP034017"}  # Béziers, Sète
    assert QPV.objects.get(code="QP034005").epci == partner.epci
    assert not Departement.objects.visible_to(scope).exists()


def test_demo_data_respects_the_domain_rules():
    seed()

    out_of_period = Target.objects.filter(
        Q(year__lt=F("commitment__convention__start_date__year")) | Q(year__gt=F("commitment__convention__end_date__year"))
    )
    assert Target.objects.exists() and not out_of_period.exists()
    assert not Target.objects.exclude(commitment__convention__generation=2).exists()
    assert not Action.objects.filter(qpvs__isnull=True).exists()
    assert not Action.qpvs.through.objects.exclude(qpv__departement=F("action__departement")).exists()
    assert not Action.companies.through.objects.exclude(
        Q(company__commune__departement=F("action__departement"))
        | Q(company__establishments__commune__departement=F("action__departement"))
    ).exists()
    assert not Action.objects.filter(companies__isnull=True).exists()
    assert not Action.objects.filter(
        Q(beneficiaries_women__gt=F("beneficiaries_total"))
        | Q(beneficiaries_under_26__gt=F("beneficiaries_total"))
        | Q(beneficiaries_qpv__gt=F("beneficiaries_total"))
    ).exists()
    linked = Action.objects.filter(convention__isnull=False)
    assert linked.count() > 300
    assert not linked.exclude(convention__departement=F("departement")).exists()
    assert not linked.filter(Q(start_date__lt=F("convention__start_date")) | Q(start_date__gt=F("convention__end_date"))).exists()
    assert Action.objects.filter(logged_by__email="animateur.face-herault@demo.charte.fr").exists()
    assert all(is_valid_siren(siren) for siren in Company.objects.values_list("siren", flat=True))
    for establishment in Establishment.objects.select_related("company"):
        assert is_valid_siret(establishment.siret) and establishment.siret.startswith(establishment.company.siren)
    terminated = Convention.objects.get(status=Convention.Status.TERMINATED)
    assert terminated.termination_reason


def test_seed_keeps_what_people_changed_and_added():
    seed()
    company = Company.objects.get(name="Garrigues Numérique")
    company.name = "Garrigues Numérique SAS"
    company.save()
    user = User.objects.get(email="prefecture.aude@demo.charte.fr")
    user.set_password("un-autre-mot-de-passe-1")
    user.save()
    Action.objects.filter(pk=Action.objects.order_by("pk").first().pk).update(title="Action corrigée par le club")
    actions = Action.objects.count()

    seed()

    assert Company.objects.filter(name="Garrigues Numérique SAS").exists()
    assert not Company.objects.filter(name="Garrigues Numérique").exists()
    assert User.objects.get(email="prefecture.aude@demo.charte.fr").check_password("un-autre-mot-de-passe-1")
    assert Action.objects.filter(title="Action corrigée par le club").exists()
    assert Action.objects.count() == actions


def test_demo_has_a_dozen_practice_sheets_marked_as_demonstration(client):
    from conventions.practices.models import PracticeSheet

    output = seed()
    sheets = PracticeSheet.objects.filter(is_demo=True)
    # Twelve practices of the seminars, and the Gard's reproduction of "Tous en stage".
    assert "Fiches de bonnes pratiques de démonstration : 13 créées." in output
    assert sheets.count() == 13 == PracticeSheet.objects.count()
    statuses = list(sheets.values_list("status", flat=True))
    assert statuses.count("published") >= 8 and statuses.count("submitted") == 1 and statuses.count("returned") == 1
    assert sheets.filter(status="published", public=True).count() >= 3
    titles = " ".join(sheets.values_list("title", flat=True))
    for practice in ("Tous en stage", "Civic dating", "Opencité", "Journées filles", "CitésLab"):
        assert practice in titles
    tous_en_stage = sheets.get(title__startswith="Tous en stage : ")
    assert tous_en_stage.actions.exists() and tous_en_stage.reproductions.count() == 1
    # Published sheets with companies had their consent; the figures come from the linked actions.
    assert not sheets.filter(status="published", named_companies__consent="pending").exists()

    client.force_login(User.objects.get(email="animateur.face-herault@demo.charte.fr"))
    page = client.get(f"/bonnes-pratiques/{tous_en_stage.pk}/").content.decode()
    assert "Contenu de démonstration" in page
    assert "Fiches de bonnes pratiques de démonstration : 0 créées." in seed()


def test_make_run_opens_the_demo_reports_with_their_figures():
    """`make run` seeds with --compile: the campaign year is published once, a second run compiles nothing."""
    from evaluation.models import AnnualResult, EvaluationRun

    out = io.StringIO()
    call_command("seed_demo", "--compile", stdout=out)
    assert "Évaluation 2017 compilée : terminée." in out.getvalue()
    published = EvaluationRun.objects.published_by_year()
    assert set(published) == set(Campaign.objects.values_list("year", flat=True)) == {2017}
    assert AnnualResult.objects.for_scope(2017, "departement", "34").exists()

    again = io.StringIO()
    call_command("seed_demo", "--compile", stdout=again)
    assert "déjà compilée" in again.getvalue()
    assert EvaluationRun.objects.count() == 1
