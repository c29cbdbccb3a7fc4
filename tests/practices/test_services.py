"""The workflow of a practice sheet: each transition, its refusals, the consent of named companies, the
notifications and the figures computed from the linked actions."""

import pytest
from django.core.exceptions import ValidationError

from charte.comptes.models import OrganisationKind
from charte.comptes.scoping import Scope
from conventions.practices import services
from conventions.practices.models import PracticeCompany, PracticeSheet
from evaluation.models import Notification
from tests.factories import (
    ActionFactory,
    CompanyFactory,
    MembershipFactory,
    OrganisationFactory,
    PracticeSheetFactory,
    departement,
)

pytestmark = pytest.mark.django_db

Status = PracticeSheet.Status
Consent = PracticeCompany.Consent


@pytest.fixture
def people():
    herault = departement("34")
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    prefecture = OrganisationFactory(kind=OrganisationKind.PREFECTURE, name="Préfecture 34", departements=[herault])
    gard = OrganisationFactory(kind=OrganisationKind.PREFECTURE, name="Préfecture 30", departements=[departement("30")])
    account = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Compte Garrigue")
    company = CompanyFactory(name="Garrigue", organisation=account)
    members = {org: MembershipFactory(organisation=org).user for org in (club, prefecture, gard, account)}
    return {
        "club": (Scope.for_organisation(club), members[club], club),
        "prefecture": (Scope.for_organisation(prefecture), members[prefecture], prefecture),
        "gard": (Scope.for_organisation(gard), members[gard], gard),
        "company": (Scope.for_organisation(account), members[account], company),
    }


def new_sheet(people, companies=()):
    scope, user, club = people["club"]
    sheet = PracticeSheetFactory.build(author_organisation=None, departement=departement("34"))
    return services.save_sheet(sheet, scope=scope, user=user, companies=companies)


def test_a_club_drafts_submits_the_prefecture_returns_then_publishes_with_history_and_notifications(people):
    club_scope, animator, club = people["club"]
    pref_scope, agent, prefecture = people["prefecture"]
    sheet = new_sheet(people)
    assert sheet.status == Status.DRAFT and sheet.author_organisation == club

    services.submit(sheet, scope=club_scope, user=animator)
    review = Notification.objects.get(event="practice_review")
    assert review.deliveries.get().user == agent

    with pytest.raises(ValidationError) as refused:
        services.return_to_authors(sheet, scope=pref_scope, user=agent, comment="  ")
    assert "commentaire est obligatoire" in str(refused.value)
    services.return_to_authors(sheet, scope=pref_scope, user=agent, comment="Ajoutez les résultats chiffrés.")
    sheet.refresh_from_db()
    assert sheet.status == Status.RETURNED and sheet.review_comment == "Ajoutez les résultats chiffrés."
    returned = Notification.objects.get(event="practice_returned")
    assert returned.deliveries.get().user == animator and "Ajoutez les résultats" in returned.body

    sheet.results_text = "40 élèves accueillis."
    services.save_sheet(sheet, scope=club_scope, user=animator)
    services.submit(sheet, scope=club_scope, user=animator)
    services.publish(sheet, scope=pref_scope, user=agent)
    sheet.refresh_from_db()
    assert sheet.status == Status.PUBLISHED and sheet.published_at is not None and sheet.review_comment == ""
    assert Notification.objects.filter(event="practice_published").exists()
    assert list(sheet.transitions.values_list("to_status", flat=True)) == [
        "draft",
        "submitted",
        "returned",
        "submitted",
        "published",
    ]


def test_refusals_leave_the_sheet_as_it_was(people):
    club_scope, animator, _club = people["club"]
    pref_scope, agent, _ = people["prefecture"]
    gard_scope, gard_agent, _ = people["gard"]
    sheet = new_sheet(people)
    with pytest.raises(ValidationError):
        services.publish(sheet, scope=pref_scope, user=agent)  # a draft is not published
    with pytest.raises(ValidationError):
        services.submit(sheet, scope=pref_scope, user=agent)  # only its authors submit
    services.submit(sheet, scope=club_scope, user=animator)
    with pytest.raises(ValidationError):
        services.publish(sheet, scope=gard_scope, user=gard_agent)  # another département's préfecture
    with pytest.raises(ValidationError):
        services.publish(sheet, scope=club_scope, user=animator)  # authors don't review themselves
    with pytest.raises(ValidationError) as frozen:
        sheet.title = "Changé en relecture"
        services.save_sheet(sheet, scope=club_scope, user=animator)
    assert "ne se modifie plus" in str(frozen.value)
    sheet.refresh_from_db()
    assert sheet.status == Status.SUBMITTED and sheet.title != "Changé en relecture"
    assert sheet.transitions.count() == 2


