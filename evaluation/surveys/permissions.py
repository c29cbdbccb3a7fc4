"""Who manages the surveys of an action. Visibility is not decided here: views first fetch the action or the
survey through its `visible_to(scope)`, so a foreign one answers 404 before these predicates are asked."""


def can_manage_surveys(scope, action):
    """The club that logged the action and the préfecture of its département create surveys and links.
    The national level reads them: the people close to the action run them."""
    if scope.is_club:
        return action.club_id is not None and action.club_id == scope.organisation_id
    if scope.is_prefecture:
        return action.departement_id in scope.departement_ids
    return False


def may_add_club_questions(scope):
    return scope.is_club and scope.organisation_id is not None
