"""Who may change companies and diagnostics: plain predicates used by the views and, through the flags the
views put in the context, by the templates that show or hide the buttons.

Visibility is not decided here: callers first fetch the object through `charte.comptes.scoping`, so an
object out of scope is already a 404. These predicates only answer "visible, but may this person write?".
"""

from charte.comptes import people, scoping

from .models import ClubMembership

# Identity may be changed by these kinds of organisation; a partner only reads aggregates.
_COMPANY_WRITERS = (scoping.NATIONAL, scoping.PREFECTURE, scoping.CLUB, scoping.COMPANY)
_COMPANY_CREATORS = (scoping.NATIONAL, scoping.PREFECTURE, scoping.CLUB)
_DIAGNOSTIC_WRITERS = (scoping.NATIONAL, scoping.PREFECTURE, scoping.CLUB)


def is_current_member(scope, company):
    """The club of this scope counts the company among its members today (past members stay readable)."""
    if not scope.is_club:
        return False
    return ClubMembership.objects.current().filter(club_id=scope.organisation_id, company_id=company.pk).exists()


def can_create_company(scope):
    return scope.kind in _COMPANY_CREATORS


def can_edit_company(scope, company):
    if scope.kind not in _COMPANY_WRITERS:
        return False
    if scope.is_company:
        return company.pk == scope.company_id
    if scope.is_club:
        return is_current_member(scope, company)
    # National and préfecture: everything they can see, and callers only pass visible companies.
    return True


def can_edit_siren(scope, company):
    """The SIREN identifies the company for every other row and for the declarations: once created, it is
    corrected in the administration only, never through the portal's form."""
    return company is None or company.pk is None


def can_change_national_signatory(scope):
    return scope.is_national


def can_create_diagnostic(scope, company):
    if scope.kind not in _DIAGNOSTIC_WRITERS:
        return False
    if scope.is_club:
        return is_current_member(scope, company)
    return True


def can_edit_diagnostic(scope, diagnostic):
    if scope.kind not in _DIAGNOSTIC_WRITERS:
        return False
    if scope.is_club:
        # A club keeps its own diagnostics; one recorded without a club belongs to whoever animates the member.
        if diagnostic.club_id is not None:
            return diagnostic.club_id == scope.organisation_id
        return is_current_member(scope, diagnostic.company)
    return True


def can_prepare_convention(scope, company):
    """Who may start a convention for this company from a diagnostic: the same people who diagnose it
    (the convention pages check the rest: kinds of convention, départements)."""
    return can_create_diagnostic(scope, company)


# --- club members -----------------------------------------------------------------------------------------

_CLUB_READERS = (scoping.NATIONAL, scoping.PREFECTURE, scoping.CLUB)


def can_read_club_members(scope, club):
    """The list of a club's member companies names companies: its own people, the préfecture of its
    départements and the national level. Callers pass a club from `clubs_visible_to(scope)`."""
    if scope.kind not in _CLUB_READERS:
        return False
    return not scope.is_club or scope.organisation_id == club.pk


def can_manage_club_members(scope, club):
    """Who adds and ends memberships: the club's administrators, the préfecture of one of its départements
    (callers pass a visible club, so a préfecture's club shares a département with it) and the national level."""
    if scope.is_national or scope.is_prefecture:
        return True
    return scope.is_club and scope.organisation_id == club.pk and scope.is_org_admin


def can_invite_people(scope, company):
    """Who may invite people to become users of a (visible) company's account: those who may invite into its
    account (charte.comptes.people); when it has none yet, those who would once it is created: the national
    level's administrators, the préfecture that sees it, the club that counts it among its members today."""
    if company.organisation_id is not None:
        return people.can_invite(scope, company.organisation)
    if scope.is_national:
        return scope.is_org_admin
    return scope.is_prefecture or is_current_member(scope, company)


def can_manage_contact_data(scope, company):
    """Export or anonymise a contact's personal data (RGPD): an administrator of an organisation that may change
    the company's page. The administrator answers for the organisation's processing; a plain member does not."""
    return scope.is_org_admin and can_edit_company(scope, company)
