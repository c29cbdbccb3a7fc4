""" "Je veux reproduire": an organisation tells the authors of a published sheet that it wants to do the same, and
what a sheet shows of its spread (the sheets that reproduce it, the organisations interested).

The authors are told through `charte.notices` (notifications live in `evaluation`, above this app).
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from charte import notices

from .models import PracticeInterest, PracticeSheet, PracticeStatus


def can_reproduce(scope, sheet):
    """Any organisation reading a published sheet, except the one that wrote it."""
    return (
        sheet.status == PracticeStatus.PUBLISHED
        and scope.kind is not None
        and bool(scope.organisation_id)
        and sheet.author_organisation_id != scope.organisation_id
    )


def refusal(scope, sheet):
    """Why this person may not say "je veux reproduire" here, in French; None when they may."""
    if can_reproduce(scope, sheet):
        return None
    if sheet.status != PracticeStatus.PUBLISHED:
        return "Seule une fiche publiée peut être reproduite."
    if scope.organisation_id and sheet.author_organisation_id == scope.organisation_id:
        return "Votre organisation a rédigé cette fiche : seules les autres organisations peuvent dire vouloir la reproduire."
    return "Seule une personne qui agit pour une organisation peut dire vouloir reproduire une fiche."


@transaction.atomic
def record_interest(sheet, *, scope, user, message=""):
    """Record the interest of the person's organisation (once per organisation: a second one is refused) and tell
    the authors."""
    sheet = PracticeSheet.objects.select_for_update().get(pk=sheet.pk)
    reason = refusal(scope, sheet)
    if reason:
        raise ValidationError(reason)
    interest = PracticeInterest(sheet=sheet, organisation_id=scope.organisation_id, user=user, message=(message or "").strip())
    interest.full_clean(exclude=["sheet", "organisation", "user"])
    if PracticeInterest.objects.filter(sheet=sheet, organisation_id=scope.organisation_id).exists():
        raise ValidationError("Votre organisation a déjà dit vouloir reproduire cette fiche : ses auteurs le savent.")
    try:
        with transaction.atomic():
            interest.save()
    except IntegrityError as error:  # two clicks at once: the constraint keeps one
        raise ValidationError("Votre organisation a déjà dit vouloir reproduire cette fiche : ses auteurs le savent.") from error
    organisation = interest.organisation
    who = user.get_full_name() or user.email
    body = f"{who} ({organisation.name}) veut reproduire la fiche « {sheet.title} »."
    if interest.message:
        body += f"\n\nSon message :\n\n{interest.message}"
    notices.notify(
        key=f"practice_interest:{interest.pk}",
        event="practice_interest",
        subject=f"{organisation.name} veut reproduire votre fiche « {sheet.title} »",
        body=body + "\n\nRetrouvez les organisations intéressées sur la page de la fiche.",
        path=reverse("practices:detail", args=[sheet.pk]),
        organisation_ids=[sheet.author_organisation_id],
    )
    return interest


def spread(scope, sheet):
    """What the sheet's page shows of its spread: the published sheets reproducing it that the person may read,
    how many organisations want to reproduce it, and who (to its authors and to the national level: the rows
    `PracticeInterest.visible_to` gives), and whether the person's organisation already said so. Four queries."""
    from .services import is_author

    reproductions = list(
        PracticeSheet.objects.visible_to(scope)
        .published()
        .filter(reproduces=sheet)
        .select_related("departement", "author_organisation")
        .order_by("-published_at", "-pk")
    )
    interested = PracticeInterest.objects.filter(sheet=sheet)
    count = interested.count()
    rows = []
    if is_author(scope, sheet) or scope.is_national:
        rows = list(PracticeInterest.objects.visible_to(scope).filter(sheet=sheet).select_related("organisation", "user"))
    mine = bool(scope.organisation_id) and interested.filter(organisation_id=scope.organisation_id).exists()
    return {
        "reproductions": reproductions,
        "interest_count": count,
        "interests": rows,
        "already_interested": mine,
        "can_reproduce": can_reproduce(scope, sheet) and not mine,
    }
