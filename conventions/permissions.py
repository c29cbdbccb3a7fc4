"""Who may write what on a convention: plain predicates used by the views (403 when refused) and by the
templates (to show only the buttons a person may use).

Visibility is not decided here: a convention out of `Convention.objects.visible_to(scope)` answers 404 before any of
these predicates is asked. Statuses are checked by `conventions.services`, whose refusal messages the pages
show; `available_steps()` combines both only to decide which buttons to display.
"""

from . import services
from .models import Convention

Kind = Convention.Kind
Status = Convention.Status

EDITABLE_STATUSES = services.EDITABLE_STATUSES

# Kinds each role may create (DESIGN: national any kind; préfecture local ones in its départements; club
# local or collective drafts it animates).
CREATABLE_KINDS = {
    "national": [Kind.NATIONAL, Kind.LOCAL, Kind.COLLECTIVE, Kind.FRAMEWORK],
    "prefecture": [Kind.LOCAL, Kind.COLLECTIVE, Kind.FRAMEWORK],
    "club": [Kind.LOCAL, Kind.COLLECTIVE],
}


def _prefecture_owns(scope, convention):
    # A préfecture sees the national conventions declined in its départements, but they stay the ANCT's.
    return scope.is_prefecture and convention.kind != Kind.NATIONAL and convention.departement_id in scope.departement_ids


def _club_animates(scope, convention):
    return scope.is_club and convention.club_id == scope.organisation_id


def creatable_kinds(scope):
    return CREATABLE_KINDS.get(scope.kind, [])


def can_create_convention(scope):
    return bool(creatable_kinds(scope))


def may_edit(scope, convention):
    """The role part of editing, whatever the status."""
    return scope.is_national or _prefecture_owns(scope, convention) or _club_animates(scope, convention)


def can_edit_convention(scope, convention):
    return convention.status in EDITABLE_STATUSES and may_edit(scope, convention)


def can_negotiate(scope, convention):
    """Submit for negotiation and back to draft: the animating club, the préfecture, the national level."""
    return scope.is_national or _prefecture_owns(scope, convention) or _club_animates(scope, convention)


def can_conclude(scope, convention):
    """Sign, activate, terminate, renew: the préfecture in scope or the national level."""
    return scope.is_national or _prefecture_owns(scope, convention)


# step name -> (role predicate, statuses from which the step is possible)
STEPS = {
    "submit": (can_negotiate, {s for s, targets in services.TRANSITIONS.items() if Status.NEGOTIATION in targets}),
    "back_to_draft": (can_negotiate, {s for s, targets in services.TRANSITIONS.items() if Status.DRAFT in targets}),
    "sign": (can_conclude, {s for s, targets in services.TRANSITIONS.items() if Status.SIGNED in targets}),
    "activate": (can_conclude, {s for s, targets in services.TRANSITIONS.items() if Status.ACTIVE in targets}),
    "terminate": (can_conclude, {s for s, targets in services.TRANSITIONS.items() if Status.TERMINATED in targets}),
    "renew": (can_conclude, set(services.RENEWABLE_STATUSES)),
}


def may_run_step(scope, convention, step):
    """The role part of a lifecycle step (the status is the service's business)."""
    predicate, _statuses = STEPS[step]
    return predicate(scope, convention)


def step_possible(convention, step, has_successor=False):
    """Whether the convention's status allows the step now, whoever asks."""
    _predicate, statuses = STEPS[step]
    return convention.status in statuses and not (step == "renew" and has_successor)


def available_steps(scope, convention, has_successor=False):
    """The steps to offer as buttons now: allowed to this person and possible from the current status."""
    return [
        step
        for step, (predicate, _statuses) in STEPS.items()
        if step_possible(convention, step, has_successor) and predicate(scope, convention)
    ]
