"""The database itself refuses inconsistent rows, whatever path wrote them (forms, API, imports, bulk SQL).

Each expected failure runs in its own `transaction.atomic()` so that the test transaction stays usable
(PostgreSQL aborts a transaction after an error) and the row can be re-read afterwards.
"""

import datetime

import pytest
from django.db import IntegrityError, transaction

from charte.catalogue.models import Indicator
from charte.comptes.models import OrganisationKind
from charte.territoires.models import QPV
from conventions.models import Convention, Target
from tests.factories import (
    ActionFactory,
    ClubMembershipFactory,
    CommitmentFactory,
    CompanyFactory,
    ConventionFactory,
    EstablishmentFactory,
    MembershipFactory,
    OrganisationFactory,
    TargetFactory,
    UserFactory,
    departement,
    indicator,
)

pytestmark = pytest.mark.django_db


def assert_refused(write, match=None):
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        write()
    if match:
        assert match in str(excinfo.value)


# --- accounts, territories, catalogue ----------------------------------------------------------------


def test_one_membership_per_user_and_organisation():
    user, organisation = UserFactory(), OrganisationFactory()
    MembershipFactory(user=user, organisation=organisation)
    MembershipFactory(user=user, organisation=OrganisationFactory())  # another organisation: fine

    assert_refused(lambda: MembershipFactory(user=user, organisation=organisation))
    assert user.memberships.count() == 2


def test_club_without_network_is_refused():
    OrganisationFactory(kind=OrganisationKind.CLUB, network="face")
    assert_refused(lambda: OrganisationFactory(kind=OrganisationKind.CLUB, network=""))


def test_qpv_code_must_match_its_generation():
    def qpv(code, generation):
        return QPV.objects.create(code=code, name="Quartier test", generation=generation, departement=departement("34"))

    qpv("QP034999", 2015)
    qpv("QN03499Z", 2024)
    assert_refused(lambda: qpv("QN03498Z", 2015))
    assert_refused(lambda: qpv("QP034998", 2024))


def test_ratio_indicator_needs_numerator_and_denominator():
    def create(code, **kwargs):
        return Indicator.objects.create(code=code, label=code, unit="%", type="resultats", nature="realised", **kwargs)

    create("RATIO_OK", aggregation="ratio", numerator=indicator("BENEFICIAIRES_QPV"), denominator=indicator("BENEFICIAIRES"))
    assert_refused(lambda: create("RATIO_SANS_TERMES", aggregation="ratio"))
    assert_refused(lambda: create("RATIO_SANS_DENOMINATEUR", aggregation="ratio", numerator=indicator("BENEFICIAIRES_QPV")))
    assert_refused(lambda: create("SOMME_AVEC_TERMES", aggregation="sum", numerator=indicator("BENEFICIAIRES_QPV")))


# --- companies ---------------------------------------------------------------------------------------


def test_one_head_office_per_company():
    company = CompanyFactory()
    EstablishmentFactory(company=company, is_head_office=True)
    EstablishmentFactory(company=company, is_head_office=False)
    EstablishmentFactory(is_head_office=True)  # another company's head office: fine

    assert_refused(lambda: EstablishmentFactory(company=company, is_head_office=True))
    assert company.establishments.filter(is_head_office=True).count() == 1


def test_club_membership_end_before_start_is_refused():
    ClubMembershipFactory(start_date=datetime.date(2016, 1, 1), end_date=datetime.date(2016, 1, 1))
    assert_refused(lambda: ClubMembershipFactory(start_date=datetime.date(2016, 1, 1), end_date=datetime.date(2015, 12, 31)))


# --- conventions -------------------------------------------------------------------------------------


def test_convention_end_before_start_is_refused():
    assert_refused(lambda: ConventionFactory(start_date=datetime.date(2018, 1, 1), end_date=datetime.date(2017, 12, 31)))


def test_local_convention_needs_a_departement():
    ConventionFactory(kind=Convention.Kind.NATIONAL, departement=None)
    for kind in (Convention.Kind.LOCAL, Convention.Kind.COLLECTIVE, Convention.Kind.FRAMEWORK):
        assert_refused(lambda kind=kind: ConventionFactory(kind=kind, departement=None))


def test_termination_without_reason_is_refused_by_the_database():
    assert_refused(lambda: ConventionFactory(status=Convention.Status.TERMINATED, termination_reason=""))

    convention = ConventionFactory(status=Convention.Status.ACTIVE)
    # A bulk update goes around services.terminate(): the CHECK constraint still holds.
    assert_refused(lambda: Convention.objects.filter(pk=convention.pk).update(status=Convention.Status.TERMINATED))
    assert Convention.objects.get(pk=convention.pk).status == Convention.Status.ACTIVE


