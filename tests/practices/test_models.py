"""Who reads which sheet (`PracticeSheet.objects.visible_to`), and the database's own refusals."""

import pytest
from django.db import IntegrityError
from django.utils import timezone

from charte.comptes.models import OrganisationKind
from charte.comptes.scoping import Scope
from conventions.practices.models import PracticeCompany, PracticePublic, PracticeSheet
from tests.factories import CompanyFactory, OrganisationFactory, PracticeSheetFactory, departement

pytestmark = pytest.mark.django_db

Status = PracticeSheet.Status


def scope_of(kind, deps=("34",), **kwargs):
    org = OrganisationFactory(kind=kind, departements=[departement(code) for code in deps])
    return Scope.for_organisation(org), org


def test_publics_are_loaded_by_the_migration():
    assert PracticePublic.objects.filter(code="eleves_3e", label="Élèves de 3e").exists()
    assert PracticePublic.objects.count() >= 8


def test_a_draft_is_read_by_its_authors_and_reviewers_only():
    club_scope, club = scope_of(OrganisationKind.CLUB)
    draft = PracticeSheetFactory(author_organisation=club)
    other_club, _ = scope_of(OrganisationKind.CLUB)
    herault, _ = scope_of(OrganisationKind.PREFECTURE)
    gard, _ = scope_of(OrganisationKind.PREFECTURE, deps=("30",))
    national, _ = scope_of(OrganisationKind.NATIONAL, deps=())
    partner, _ = scope_of(OrganisationKind.PARTNER)

    def sees(scope):
        return PracticeSheet.objects.visible_to(scope).filter(pk=draft.pk).exists()

    assert sees(club_scope) and sees(herault) and sees(national)
    assert not sees(other_club) and not sees(gard) and not sees(partner) and not sees(Scope.none())


def test_a_published_sheet_is_read_by_every_signed_in_scope_and_public_only_when_chosen():
    sheet = PracticeSheetFactory(status=Status.PUBLISHED, published_at=timezone.now())
    partner, _ = scope_of(OrganisationKind.PARTNER, deps=("30",))
    assert PracticeSheet.objects.visible_to(partner).filter(pk=sheet.pk).exists()
    assert not PracticeSheet.objects.visible_to(Scope.none()).exists()
    assert not PracticeSheet.objects.published_public().exists()
    sheet.public = True
    sheet.save()
    assert list(PracticeSheet.objects.published_public()) == [sheet]


def test_a_named_company_reads_the_sheet_it_must_consent_to():
    company = CompanyFactory()
    account = OrganisationFactory(kind=OrganisationKind.COMPANY)
    company.organisation = account
    company.save()
    scope = Scope.for_organisation(account)
    sheet = PracticeSheetFactory(status=Status.SUBMITTED)
    assert not PracticeSheet.objects.visible_to(scope).exists()
    PracticeCompany.objects.create(sheet=sheet, company=company)
    assert list(PracticeSheet.objects.visible_to(scope)) == [sheet]


def test_the_database_refuses_a_period_ending_before_it_starts():
    with pytest.raises(IntegrityError):
        PracticeSheetFactory(period_start=2018, period_end=2016)
