"""The convention lifecycle (conventions.services): every allowed transition, every refused one."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from conventions import services, tasks
from conventions.models import Commitment, Convention, Signatory, Target
from tests.factories import (
    CommitmentFactory,
    CompanyFactory,
    ConventionFactory,
    OrganisationFactory,
    SignatoryFactory,
    TargetFactory,
    UserFactory,
    indicator,
)

pytestmark = pytest.mark.django_db

S = Convention.Status

# Dates inside / after the factory's 2016-2018 period, so that only the status decides.
DURING = datetime.date(2016, 6, 1)
AFTER = datetime.date(2019, 1, 15)


def run(operation, convention, user):
    """Call one service with arguments that satisfy everything but the status."""
    calls = {
        "submit_for_negotiation": lambda: services.submit_for_negotiation(convention, by=user),
        "back_to_draft": lambda: services.back_to_draft(convention, by=user),
        "sign": lambda: services.sign(convention, by=user),
        "activate": lambda: services.activate(convention, by=user, today=DURING),
        "expire": lambda: services.expire(convention, today=AFTER),
        "terminate": lambda: services.terminate(convention, by=user, reason="L'entreprise a cessé son activité."),
        "renew": lambda: services.renew(
            convention, by=user, start_date=datetime.date(2019, 1, 1), end_date=datetime.date(2021, 12, 31)
        ),
    }
    return calls[operation]()


OPERATIONS = ["submit_for_negotiation", "back_to_draft", "sign", "activate", "expire", "terminate", "renew"]

# Written out independently of services.TRANSITIONS so that a wrong edit of the table makes tests fail.
ALLOWED = {
    (S.DRAFT, "submit_for_negotiation"): S.NEGOTIATION,
    (S.NEGOTIATION, "back_to_draft"): S.DRAFT,
    (S.NEGOTIATION, "sign"): S.SIGNED,
    (S.SIGNED, "activate"): S.ACTIVE,
    (S.ACTIVE, "expire"): S.EXPIRED,
    (S.DRAFT, "terminate"): S.TERMINATED,
    (S.NEGOTIATION, "terminate"): S.TERMINATED,
    (S.SIGNED, "terminate"): S.TERMINATED,
    (S.ACTIVE, "terminate"): S.TERMINATED,
}
RENEWABLE = {S.ACTIVE, S.EXPIRED}
REFUSED = [
    (status, operation)
    for status, operation in itertools.product(S, OPERATIONS)
    if (status, operation) not in ALLOWED and not (operation == "renew" and status in RENEWABLE)
]


def make_convention(status, **kwargs):
    """A convention in `status` with a dated signatory and a commitment with a 2017 target."""
    reason = "Motif de résiliation" if status == S.TERMINATED else ""
    convention = ConventionFactory(status=status, termination_reason=reason, **kwargs)
    SignatoryFactory(convention=convention)
    TargetFactory(commitment=CommitmentFactory(convention=convention), year=2017)
    return convention


def snapshot(convention):
    return {
        "row": Convention.objects.filter(pk=convention.pk).values().get(),
        "conventions": Convention.objects.count(),
        "signatories": Signatory.objects.count(),
        "commitments": Commitment.objects.count(),
        "targets": Target.objects.count(),
    }


def error_text(excinfo):
    return " ".join(excinfo.value.messages)


def test_the_refused_pairs_cover_every_status_and_operation():
    assert len(REFUSED) + len(ALLOWED) + len(RENEWABLE) == len(S) * len(OPERATIONS)
    # The service table agrees with the one written here.
    allowed_in_services = {(source, target) for source, targets in services.TRANSITIONS.items() for target in targets}
    assert allowed_in_services == {(source, target) for (source, _), target in ALLOWED.items()}


@pytest.mark.parametrize(("status", "operation"), list(ALLOWED), ids=lambda v: str(v))
def test_allowed_transition_changes_status_in_database(status, operation):
    convention = make_convention(status)
    before = timezone.now()

    run(operation, convention, UserFactory())

    stored = Convention.objects.get(pk=convention.pk)
    assert stored.status == ALLOWED[(status, operation)]
    assert stored.status_changed_at is not None
    assert before <= stored.status_changed_at <= timezone.now()
    # The caller's instance follows, so a view re-rendering it does not show the old status.
    assert convention.status == stored.status


@pytest.mark.parametrize(("status", "operation"), REFUSED, ids=lambda v: str(v))
def test_refused_transition_raises_french_message_and_writes_nothing(status, operation):
    convention = make_convention(status)
    before = snapshot(convention)

    with pytest.raises(ValidationError) as excinfo:
        run(operation, convention, UserFactory())

    message = error_text(excinfo)
    assert message.startswith("Une convention ")
    assert "ne peut pas être" in message
    assert services.STATUS_PHRASES[status] in message
    assert snapshot(convention) == before


def test_refusal_explains_the_missing_step():
    convention = make_convention(S.DRAFT)
    with pytest.raises(ValidationError) as excinfo:
        services.activate(convention, by=UserFactory(), today=DURING)
    assert excinfo.value.messages == ["Une convention en brouillon ne peut pas être activée : elle doit d'abord être signée."]


def test_refusal_of_a_closed_convention():
    convention = make_convention(S.EXPIRED)
    with pytest.raises(ValidationError) as excinfo:
        services.terminate(convention, by=UserFactory(), reason="Trop tard")
    assert excinfo.value.messages == ["Une convention échue ne peut pas être résiliée : une convention close n'évolue plus."]


def test_the_status_is_read_from_the_database_not_from_a_stale_instance():
    convention = make_convention(S.NEGOTIATION)
    stale = Convention.objects.get(pk=convention.pk)
    services.terminate(convention, by=UserFactory(), reason="Abandon du projet")

    # `stale` still says "negotiation"; signing it must be judged on the stored status.
    with pytest.raises(ValidationError) as excinfo:
        services.sign(stale, by=UserFactory())
    assert "Une convention résiliée" in error_text(excinfo)
    assert Convention.objects.get(pk=convention.pk).status == S.TERMINATED


def test_status_is_not_editable_in_forms():
    assert Convention._meta.get_field("status").editable is False
    assert not hasattr(services, "set_status")


# --- signing -----------------------------------------------------------------------------------------


def test_sign_without_any_signatory_is_refused():
    convention = ConventionFactory(status=S.NEGOTIATION)
    with pytest.raises(ValidationError) as excinfo:
        services.sign(convention, by=UserFactory())
    assert "sans au moins un signataire" in error_text(excinfo)
    assert Convention.objects.get(pk=convention.pk).status == S.NEGOTIATION


def test_sign_with_only_undated_signatories_is_refused_and_creates_none():
    convention = ConventionFactory(status=S.NEGOTIATION)
    SignatoryFactory(convention=convention, signed_on=None)
    with pytest.raises(ValidationError):
        services.sign(
            convention,
            by=UserFactory(),
            signatories=[{"role": Signatory.Role.COMPANY_DIRECTOR, "name": "Mme Durand", "organisation_name": "BRL"}],
        )
    assert convention.signatories.count() == 1
    assert Convention.objects.get(pk=convention.pk).status == S.NEGOTIATION


def test_sign_creates_the_signatories_given_with_the_signature_date():
    convention = ConventionFactory(status=S.NEGOTIATION)
    services.sign(
        convention,
        by=UserFactory(),
        signed_on=datetime.date(2016, 2, 3),
        signatories=[
            {"role": Signatory.Role.PREFET, "name": "M. le préfet", "organisation_name": "Préfecture de l'Hérault"},
            {
                "role": Signatory.Role.CLUB_PRESIDENT,
                "name": "Mme Roux",
                "organisation_name": "FACE Hérault",
                "signed_on": datetime.date(2016, 2, 5),
            },
        ],
    )
    stored = list(Signatory.objects.filter(convention=convention).values_list("name", "signed_on"))
    assert stored == [("M. le préfet", datetime.date(2016, 2, 3)), ("Mme Roux", datetime.date(2016, 2, 5))]
    assert Convention.objects.get(pk=convention.pk).status == S.SIGNED


def test_sign_refuses_an_invalid_signatory_with_a_french_message():
    convention = ConventionFactory(status=S.NEGOTIATION)
    with pytest.raises(ValidationError) as excinfo:
        services.sign(
            convention,
            by=UserFactory(),
            signed_on=datetime.date(2016, 2, 3),
            signatories=[{"role": "pape", "name": "X", "organisation_name": "Y"}],
        )
    assert "role" in excinfo.value.message_dict
    assert not convention.signatories.exists()
    assert Convention.objects.get(pk=convention.pk).status == S.NEGOTIATION


def test_sign_refuses_a_signature_date_in_the_future():
    convention = make_convention(S.NEGOTIATION)
    with pytest.raises(ValidationError) as excinfo:
        services.sign(convention, by=UserFactory(), signed_on=timezone.localdate() + datetime.timedelta(days=1))
    assert error_text(excinfo) == "La date de signature ne peut pas être dans le futur."
    assert Convention.objects.get(pk=convention.pk).status == S.NEGOTIATION


# --- activation and expiry ---------------------------------------------------------------------------


def test_activate_before_the_start_date_is_allowed():
    convention = make_convention(S.SIGNED)
    services.activate(convention, by=UserFactory(), today=datetime.date(2015, 12, 1))
    assert Convention.objects.get(pk=convention.pk).status == S.ACTIVE


def test_activate_after_the_end_date_is_refused():
    convention = make_convention(S.SIGNED)
    with pytest.raises(ValidationError) as excinfo:
        services.activate(convention, by=UserFactory(), today=AFTER)
    assert error_text(excinfo) == "La convention a pris fin le 31/12/2018 : elle ne peut plus être activée."
    assert Convention.objects.get(pk=convention.pk).status == S.SIGNED


def test_expire_before_the_end_date_is_refused():
    convention = make_convention(S.ACTIVE)
    with pytest.raises(ValidationError) as excinfo:
        services.expire(convention, today=datetime.date(2018, 12, 31))
    assert "court jusqu'au 31/12/2018" in error_text(excinfo)
    assert Convention.objects.get(pk=convention.pk).status == S.ACTIVE


def test_expire_due_conventions_closes_only_active_ones_past_their_end():
    due = [ConventionFactory(status=S.ACTIVE, end_date=datetime.date(2018, 12, 31)) for _ in range(2)]
    running = ConventionFactory(status=S.ACTIVE, end_date=datetime.date(2019, 6, 30))
    signed_past = ConventionFactory(status=S.SIGNED, end_date=datetime.date(2018, 12, 31))

    assert services.expire_due_conventions(today=AFTER) == 2

    statuses = dict(Convention.objects.values_list("pk", "status"))
    assert [statuses[c.pk] for c in due] == [S.EXPIRED, S.EXPIRED]
    assert statuses[running.pk] == S.ACTIVE
    assert statuses[signed_past.pk] == S.SIGNED
    assert all(Convention.objects.get(pk=c.pk).status_changed_at for c in due)
    # Each expiry is in the convention's history, with its reason, like any other transition.
    for convention in due:
        latest = Convention.history.filter(id=convention.pk).latest("history_date")
        assert latest.status == S.EXPIRED and latest.history_change_reason == f"Échéance atteinte le {AFTER:%d/%m/%Y}"
    assert not Convention.history.filter(id=running.pk, status=S.EXPIRED).exists()
    # Run twice: nothing left to close.
    assert services.expire_due_conventions(today=AFTER) == 0


def test_the_daily_task_expires_due_conventions(settings):
    due = ConventionFactory(status=S.ACTIVE, end_date=datetime.date(2018, 12, 31))
    assert tasks.expire_due_conventions.apply(kwargs={"today": AFTER.isoformat()}).get() == {"expired": 1}
    assert Convention.objects.get(pk=due.pk).status == S.EXPIRED
    assert settings.CELERY_BEAT_SCHEDULE["echeance-conventions"]["task"] == "conventions.expire_due_conventions"


# --- termination -------------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_terminate_without_reason_is_refused(reason):
    convention = make_convention(S.ACTIVE)
    before = snapshot(convention)
    with pytest.raises(ValidationError) as excinfo:
        services.terminate(convention, by=UserFactory(), reason=reason)
    assert excinfo.value.message_dict == {"termination_reason": ["Une résiliation doit être motivée."]}
    assert snapshot(convention) == before


def test_terminate_stores_the_reason():
    convention = make_convention(S.SIGNED)
    services.terminate(convention, by=UserFactory(), reason="  Cessation d'activité  ")
    stored = Convention.objects.get(pk=convention.pk)
    assert (stored.status, stored.termination_reason) == (S.TERMINATED, "Cessation d'activité")


# --- renewal -----------------------------------------------------------------------------------------


def test_renew_creates_a_draft_successor_with_commitments_and_targets_for_the_new_years():
    national = ConventionFactory(kind=Convention.Kind.NATIONAL, departement=None, reference="NAT-2015-ENGIE")
    framework = ConventionFactory(kind=Convention.Kind.FRAMEWORK, reference="034-CADRE")
    club = OrganisationFactory(kind="club", name="FACE Hérault")
    convention = ConventionFactory(
        status=S.ACTIVE,
        reference="034-2016-0042",
        generation=Convention.Generation.SECOND,
        parent=national,
        framework=framework,
        club=club,
    )
    companies = [CompanyFactory(), CompanyFactory()]
    convention.companies.set(companies)
    internships = CommitmentFactory(convention=convention, description="Stages de 3e")
    for year, value in [(2016, 5), (2017, 8), (2018, 10)]:
        TargetFactory(commitment=internships, indicator=indicator("STAGE3_ACCUEILLIS"), year=year, value=value)
    TargetFactory(commitment=internships, indicator=indicator("STAGE3_OFFERTS"), year=2016, value=12)
    CommitmentFactory(convention=convention, description="Sans objectif chiffré")
    user = UserFactory()

    successor = services.renew(convention, by=user, start_date=datetime.date(2019, 1, 1), end_date=datetime.date(2020, 12, 31))

    successor = Convention.objects.get(pk=successor.pk)
    assert successor.status == S.DRAFT
    assert successor.predecessor_id == convention.pk
    assert Convention.objects.get(pk=convention.pk).successor == successor
    assert Convention.objects.get(pk=convention.pk).status == S.ACTIVE
    assert successor.reference == "034-2016-0042-R1"
    assert (successor.kind, successor.departement_id, successor.club_id) == (convention.kind, convention.departement_id, club.pk)
    assert (successor.parent_id, successor.framework_id, successor.generation) == (national.pk, framework.pk, 2)
    assert successor.created_by == user
    assert set(successor.companies.all()) == set(companies)
    assert sorted(successor.commitments.values_list("description", flat=True)) == ["Sans objectif chiffré", "Stages de 3e"]
    targets = set(Target.objects.filter(commitment__convention=successor).values_list("indicator__code", "year", "value"))
    assert targets == {
        ("STAGE3_ACCUEILLIS", 2019, Decimal("10")),
        ("STAGE3_ACCUEILLIS", 2020, Decimal("10")),
        ("STAGE3_OFFERTS", 2019, Decimal("12")),
        ("STAGE3_OFFERTS", 2020, Decimal("12")),
    }
    # The past targets stay with the original convention.
    assert Target.objects.filter(commitment__convention=convention).count() == 4
    # The carried targets have their history row, by who renewed (bulk writes included).
    history = Target.history.filter(commitment__convention=successor)
    assert history.count() == 4 and {(h.history_type, h.history_user_id) for h in history} == {("+", user.pk)}


def test_renew_twice_is_refused_and_renewing_the_successor_numbers_on():
    convention = make_convention(S.EXPIRED, reference="030-2016-0007")
    user = UserFactory()
    first = services.renew(convention, by=user, start_date=datetime.date(2019, 1, 1), end_date=datetime.date(2019, 12, 31))

    count = Convention.objects.count()
    with pytest.raises(ValidationError) as excinfo:
        services.renew(convention, by=user, start_date=datetime.date(2020, 1, 1), end_date=datetime.date(2020, 12, 31))
    assert error_text(excinfo) == "Cette convention a déjà été renouvelée."
    assert Convention.objects.count() == count

    # The successor, once it has run, renews into -R2 rather than -R1-R1.
    Convention.objects.filter(pk=first.pk).update(status=S.ACTIVE)
    second = services.renew(first, by=user, start_date=datetime.date(2020, 1, 1), end_date=datetime.date(2020, 12, 31))
    assert (first.reference, second.reference) == ("030-2016-0007-R1", "030-2016-0007-R2")


def test_renew_with_end_before_start_is_refused_and_creates_nothing():
    convention = make_convention(S.ACTIVE)
    before = snapshot(convention)
    with pytest.raises(ValidationError) as excinfo:
        services.renew(convention, by=UserFactory(), start_date=datetime.date(2020, 1, 1), end_date=datetime.date(2019, 1, 1))
    assert "La date de fin doit être postérieure à la date de début." in error_text(excinfo)
    assert snapshot(convention) == before
