"""History (django-simple-history): every change to a declaration, a value or a convention keeps who,
when, the old and the new value."""

from decimal import Decimal

from conventions import services as convention_services
from conventions.models import Convention
from evaluation.campaigns import history, services
from tests.evaluation.conftest import DURING, key


def test_a_value_change_keeps_who_when_old_and_new_value(world):
    w, d = world, world.declaration
    line = key(w.commitment, "STAGE3_ACCUEILLIS")
    services.save_draft(d, w.company_user, {line: ("8", "Premier chiffre")}, d.version, today=DURING)
    services.save_draft(d, w.colleague, {line: ("11", "Trois oubliés")}, d.version, today=DURING)

    value = d.values.get()
    newest, previous = value.history.all()[:2]
    assert (newest.history_user, previous.history_user) == (w.colleague, w.company_user)
    assert newest.history_date >= previous.history_date
    delta = newest.diff_against(previous)
    changes = {change.field: (change.old, change.new) for change in delta.changes}
    assert changes == {"value": (Decimal("8.00"), Decimal("11.00")), "comment": ("Premier chiffre", "Trois oubliés")}


def test_a_status_change_keeps_who_and_the_old_and_new_status(world):
    w, d = world, world.declaration
    services.save_draft(d, w.company_user, {key(w.commitment, "STAGE3_ACCUEILLIS"): ("8", "")}, d.version, today=DURING)
    services.submit(d, w.company_user, today=DURING)
    services.return_declaration(d, w.animator, w.club_scope, "À préciser", today=DURING)

    records = list(d.history.all())  # newest first
    assert [r.status for r in records] == ["returned", "submitted", "draft", "draft"]
    assert records[0].history_user == w.animator
    assert records[1].history_user == w.company_user
    changes = {c.name: (c.old_display, c.new_display) for c in history.field_changes(records[0], records[1])}
    assert changes["status"] == ("Transmise", "Renvoyée pour correction")
    assert changes["return_comment"] == ("—", "À préciser")
    assert "returned_at" in changes

    # The page's readable history: newest first, the declaration's steps and its values mixed.
    entries = history.declaration_history(d)
    assert [(e.subject, e.kind, e.who) for e in entries[:2]] == [
        ("Déclaration", "Modification", w.animator),
        ("Déclaration", "Modification", w.company_user),
    ]
    value_entry = next(e for e in entries if e.subject.startswith("Valeur"))
    assert value_entry.kind == "Création" and value_entry.who == w.company_user
    assert [(c.label, c.new_display) for c in value_entry.changes] == [("valeur", "8,00")]


def test_a_convention_change_is_recorded_with_who_and_old_and_new_value(world):
    w = world
    convention = Convention.objects.get(pk=w.convention.pk)
    convention.title = "Convention BRL 2016-2018 (avenant)"
    convention._history_user = w.prefecture_user
    convention.save()
    convention_services.terminate(convention, by=w.prefecture_user, reason="Fin anticipée")

    records = list(convention.history.all())
    assert records[0].status == "terminated" and records[0].termination_reason == "Fin anticipée"
    title_change = {c.field: (c.old, c.new) for c in records[1].diff_against(records[2]).changes}
    assert title_change == {"title": (w.convention.title, "Convention BRL 2016-2018 (avenant)")}
    assert records[1].history_user == w.prefecture_user
    # Commitments and targets too.
    target = w.commitment.targets.get(year=2017)
    target.value = 14
    target.save()
    assert [h.value for h in target.history.all()] == [Decimal("14.00"), Decimal("10.00")]


def test_a_change_made_during_a_request_is_attributed_to_the_signed_in_user(world, rf):
    """The middleware as configured in settings (after authentication) gives history its user."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    path = "simple_history.middleware.HistoryRequestMiddleware"
    assert settings.MIDDLEWARE.index(path) > settings.MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")

    def view(request):
        convention = Convention.objects.get(pk=world.convention.pk)
        convention.title = "Titre corrigé en ligne"
        convention.save()
        return None

    request = rf.post("/")
    request.user = world.prefecture_user
    import_string(path)(view)(request)
    assert world.convention.history.first().history_user == world.prefecture_user
