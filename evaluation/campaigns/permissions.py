"""Who may do what with campaigns and declarations: plain predicates on a `Scope`, used by the services,
the views and the templates (to show or hide buttons). Visibility itself is `Campaign.objects.visible_to` /
`Declaration.objects.visible_to`; these predicates assume the object is visible.

- open a campaign: a préfecture for (part of) its départements, the national level for any or all;
- fill and submit a declaration: the company itself;
- validate or return it: the convention's animating club (`convention.club`, never a club the company is
  merely a member of: its other conventions are animated elsewhere), the préfecture of the convention's
  département, the national level; never a company or a partner;
- reopen it after the close: the préfecture of the convention's département or the national level.
"""


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


def can_validate_declaration(scope, declaration):
    """Also the right to return one for correction."""
    if scope.is_national:
        return True
    if scope.is_prefecture:
        return declaration.convention.departement_id in scope.departement_ids
    if scope.is_club:
        return declaration.convention.club_id == scope.organisation_id
    return False


def can_reopen_declaration(scope, declaration):
    if scope.is_national:
        return True
    if scope.is_prefecture:
        return declaration.convention.departement_id in scope.departement_ids
    return False
