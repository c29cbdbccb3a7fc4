"""Factories for behaviour tests. SIREN/SIRET are generated valid (Luhn) so that model validation passes."""

import datetime

import factory
from factory.django import DjangoModelFactory

from charte.catalogue.models import ActionType, Family, Indicator
from charte.comptes.models import Membership, Organisation, OrganisationKind, User
from charte.territoires.models import QPV, Commune, Departement
from conventions.models import Action, Commitment, Convention, Signatory, Target
from conventions.practices.models import PracticeSheet
from entreprises.models import ClubMembership, Company, Establishment
from entreprises.validators import luhn_ok


def with_luhn_key(prefix: str) -> str:
    """Append the digit that makes prefix + digit pass the Luhn check."""
    for digit in "0123456789":
        if luhn_ok(prefix + digit):
            return prefix + digit
    raise AssertionError("unreachable")


def departement(code="34"):
    return Departement.objects.get(code=code)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"personne{n}@example.org")
    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Martin{n}")
    password = factory.django.Password("motdepasse-solide-1")


class OrganisationFactory(DjangoModelFactory):
    class Meta:
        model = Organisation
        skip_postgeneration_save = True

    kind = OrganisationKind.PREFECTURE
    name = factory.Sequence(lambda n: f"Organisation {n}")
    network = factory.LazyAttribute(lambda o: "face" if o.kind == OrganisationKind.CLUB else "")
    partner_category = factory.LazyAttribute(lambda o: "collectivite" if o.kind == OrganisationKind.PARTNER else "")

    @factory.post_generation
    def departements(self, create, extracted, **kwargs):
        if create and extracted:
            self.departements.set(extracted)


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)


class CommuneFactory(DjangoModelFactory):
    class Meta:
        model = Commune
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"34{n % 1000:03d}")
    name = factory.Sequence(lambda n: f"Commune {n}")
    departement = factory.LazyFunction(lambda: departement("34"))


class QPVFactory(DjangoModelFactory):
    class Meta:
        model = QPV
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"QP034{n % 1000:03d}")
    name = factory.Sequence(lambda n: f"Quartier {n}")
    generation = 2015
    departement = factory.LazyFunction(lambda: departement("34"))
    population = 2500


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = Company

    siren = factory.Sequence(lambda n: with_luhn_key(f"{40000000 + n:08d}"))
    name = factory.Sequence(lambda n: f"Entreprise {n}")
    size = Company.Size.PME


class EstablishmentFactory(DjangoModelFactory):
    class Meta:
        model = Establishment

    company = factory.SubFactory(CompanyFactory)
    siret = factory.LazyAttributeSequence(lambda o, n: with_luhn_key(f"{o.company.siren}{n % 10000:04d}"))


class ClubMembershipFactory(DjangoModelFactory):
    class Meta:
        model = ClubMembership

    company = factory.SubFactory(CompanyFactory)
    club = factory.SubFactory(OrganisationFactory, kind=OrganisationKind.CLUB)
    start_date = datetime.date(2015, 1, 1)


class ConventionFactory(DjangoModelFactory):
    class Meta:
        model = Convention

    reference = factory.Sequence(lambda n: f"034-2016-{n:04d}")
    title = factory.Sequence(lambda n: f"Convention {n}")
    kind = Convention.Kind.LOCAL
    start_date = datetime.date(2016, 1, 1)
    end_date = datetime.date(2018, 12, 31)
    departement = factory.LazyFunction(lambda: departement("34"))


class SignatoryFactory(DjangoModelFactory):
    class Meta:
        model = Signatory

    convention = factory.SubFactory(ConventionFactory)
    role = Signatory.Role.PREFET
    name = "Le préfet de l'Hérault"
    organisation_name = "Préfecture de l'Hérault"
    signed_on = datetime.date(2016, 2, 1)


def family(code="EDU"):
    return Family.objects.get(code=code)


def action_type(code="STAGE_3E"):
    return ActionType.objects.get(code=code)


def indicator(code="STAGE3_ACCUEILLIS"):
    return Indicator.objects.get(code=code)


class CommitmentFactory(DjangoModelFactory):
    class Meta:
        model = Commitment

    convention = factory.SubFactory(ConventionFactory)
    family = factory.LazyFunction(family)
    action_type = factory.LazyFunction(action_type)
    description = "Accueillir des stagiaires de 3e issus des quartiers."


class TargetFactory(DjangoModelFactory):
    class Meta:
        model = Target

    commitment = factory.SubFactory(CommitmentFactory)
    indicator = factory.LazyFunction(indicator)
    year = 2017
    value = 10


class ActionFactory(DjangoModelFactory):
    class Meta:
        model = Action

    action_type = factory.LazyFunction(action_type)
    title = factory.Sequence(lambda n: f"Action {n}")
    start_date = datetime.date(2016, 3, 14)
    departement = factory.LazyFunction(lambda: departement("34"))
    beneficiaries_total = 10
    beneficiaries_women = 5
    beneficiaries_under_26 = 10
    beneficiaries_qpv = 6


class PracticeSheetFactory(DjangoModelFactory):
    """A draft sheet of a club of the Hérault; pass `author_organisation` (and `status`/`published_at`) as needed."""

    class Meta:
        model = PracticeSheet

    title = factory.Sequence(lambda n: f"Fiche {n}")
    problem = "Les élèves de 3e des quartiers ne trouvent pas de stage."
    what_was_done = "Le club a réuni ses entreprises pour proposer des stages d'observation."
    departement = factory.LazyFunction(lambda: departement("34"))
    period_start = 2017
    family = factory.LazyFunction(family)
    author_organisation = factory.SubFactory(OrganisationFactory, kind=OrganisationKind.CLUB)