def test_withdraw_by_the_reviewer_or_by_the_authors_once_published(people):
    club_scope, animator, _ = people["club"]
    pref_scope, agent, _ = people["prefecture"]
    sheet = new_sheet(people)
    with pytest.raises(ValidationError):
        services.withdraw(sheet, scope=club_scope, user=animator)  # a draft is simply kept or edited
    services.submit(sheet, scope=club_scope, user=animator)
    services.publish(sheet, scope=pref_scope, user=agent)
    services.withdraw(sheet, scope=club_scope, user=animator, comment="Action arrêtée.")
    sheet.refresh_from_db()
    assert sheet.status == Status.WITHDRAWN
    assert sheet.transitions.last().comment == "Action arrêtée."
    assert not PracticeSheet.objects.visible_to(people["gard"][0]).filter(pk=sheet.pk).exists()


def test_a_named_company_must_consent_before_publication(people):
    club_scope, animator, _ = people["club"]
    pref_scope, agent, _ = people["prefecture"]
    company_scope, company_user, company = people["company"]
    sheet = new_sheet(people, companies=[company])
    services.submit(sheet, scope=club_scope, user=animator)
    asked = Notification.objects.get(event="practice_consent")
    assert asked.deliveries.get().user == company_user

    with pytest.raises(ValidationError) as blocked:
        services.publish(sheet, scope=pref_scope, user=agent)
    assert "Garrigue (en attente)" in str(blocked.value)

    with pytest.raises(ValidationError):
        services.give_consent(sheet, scope=company_scope, user=company_user, given=False, comment="")
    services.give_consent(sheet, scope=company_scope, user=company_user, given=False, comment="Pas notre action.")
    with pytest.raises(ValidationError) as refused:
        services.publish(sheet, scope=pref_scope, user=agent)
    assert "Garrigue (refusé)" in str(refused.value)

    services.give_consent(sheet, scope=company_scope, user=company_user, given=True)
    services.publish(sheet, scope=pref_scope, user=agent)
    naming = sheet.named_companies.get()
    assert naming.consent == Consent.GIVEN and naming.consent_by == company_user


def test_a_refused_company_taken_out_by_the_authors_no_longer_blocks(people):
    club_scope, animator, _ = people["club"]
    pref_scope, agent, _ = people["prefecture"]
    company_scope, company_user, company = people["company"]
    sheet = new_sheet(people, companies=[company])
    services.submit(sheet, scope=club_scope, user=animator)
    services.give_consent(sheet, scope=company_scope, user=company_user, given=False, comment="Non.")
    services.return_to_authors(sheet, scope=pref_scope, user=agent, comment="Retirez Garrigue.")
    services.save_sheet(sheet, scope=club_scope, user=animator, companies=[])
    services.submit(sheet, scope=club_scope, user=animator)
    services.publish(sheet, scope=pref_scope, user=agent)
    assert PracticeSheet.objects.get(pk=sheet.pk).status == Status.PUBLISHED


def test_a_company_writing_a_sheet_consents_to_naming_itself(people):
    company_scope, company_user, company = people["company"]
    sheet = PracticeSheetFactory.build(author_organisation=None, departement=departement("34"))
    services.save_sheet(sheet, scope=company_scope, user=company_user, companies=[company])
    assert sheet.named_companies.get().consent == Consent.GIVEN


def test_a_partner_cannot_write_a_sheet(people):
    partner = OrganisationFactory(kind=OrganisationKind.PARTNER, departements=[departement("34")])
    sheet = PracticeSheetFactory.build(author_organisation=None)
    with pytest.raises(ValidationError):
        services.save_sheet(sheet, scope=Scope.for_organisation(partner), user=None)
    assert not PracticeSheet.objects.exists()


def test_figures_are_computed_from_the_linked_actions(people):
    sheet = new_sheet(people)
    first = ActionFactory(beneficiaries_total=12, beneficiaries_qpv=7, beneficiaries_women=6, hours=10)
    second = ActionFactory(
        beneficiaries_total=8, beneficiaries_qpv=3, beneficiaries_women=2, beneficiaries_under_26=8, hours="4.5"
    )
    ActionFactory(beneficiaries_total=100)  # not linked
    sheet.actions.set([first, second])
    figures = services.figures(sheet)
    assert figures["count"] == 2
    assert figures["beneficiaries"] == 20 and figures["qpv_residents"] == 10 and figures["women"] == 8
    assert float(figures["hours"]) == 14.5


def test_prefill_from_an_action():
    club = OrganisationFactory(kind=OrganisationKind.CLUB)
    action = ActionFactory(title="Stages de 3e à la Mosson", club=club, description="Quarante élèves.")
    company = CompanyFactory()
    action.companies.add(company)
    initial = services.prefill_from_action(action)
    assert initial["title"] == "Stages de 3e à la Mosson" and initial["what_was_done"] == "Quarante élèves."
    assert initial["family"] == action.action_type.family_id and initial["action_types"] == [action.action_type_id]
    assert initial["companies"] == [company.pk] and initial["clubs"] == [club.pk] and initial["actions"] == [action.pk]
    assert initial["departement"] == action.departement_id and initial["period_start"] == action.start_date.year