def test_action_sub_counts_cannot_exceed_the_total():
    ActionFactory(beneficiaries_total=6, beneficiaries_women=6, beneficiaries_under_26=6, beneficiaries_qpv=6)
    for field in ("beneficiaries_women", "beneficiaries_under_26", "beneficiaries_qpv"):
        counts = {"beneficiaries_total": 5, "beneficiaries_women": 0, "beneficiaries_under_26": 0, "beneficiaries_qpv": 0}
        counts[field] = 6
        assert_refused(lambda counts=counts: ActionFactory(**counts))


def test_unique_target_per_indicator_and_year():
    commitment = CommitmentFactory()
    TargetFactory(commitment=commitment, year=2017)
    TargetFactory(commitment=commitment, year=2018)
    TargetFactory(commitment=commitment, year=2017, indicator=indicator("STAGE3_OFFERTS"))

    assert_refused(lambda: TargetFactory(commitment=commitment, year=2017))


# --- target years inside the convention's period (triggers of migration conventions.0002) ------------

OUTSIDE = "hors de la période"


@pytest.fixture
def commitment():
    """A commitment of a 2016-01-01 .. 2018-12-31 convention."""
    return CommitmentFactory(
        convention=ConventionFactory(start_date=datetime.date(2016, 1, 1), end_date=datetime.date(2018, 12, 31))
    )


def test_target_inside_the_period_is_accepted(commitment):
    for year in (2016, 2017, 2018):
        TargetFactory(commitment=commitment, year=year)
    assert commitment.targets.count() == 3


@pytest.mark.parametrize("year", [2015, 2019])
def test_target_insert_outside_the_period_is_refused(commitment, year):
    assert_refused(lambda: TargetFactory(commitment=commitment, year=year), OUTSIDE)
    assert_refused(
        lambda: Target.objects.bulk_create([Target(commitment=commitment, indicator=indicator(), year=year, value=1)]), OUTSIDE
    )
    assert not commitment.targets.exists()


def test_target_update_outside_the_period_is_refused(commitment):
    target = TargetFactory(commitment=commitment, year=2017)

    def move_out():
        target.year = 2020
        target.save()

    assert_refused(move_out, OUTSIDE)
    assert_refused(lambda: Target.objects.filter(pk=target.pk).update(year=2015), OUTSIDE)
    assert Target.objects.get(pk=target.pk).year == 2017


def test_target_moved_to_a_commitment_of_another_period_is_refused(commitment):
    target = TargetFactory(commitment=commitment, year=2016)
    later_convention = ConventionFactory(start_date=datetime.date(2019, 1, 1), end_date=datetime.date(2021, 12, 31))
    later = CommitmentFactory(convention=later_convention)
    assert_refused(lambda: Target.objects.filter(pk=target.pk).update(commitment=later), OUTSIDE)
    assert Target.objects.get(pk=target.pk).commitment_id == commitment.pk


def test_commitment_moved_to_a_convention_not_covering_its_targets_is_refused(commitment):
    TargetFactory(commitment=commitment, year=2016)
    later = ConventionFactory(start_date=datetime.date(2019, 1, 1), end_date=datetime.date(2021, 12, 31))
    covering = ConventionFactory(start_date=datetime.date(2015, 6, 1), end_date=datetime.date(2017, 5, 31))

    with pytest.raises(IntegrityError), transaction.atomic():
        type(commitment).objects.filter(pk=commitment.pk).update(convention=later)
    type(commitment).objects.filter(pk=commitment.pk).update(convention=covering)
    commitment.refresh_from_db()
    assert commitment.convention_id == covering.pk


def test_convention_dates_change_leaving_targets_outside_is_refused(commitment):
    convention = commitment.convention
    TargetFactory(commitment=commitment, year=2016)
    TargetFactory(commitment=commitment, year=2018)

    def shorten():
        convention.end_date = datetime.date(2017, 12, 31)
        convention.save()

    assert_refused(shorten, "hors de sa période")
    assert_refused(lambda: Convention.objects.filter(pk=convention.pk).update(start_date=datetime.date(2017, 1, 1)))

    # Dates that still cover 2016..2018 are accepted (the trigger checks, it does not freeze the dates).
    Convention.objects.filter(pk=convention.pk).update(start_date=datetime.date(2016, 9, 1), end_date=datetime.date(2019, 6, 30))
    stored = Convention.objects.get(pk=convention.pk)
    assert (stored.start_date, stored.end_date) == (datetime.date(2016, 9, 1), datetime.date(2019, 6, 30))
