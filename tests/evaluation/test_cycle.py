"""The declaration cycle through evaluation.campaigns.services: fill, submit, return, correct, resubmit, validate;
and every refusal (dates, statuses, permissions, stale versions)."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from evaluation.campaigns import services
from evaluation.models import Declaration, DeclarationValue
from tests.evaluation.conftest import AFTER, DURING, OPENS, key

S = Declaration.Status


def fill(w, value="8", comment="Collège Las Cazes", today=DURING, by=None):
    d = w.declaration
    d.refresh_from_db()
    return services.save_draft(
        d, by or w.company_user, {key(w.commitment, "STAGE3_ACCUEILLIS"): (value, comment)}, d.version, today=today
    )


def test_whole_cycle_fill_submit_return_correct_resubmit_validate(world, django_capture_on_commit_callbacks, mailoutbox):
    w, d = world, world.declaration
    assert d.status == S.DRAFT and d.version == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert fill(w, "8") == 1
        services.submit(d, w.company_user, scope=w.company_scope, today=DURING)
        d.refresh_from_db()
        assert (d.status, d.submitted_by) == (S.SUBMITTED, w.company_user)

        services.return_declaration(d, w.animator, w.club_scope, "Le nombre d'élèves semble bas : vérifiez.", today=DURING)
    d.refresh_from_db()
    assert (d.status, d.returned_by, d.return_comment) == (S.RETURNED, w.animator, "Le nombre d'élèves semble bas : vérifiez.")
    # Submitted: the club and the préfecture; returned: the company's members, one e-mail each.
    submitted = [m.to for m in mailoutbox if "à vérifier" in m.subject]
    returned = [m for m in mailoutbox if "renvoyée" in m.subject]
    assert sorted(submitted) == [["agent@herault.gouv.fr"], ["animatrice@face-herault.org"]]
    assert sorted(m.to for m in returned) == [["claire@brl.example"], ["paul@brl.example"]]
    assert "Le nombre d'élèves semble bas" in returned[0].body

    with django_capture_on_commit_callbacks(execute=True):
        fill(w, "11", "Trois élèves de plus, oubliés")
        services.submit(d, w.company_user, scope=w.company_scope, today=DURING)
        services.validate(d, w.prefecture_user, w.prefecture_scope, today=DURING)
    d.refresh_from_db()
    assert (d.status, d.validated_by) == (S.VALIDATED, w.prefecture_user)
    assert DeclarationValue.objects.get(declaration=d).value == Decimal("11.00")
    validated = [m.to for m in mailoutbox if "validée" in m.subject]
    assert sorted(validated) == [["claire@brl.example"], ["paul@brl.example"]]
    assert len(mailoutbox) == 8  # 2 + 2 submitted, 2 returned, 2 validated


def test_a_value_must_be_a_non_negative_number_with_two_decimals(world):
    w, d = world, world.declaration
    line = key(w.commitment, "STAGE3_ACCUEILLIS")
    for raw, message in [("-1", "négative"), ("douze", "nombre"), ("1.234", "décimales")]:
        with pytest.raises(ValidationError) as error:
            services.save_draft(d, w.company_user, {line: (raw, "")}, d.version, today=DURING)
        assert message in str(error.value.message_dict[services.value_key(*line)])
    assert not DeclarationValue.objects.exists()
    services.save_draft(d, w.company_user, {line: ("12,5", "")}, d.version, today=DURING)
    assert DeclarationValue.objects.get().value == Decimal("12.50")


def test_only_the_indicators_of_the_commitments_can_be_declared(world):
    w, d = world, world.declaration
    with pytest.raises(ValidationError) as error:
        services.save_draft(d, w.company_user, {key(w.commitment, "EMBAUCHES"): ("3", "")}, d.version, today=DURING)
    assert "ne fait pas partie des engagements" in str(error.value)
    # Suggested by the action type without a target: declarable.
    services.save_draft(d, w.company_user, {key(w.commitment, "STAGE3_OFFERTS"): ("15", "")}, d.version, today=DURING)
    # A ratio is computed, never declared, even when its terms are.
    with pytest.raises(ValidationError):
        services.save_draft(d, w.company_user, {key(w.commitment, "PART_BENEFICIAIRES_QPV"): ("50", "")}, d.version, today=DURING)


def test_submit_needs_a_value_for_each_indicator_with_a_target_of_the_year(world):
    w, d = world, world.declaration
    services.save_draft(d, w.company_user, {key(w.commitment, "STAGE3_OFFERTS"): ("15", "")}, d.version, today=DURING)
    with pytest.raises(ValidationError) as error:
        services.submit(d, w.company_user, today=DURING)
    assert "Élèves de 3e accueillis en stage" in error.value.messages[0]
    d.refresh_from_db()
    assert d.status == S.DRAFT
    fill(w, "0")  # nothing realised is still an answer
    services.submit(d, w.company_user, today=DURING)
    assert d.status == S.SUBMITTED


def test_edit_after_submission_is_refused_until_returned(world):
    w, d = world, world.declaration
    fill(w, "8")
    services.submit(d, w.company_user, today=DURING)
    with pytest.raises(ValidationError, match="transmise le .* n'est plus modifiable"):
        fill(w, "9")
    with pytest.raises(ValidationError):
        services.submit(d, w.company_user, today=DURING)
    assert DeclarationValue.objects.get().value == Decimal("8")
    assert not services.can_be_edited(d, DURING)


def test_validated_declaration_cannot_be_edited_nor_returned(world):
    w, d = world, world.declaration
    fill(w)
    services.submit(d, w.company_user, today=DURING)
    services.validate(d, w.animator, w.club_scope, today=DURING)
    with pytest.raises(ValidationError, match="validée"):
        fill(w, "9")
    with pytest.raises(ValidationError, match="Seule une déclaration transmise"):
        services.return_declaration(d, w.prefecture_user, w.prefecture_scope, "Erreur", today=DURING)


def test_submit_after_close_is_refused(world):
    w, d = world, world.declaration
    fill(w)
    with pytest.raises(ValidationError, match="close depuis le 31/03/2018"):
        services.submit(d, w.company_user, today=AFTER)
    with pytest.raises(ValidationError, match="verrouillée"):
        fill(w, "9", today=AFTER)
    d.refresh_from_db()
    assert d.status == S.DRAFT


def test_nothing_can_be_entered_before_the_campaign_opens(world):
    w = world
    before = OPENS.replace(day=14)
    with pytest.raises(ValidationError, match="ouvre le 15/01/2018"):
        fill(w, today=before)


@pytest.mark.parametrize(
    "actor",
    ["other_animator", "gard_user", "company_user"],
    ids=["club étranger", "préfecture d'un autre département", "entreprise"],
)
def test_validate_and_return_refused_outside_the_validators(world, actor):
    w, d = world, world.declaration
    fill(w)
    services.submit(d, w.company_user, today=DURING)
    scope = {"other_animator": w.other_club_scope, "gard_user": w.gard_scope, "company_user": w.company_scope}[actor]
    with pytest.raises(PermissionDenied):
        services.validate(d, getattr(w, actor), scope, today=DURING)
    with pytest.raises(PermissionDenied):
        services.return_declaration(d, getattr(w, actor), scope, "Non", today=DURING)
    d.refresh_from_db()
    assert d.status == S.SUBMITTED


@pytest.mark.parametrize("animated_by", ["other_club", None], ids=["autre club", "sans club"])
def test_a_club_does_not_validate_for_a_member_on_a_convention_it_does_not_animate(world, animated_by):
    """Issue 10: validation belongs to the convention's animating club, not to the clubs the company is a
    member of (BRL is a member of FACE Hérault; this convention is animated elsewhere, or by nobody)."""
    w = world
    from tests.evaluation.conftest import active_convention
    from tests.factories import CommitmentFactory

    club = getattr(w, animated_by) if animated_by else None
    convention = active_convention(w.company, club=club, reference="034-2017-BRL-2")
    services.sync_expected_declarations(w.campaign)
    d = Declaration.objects.get(convention=convention)
    commitment = CommitmentFactory(convention=convention)
    services.save_draft(d, w.company_user, {key(commitment, "STAGE3_OFFERTS"): ("3", "")}, 1, today=DURING)
    services.submit(d, w.company_user, today=DURING)
    assert not Declaration.objects.visible_to(w.club_scope).filter(pk=d.pk).exists()
    with pytest.raises(PermissionDenied):
        services.validate(d, w.animator, w.club_scope, today=DURING)
    with pytest.raises(PermissionDenied):
        services.return_declaration(d, w.animator, w.club_scope, "Non", today=DURING)
    # The préfecture of the convention's département does.
    services.validate(d, w.prefecture_user, w.prefecture_scope, today=DURING)
    assert d.status == S.VALIDATED


def test_return_needs_a_comment(world):
    w, d = world, world.declaration
    fill(w)
    services.submit(d, w.company_user, today=DURING)
    with pytest.raises(ValidationError) as error:
        services.return_declaration(d, w.animator, w.club_scope, "   ", today=DURING)
    assert "corriger" in error.value.message_dict["comment"][0]
    d.refresh_from_db()
    assert d.status == S.SUBMITTED


def test_reopen_after_close_needs_a_reason_and_a_prefecture(world):
    w, d = world, world.declaration
    fill(w)
    services.submit(d, w.company_user, today=DURING)
    services.validate(d, w.animator, w.club_scope, today=DURING)

    with pytest.raises(ValidationError) as error:
        services.reopen(d, w.prefecture_user, w.prefecture_scope, "", today=AFTER)
    assert "motivée" in error.value.message_dict["reason"][0]
    with pytest.raises(PermissionDenied):
        services.reopen(d, w.animator, w.club_scope, "Erreur de saisie", today=AFTER)
    with pytest.raises(PermissionDenied):
        services.reopen(d, w.gard_user, w.gard_scope, "Erreur de saisie", today=AFTER)
    with pytest.raises(ValidationError, match="court jusqu'au"):
        services.reopen(d, w.prefecture_user, w.prefecture_scope, "Erreur de saisie", today=DURING)
    d.refresh_from_db()
    assert d.status == S.VALIDATED and d.reopened_at is None

    services.reopen(d, w.prefecture_user, w.prefecture_scope, "Erreur de saisie signalée par l'entreprise", today=AFTER)
    assert (d.status, d.reopened_by) == (S.DRAFT, w.prefecture_user)
    fill(w, "12", today=AFTER)
    services.submit(d, w.company_user, today=AFTER)
    services.validate(d, w.prefecture_user, w.prefecture_scope, today=AFTER)
    # Validated again: locked again.
    with pytest.raises(ValidationError):
        fill(w, "13", today=AFTER)


def test_returning_after_close_needs_a_reopening_first(world):
    w, d = world, world.declaration
    fill(w)
    services.submit(d, w.company_user, today=DURING)
    with pytest.raises(ValidationError, match="rouvrir"):
        services.return_declaration(d, w.animator, w.club_scope, "À revoir", today=AFTER)
    services.reopen(d, w.prefecture_user, w.prefecture_scope, "Chiffres à revoir", today=AFTER)
    d.refresh_from_db()
    assert d.status == S.DRAFT
    fill(w, "9", today=AFTER)


def test_concurrent_edit_with_a_stale_version_is_refused_and_writes_nothing(world):
    w, d = world, world.declaration
    line = key(w.commitment, "STAGE3_ACCUEILLIS")
    displayed_to_claire = d.version
    displayed_to_paul = Declaration.objects.get(pk=d.pk).version

    services.save_draft(d, w.company_user, {line: ("8", "Claire")}, displayed_to_claire, today=DURING)
    paul_copy = Declaration.objects.get(pk=d.pk)
    with pytest.raises(services.ConcurrentEditError) as error:
        services.save_draft(paul_copy, w.colleague, {line: ("9", "Paul")}, displayed_to_paul, today=DURING)

    message = error.value.messages[0]
    assert message.startswith("Cette déclaration a été modifiée par Camille claire le ")
    assert "pendant que vous la saisissiez" in message
    assert isinstance(error.value, ValidationError) and error.value.current_version == displayed_to_claire + 1
    assert DeclarationValue.objects.get().comment == "Claire"
    # With the version the message gave, the second person saves knowingly.
    services.save_draft(paul_copy, w.colleague, {line: ("9", "Paul")}, error.value.current_version, today=DURING)
    assert DeclarationValue.objects.get().comment == "Paul"


def test_submit_with_a_stale_version_is_refused(world):
    w, d = world, world.declaration
    fill(w)
    with pytest.raises(services.ConcurrentEditError):
        services.submit(d, w.company_user, expected_version=1, today=DURING)


def test_only_the_company_itself_fills_its_declaration(world):
    w, d = world, world.declaration
    line = key(w.commitment, "STAGE3_ACCUEILLIS")
    for scope in (w.club_scope, w.prefecture_scope):
        with pytest.raises(PermissionDenied):
            services.save_draft(d, w.animator, {line: ("1", "")}, d.version, scope=scope, today=DURING)
    services.save_draft(d, w.company_user, {line: ("1", "")}, d.version, scope=w.company_scope, today=DURING)


def test_an_unchanged_save_does_not_bump_the_version(world):
    w, d = world, world.declaration
    fill(w, "8", "x")
    version = d.version
    assert fill(w, "8", "x") == 0
    d.refresh_from_db()
    assert d.version == version
