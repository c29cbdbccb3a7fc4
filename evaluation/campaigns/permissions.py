"""Who may do what with campaigns and declarations: plain predicates on a `Scope`, used by the services,
the views and the templates (to show or hide buttons). Visibility itself is `scoping.campaigns` /
`scoping.declarations`; these predicates assume the object is visible.

- open a campaign: a préfecture for (part of) its départements, the national level for any or all;
- fill and submit a declaration: the company itself;
- validate or return it: the animating club of the convention or the club the company is a member of,
  the préfecture of the convention's département, the national level; never a company or a partner;
- reopen it after the close: the préfecture of the convention's département or the national level.
"""

from charte.comptes import scoping


def may_open_campaigns(scope):
    """Whether the person may open a campaign at all (which départements: `can_open_campaign`)."""
    return scope.is_national or scope.is_prefecture


def can_manage_campaign(scope, campaign):
    """Sync the expected declarations: the national level, or the préfecture that opened the campaign."""
    return scope.is_national or (scope.is_prefecture and campaign.organisation_id == scope.organisation_id)


def can_open_campaign(scope, departement_ids=()):
    if scope.is_national:
        return True
    if scope.is_prefecture:
        return bool(departement_ids) and set(departement_ids) <= set(scope.departement_ids)
    return False


def can_edit_declaration(scope, declaration):
    return scope.is_company and scope.company_id is not None and declaration.company_id == scope.company_id


def _is_club_of(scope, declaration):
    # The club's declarations are those the scoping policy shows it: of the conventions it animates or of its
    # current member companies (a company that left the club is no longer its to validate).
    if declaration.convention.club_id == scope.organisation_id:
        return True
    return scoping.declarations(scope).filter(pk=declaration.pk).exists()


def can_validate_declaration(scope, declaration):
    """Also the right to return one for correction."""
    if scope.is_national:
        return True
    if scope.is_prefecture:
        return declaration.convention.departement_id in scope.departement_ids
    if scope.is_club:
        return _is_club_of(scope, declaration)
    return False


def can_reopen_declaration(scope, declaration):
    if scope.is_national:
        return True
    if scope.is_prefecture:
        return declaration.convention.departement_id in scope.departement_ids
    return False
