"""Who may log, edit and delete an action. Plain predicates, used by the views and (through the view
context) by the templates to show or hide buttons.

Visibility is not decided here: views fetch the action through `Action.objects.visible_to(scope)` first, so an
action out of scope answers 404 before any of these predicates is asked.
"""

from charte.comptes.scoping import CLUB, COMPANY, NATIONAL, PREFECTURE

# Partners only read aggregates: they never log anything.
ACTION_WRITERS = (NATIONAL, PREFECTURE, CLUB, COMPANY)


def can_create_action(scope):
    return scope.kind in ACTION_WRITERS


def can_edit_action(user, scope, action):
    """The author (while acting for an organisation that may write), a préfecture of the action's
    département, or the national level."""
    if scope.kind not in ACTION_WRITERS:
        return False
    if scope.is_national:
        return True
    if scope.is_prefecture and action.departement_id in scope.departement_ids:
        return True
    return action.logged_by_id is not None and action.logged_by_id == user.pk


def can_delete_action(user, scope, action):
    return can_edit_action(user, scope, action)
