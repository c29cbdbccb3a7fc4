"""Writing an action with its companies, QPV and partner structures, in one transaction.

The form checks the same rules to show messages at the fields; the service checks them again because
it is the one door every write goes through (views today, the API tomorrow).
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from charte.concurrency import lock_and_check, next_version

from .models import ActionPartner


def link_errors(*, departement, qpvs, convention, companies, convention_company_ids=None):
    """Rules linking an action's département, QPV, convention and companies: {field: [messages]}.
    `convention_company_ids`: the convention's companies when the caller already has them (a file import
    checks thousands of rows without a query per row)."""
    errors = {}
    if departement is not None:
        foreign = [qpv for qpv in qpvs if qpv.departement_id != departement.pk]
        if foreign:
            names = ", ".join(f"{qpv.name} ({qpv.code})" for qpv in foreign)
            errors["qpvs"] = [
                f"Ces QPV ne sont pas dans le département de l'action ({departement}) : {names}."
                if len(foreign) > 1
                else f"Ce QPV n'est pas dans le département de l'action ({departement}) : {names}."
            ]
    if convention is not None and companies:
        company_ids = {company.pk for company in companies}
        if convention_company_ids is not None:
            linked = bool(company_ids & set(convention_company_ids))
        else:
            linked = convention.companies.filter(pk__in=company_ids).exists()
        if not linked:
            errors["convention"] = ["Cette convention ne concerne aucune des entreprises choisies pour l'action."]
    return errors


def qpv_generation_errors(start_date, qpvs):
    """The QPV of an action are those of its date: 2015 generation (QP…) before 2024, 2024 generation (QN…)
    from 2024 on. [messages]"""
    if start_date is None:
        return []
    expected = 2024 if start_date.year >= 2024 else 2015
    wrong = [qpv for qpv in qpvs if qpv.generation != expected]
    if not wrong:
        return []
    codes = ", ".join(qpv.code for qpv in wrong)
    return [
        f"Une action du {start_date:%d/%m/%Y} concerne des QPV de la génération {expected} "
        f"({'QN' if expected == 2024 else 'QP'}…) : {codes} n'en {'sont' if len(wrong) > 1 else 'est'} pas."
    ]


@transaction.atomic
def save_action(action, *, companies, qpvs, partners, logged_by=None, expected_version=None):
    """Create or update `action` with its links. `partners` is a list of (kind, name) that replaces the
    action's partner structures. `logged_by` is recorded on creation only: an edit keeps the author, and
    records the person as the last editor. `expected_version`: the version the page or the API client read;
    a stale one raises `StaleEditError` and nothing is written (None: not checked)."""
    return _write_action(
        action, companies=companies, qpvs=qpvs, partners=partners, logged_by=logged_by, expected_version=expected_version
    )


def _write_action(action, *, companies, qpvs, partners, logged_by, expected_version):
    """save_action's body, inside the caller's transaction (the grid writes all its rows in one, without
    a savepoint per row)."""
    creating = action.pk is None
    companies = list(companies)
    qpvs = list(qpvs)
    if action.pk is not None:
        locked = lock_and_check(action, expected_version, "Cette action")
        next_version(action, locked)
        action.updated_by = logged_by
    if not companies:
        raise ValidationError({"companies": ["Choisissez au moins une entreprise."]})
    errors = link_errors(departement=action.departement, qpvs=qpvs, convention=action.convention, companies=companies)
    if errors:
        raise ValidationError(errors)
    if action.pk is None and logged_by is not None:
        action.logged_by = logged_by
    action.save()
    action.companies.set(companies)
    action.qpvs.set(qpvs)
    if not creating:
        action.partners.all().delete()
    ActionPartner.objects.bulk_create(
        ActionPartner(action=action, kind=kind, name=name.strip()) for kind, name in partners if name and name.strip()
    )
    return action


class RowRefused(Exception):
    """A row of a batch the service refused: nothing of the batch was written."""

    def __init__(self, index, error):
        super().__init__(f"row {index}: {error}")
        self.index, self.error = index, error


@transaction.atomic
def save_actions(rows, *, logged_by):
    """Create several actions in one transaction (the grid): every row or none. `rows`: (action, companies,
    qpvs, partners) tuples, partners a list of (kind, name). A row the service refuses raises RowRefused with its
    index, and the whole batch is rolled back."""
    saved = []
    for index, (action, companies, qpvs, partners) in enumerate(rows):
        try:
            saved.append(
                _write_action(
                    action, companies=companies, qpvs=qpvs, partners=partners, logged_by=logged_by, expected_version=None
                )
            )
        except ValidationError as error:
            raise RowRefused(index, error) from error
    return saved
