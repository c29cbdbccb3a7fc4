"""Every URL of the portal, for every role, on objects of two départements (Hérault 34, Aude 11).

The URL patterns are enumerated from `get_resolver()` (through every include), leaving out the
administration, the API (walked by `tests/api`) and static files: a new page without a rule in `RULES`
fails `test_every_portal_url_has_a_walk_rule` and its own walk cases, so it cannot be forgotten.

A rule says which object the URL needs and the status each role gets on an object of its own territory
(200; 403 when the object is visible but the operation not allowed; 302 for redirections; 405 for POST-only
endpoints opened here with GET, which answer before looking at the object). The same URL is then opened on
the twin object of the Aude ("aude") and, for the objects of the Hérault that the club and the company must
not see, on a neighbour ("voisin"): out of scope answers 404, always. Lists and CSV exports must show the
person's rows and none of the others.

The dataset (`tests/walk_fixtures.py`) is built once for the module, inside a transaction rolled back at
the end; each case runs in its own savepoint.
"""

import datetime
import html
import re
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from charte.catalogue.models import ActionType, Family, Indicator
from charte.comptes.models import Organisation
from entreprises.models import Contact
from tests.comptes.proconnect import proconnect_on
from tests.factories import MembershipFactory, departement
from tests.walk_fixtures import ROLES, SIDES, build_world

# Pages that still render their own refusal template instead of raising PermissionDenied (templates/403.html).
OWN_REFUSAL_PAGES = ("comptes:api_key", "evaluation:", "rapports:")

EXCLUDED_PREFIXES = ("admin/", "api/", settings.STATIC_URL.lstrip("/"), settings.MEDIA_URL.lstrip("/"))


def portal_url_patterns():
    """(full route, namespaced name or None) of every portal URL pattern, includes followed."""

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(EXCLUDED_PREFIXES):
                continue
            if isinstance(pattern, URLResolver):
                inner = ":".join(n for n in (namespace, pattern.namespace) if n) or None
                yield from walk(pattern.url_patterns, route, inner)
            elif isinstance(pattern, URLPattern):
                name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
                yield route, name

    return list(walk(get_resolver().url_patterns, "", None))


# --- what each role may see: written by hand, from the dataset's description ---------------------------

H, A = SIDES["34"], SIDES["11"]
GROUPS = ("Groupe Hexagone", "Réseau Atlantique")
ALL = {
    "companies": [H["company_a"], H["company_b"], A["company_a"], A["company_b"], *GROUPS],
    "conventions": [
        *(H[key][0] for key in ("draft", "signed", "other", "signed_b")),
        *(A[key][0] for key in ("draft", "signed", "other", "signed_b")),
        "034-2026-0004",
        "011-2026-0004",
        "NAT-2026-0001",
        "NAT-2026-0002",
    ],
    "actions": [H["action_a"], H["action_b"], A["action_a"], A["action_b"]],
    # The practice catalogues list published sheets only, never a draft nor a sheet in review.
    "practices": [H[key] for key in ("sheet", "sheet_draft", "sheet_other", "sheet_published")]
    + [A[key] for key in ("sheet", "sheet_draft", "sheet_other", "sheet_published")],
    "public_practices": [H[key] for key in ("sheet", "sheet_draft", "sheet_other", "sheet_published")]
    + [A[key] for key in ("sheet", "sheet_draft", "sheet_other", "sheet_published")],
    # Départements are listed by code, 25 a page: the Aude (11) is on the first page, the Hérault (34) on
    # the second for the national level, which sees them all.
    "departements": ['href="/territoires/34/"', 'href="/territoires/11/"'],
    # The QPV filter's suggestions: the QPV of the départements one sees.
    "qpvs": [code for side in (H, A) for code, _ in side["qpvs"]],
    # Both actions of the Hérault reach Mosson (QP034005).
    "mosson_actions": [H["action_a"], H["action_b"]],
    "campaigns": [H["campaign"], A["campaign"]],
    "clubs": [H["club"], A["club"]],
    # A declaration row names its company and its convention.
    "declarations": [H["signed"][0], H["signed_b"][0], A["signed"][0], A["signed_b"][0]],
    # The declared values' export: one row per line, so only the declarations whose convention has commitments.
    "declared_values": [H["signed"][0], A["signed"][0]],
}
VISIBLE = {
    "companies": {
        "national": ALL["companies"],
        # The group is seen through its national convention's declination in the Hérault.
        "prefecture": [H["company_a"], H["company_b"], "Groupe Hexagone"],
        "club": [H["company_a"]],
        "company": [H["company_a"]],
        "partner": [],
        "nobody": [],
    },
    "conventions": {
        "national": ALL["conventions"],
        "prefecture": [H["draft"][0], H["signed"][0], H["other"][0], H["signed_b"][0], "034-2026-0004", "NAT-2026-0001"],
        "club": [H["draft"][0], H["signed"][0]],
        "company": [H["draft"][0], H["signed"][0]],
        "partner": [],
        "nobody": [],
    },
    "actions": {
        "national": ALL["actions"],
        "prefecture": [H["action_a"], H["action_b"]],
        "club": [H["action_a"]],
        "company": [H["action_a"]],
        "partner": [],
        "nobody": [],
    },
    "departements": {
        "national": ['href="/territoires/11/"'],
        "prefecture": ['href="/territoires/34/"'],
        "club": ['href="/territoires/34/"'],
        "company": ['href="/territoires/34/"'],
        "partner": ['href="/territoires/34/"'],
        "nobody": [],
    },
    # Clubs whose member lists one reads: not a partner's nor a company's business.
    "clubs": {
        "national": ALL["clubs"],
        "prefecture": [H["club"]],
        "club": [H["club"]],
        "company": [],
        "partner": [],
        "nobody": [],
    },
    "campaigns": {
        "national": ALL["campaigns"],
        "prefecture": [H["campaign"]],
        "club": [H["campaign"]],
        "company": [H["campaign"]],
        "partner": [],
        "nobody": [],
    },
    "declarations": {
        "national": ALL["declarations"],
        "prefecture": [H["signed"][0], H["signed_b"][0]],
        # The club animates the convention of A; B is not its member.
        "club": [H["signed"][0]],
        "company": [H["signed"][0]],
        "partner": [],
        "nobody": [],
    },
    "declared_values": {
        "national": ALL["declared_values"],
        "prefecture": [H["signed"][0]],
        "club": [H["signed"][0]],
        "company": [H["signed"][0]],
        "partner": [],
        "nobody": [],
    },
    "qpvs": {
        "national": ALL["qpvs"],
        **{role: [code for code, _ in H["qpvs"]] for role in ("prefecture", "club", "company", "partner")},
        "nobody": [],
    },
    # Published sheets travel: every signed-in organisation reads those of every territory.
    "practices": {
        **{
            role: [H["sheet_published"], A["sheet_published"]]
            for role in ("national", "prefecture", "club", "company", "partner")
        },
        "nobody": [],
    },
    # Opened to the public by their authors: the same for everybody, signed in or not.
    "public_practices": {role: [H["sheet_published"], A["sheet_published"]] for role in ROLES},
    "mosson_actions": {
        "national": ALL["mosson_actions"],
        "prefecture": ALL["mosson_actions"],
        "club": [H["action_a"]],
        "company": [H["action_a"]],
        # Aggregates only for a partner: no action rows.
        "partner": [],
        "nobody": [],
    },
}
# Territory pages of the Hérault never name what happened in the Aude; a partner reads figures, never a
# company's name nor an action's title.
AUDE_ROWS = [A["company_a"], A["company_b"], A["action_a"], A["action_b"]]
TERRITORY_NEVER = {role: AUDE_ROWS for role in ROLES} | {"partner": AUDE_ROWS + ALL["companies"] + ALL["actions"]}


# --- the objects a URL is opened on ----------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """How to build a URL's kwargs: `kwargs(world, role, variant)`, for each variant that applies to the object."""

    kwargs: callable
    variants: tuple = ("ici", "aude", "voisin")


def side_of(world, variant):
    return world.aude if variant == "aude" else world.herault


def _pk(attr_own, attr_neighbour, key="pk"):
    def build(world, role, variant):
        side = side_of(world, variant)
        obj = getattr(side, attr_neighbour if variant == "voisin" else attr_own)
        return {key: obj.pk}

    return build


def _report(kind, attr_own, attr_neighbour):
    def build(world, role, variant):
        return {"kind": kind, "key": _pk(attr_own, attr_neighbour)(world, role, variant)["pk"]}

    return build


def _api_key(world, role, variant):
    ApiKey = apps.get_model("comptes", "ApiKey")
    organisation = world.aude.prefecture if variant == "aude" else world.organisations[role]
    key, _secret = ApiKey.issue(organisation, "Outil de suivi", ApiKey.Access.READ, created_by=world.users["national"])
    return {"pk": key.pk}


def _delivery(world, role, variant):
    """A notification addressed to the person walking ("ici"), or to somebody else ("aude"): never theirs."""
    Notification = apps.get_model("evaluation", "Notification")
    NotificationDelivery = apps.get_model("evaluation", "NotificationDelivery")
    owner = world.users[role] if variant == "ici" else world.users["national" if role != "national" else "prefecture"]
    notification = Notification.objects.create(key=f"walk-{role}-{variant}", event="validated", subject="Objet", body="…")
    delivery = NotificationDelivery.objects.create(notification=notification, email=owner.email, user=owner, reason="member")
    return {"pk": delivery.pk}


def _company_account(world, role, variant):
    """The account (organisation) of company A of the person's side, or of the Hérault's company B for the
    neighbour: created here when the dataset has none (the walk's savepoint undoes it)."""
    from charte.comptes.models import Organisation, OrganisationKind

    side = side_of(world, variant)
    company = side.company_b if variant == "voisin" else side.company_a
    # Read from the database: an account made by an earlier case was rolled back with its savepoint.
    account_id = type(company).objects.filter(pk=company.pk).values_list("organisation_id", flat=True).get()
    if account_id is None:
        account_id = Organisation.objects.create(kind=OrganisationKind.COMPANY, name=f"Compte {company.name}").pk
        type(company).objects.filter(pk=company.pk).update(organisation_id=account_id)
    return {"pk": account_id}


def _invitation_link(world, role, variant):
    from charte.comptes import people

    invitation = people.invite(
        world.organisations["company"], "nouvelle.recrue@garrigue.example.org", "member", world.users["company"]
    )
    return {"token": invitation.token()}


def _import_batch(world, role, variant, kind="actions"):
    """A file imported by the person walking ("ici") or by the Aude's préfecture ("aude")."""
    from django.core.files.base import ContentFile

    ImportBatch = apps.get_model("conventions", "ImportBatch")
    if variant == "aude":
        membership = MembershipFactory(organisation=world.aude.prefecture)
    else:
        membership = world.users[role].memberships.order_by("pk").first()
    batch = ImportBatch(
        kind=kind,
        created_by=membership.user,
        membership=membership,
        organisation=membership.organisation,
        original_name="actions.csv",
        status="rejected",
        errors=[{"row": 2, "column": "SIREN", "value": "1", "message": "SIREN invalide"}],
    )
    batch.file.save("actions.csv", ContentFile(b"Identifiant;SIREN\n;1\n"), save=False)
    batch.save()
    return {"pk": batch.pk}


def _export_job(world, role, variant):
    """A finished export asked by the person walking ("ici") or by a member of the Aude's préfecture ("aude")."""
    from django.core.files.base import ContentFile

    ExportJob = apps.get_model("evaluation", "ExportJob")
    if variant == "aude":
        membership = MembershipFactory(organisation=world.aude.prefecture)
    else:
        membership = world.users[role].memberships.order_by("pk").first()
    job = ExportJob(
        kind="actions",
        created_by=membership.user,
        membership=membership,
        organisation=membership.organisation,
        status="done",
        rows_done=1,
        finished_at=timezone.now(),
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )
    job.file.save("actions.csv", ContentFile("\ufeffIdentifiant\r\n1\r\n".encode()), save=False)
    job.save()
    return {"pk": job.pk}


def _person(world, role, variant):
    """A plain member of the organisation the person walking administers ("ici"), of the Aude's préfecture
    ("aude"), or of the Hérault's company B account ("voisin": the préfecture's, not the club's nor the company's)."""
    if variant == "aude":
        organisation = world.aude.prefecture
    elif variant == "voisin":
        organisation = Organisation.objects.get(pk=_company_account(world, role, "voisin")["pk"])
    else:
        organisation = world.organisations[role]
    return {"pk": MembershipFactory(organisation=organisation).user.pk}


def _contact(world, role, variant):
    side = side_of(world, variant)
    company = side.company_b if variant == "voisin" else side.company_a
    return {"pk": Contact.objects.create(company=company, first_name="Paul", last_name="Garcia", email="paul@example.org").pk}


def _questionnaire_pk():
    from evaluation.surveys.models import QuestionnaireModel

    return QuestionnaireModel.objects.get(code="participant").pk


def _survey(world, role, variant):
    """A survey of the side's action A (its club's), or of the Hérault's action B for the neighbour (no club)."""
    from evaluation.surveys.models import QuestionnaireModel, Survey

    side = side_of(world, variant)
    action = side.action_b if variant == "voisin" else side.action_a
    questionnaire = QuestionnaireModel.objects.get(code="participant")
    return Survey.objects.get_or_create(action=action, questionnaire=questionnaire, wave_months=0)[0]


def _public_survey(world, role, variant):
    return {"public_key": _survey(world, role, variant).public_key}


def _survey_token(world, role, variant):
    from evaluation.surveys.models import SurveyToken

    survey = _survey(world, role, variant)
    return {"public_key": survey.public_key, "token": SurveyToken.objects.create(survey=survey).token}


def _stop_follow_up(world, role, variant):
    from django.core import signing

    from evaluation.surveys.models import FollowUpContact, Response
    from evaluation.surveys.services import STOP_SALT

    response = Response.objects.create(survey=_survey(world, role, variant))
    contact = FollowUpContact.objects.create(response=response, email="lea@example.org", consented_at=response.submitted_at)
    return {"signed": signing.dumps(contact.pk, salt=STOP_SALT)}


TARGETS = {
    "survey": Target(lambda world, role, variant: {"pk": _survey(world, role, variant).pk}),
    # Public answer pages: the same for everybody, wherever the action is.
    "public_survey": Target(_public_survey, ("ici",)),
    "survey_token": Target(_survey_token, ("ici",)),
    "stop_follow_up": Target(_stop_follow_up, ("ici",)),
    "questionnaire": Target(lambda world, role, variant: {"pk": _questionnaire_pk()}, ("ici",)),
    "action_of_survey": Target(_pk("action_a", "action_b", key="action_pk")),
    "person": Target(_person),
    "contact": Target(_contact),
    "import_batch": Target(_import_batch, ("ici", "aude")),
    "company_import_batch": Target(
        lambda world, role, variant: _import_batch(world, role, variant, "companies"), ("ici", "aude")
    ),
    "declared_import_batch": Target(
        lambda world, role, variant: _import_batch(world, role, variant, kind="declared_values"), ("ici", "aude")
    ),
    "export_job": Target(_export_job, ("ici", "aude")),
    "company": Target(_pk("company_a", "company_b")),
    "company_account": Target(_company_account),
    "invitation_link": Target(_invitation_link, ("ici",)),
    # POST-only endpoints answer 405 to GET before looking at the object: any id will do.
    "any_pk": Target(lambda world, role, variant: {"pk": 1}, ("ici",)),
    "company_of_page": Target(_pk("company_a", "company_b", key="company_pk")),
    "diagnostic": Target(_pk("diagnostic_a", "diagnostic_b")),
    "club": Target(lambda world, role, variant: {"pk": side_of(world, variant).club.pk}, ("ici", "aude")),
    "club_membership": Target(
        lambda world, role, variant: {"pk": side_of(world, variant).company_a.club_memberships.get().pk}, ("ici", "aude")
    ),
    # Draft and negotiation: the statuses in which a convention may still be edited.
    "convention": Target(_pk("draft", "other")),
    "document": Target(_pk("signed_document", "other_document")),
    "action": Target(_pk("action_a", "action_b")),
    # Practice sheets: in review by the club naming company A (neighbour: a draft of the préfecture), a draft of
    # the club, a published one (read by every signed-in person, the Aude's too).
    "practice": Target(_pk("sheet", "sheet_other")),
    "practice_review": Target(_pk("sheet", "sheet_other"), ("ici", "aude")),
    "practice_draft": Target(_pk("sheet_draft", "sheet_other"), ("ici", "aude")),
    "practice_published": Target(_pk("sheet_published", "sheet_other"), ("ici", "aude")),
    "practice_attachment": Target(
        lambda world, role, variant: {
            "pk": side_of(world, variant).sheet.pk,
            "attachment_pk": side_of(world, variant).sheet_attachment.pk,
        },
        ("ici", "aude"),
    ),
    "departement": Target(lambda world, role, variant: {"code": side_of(world, variant).code}, ("ici", "aude")),
    "qpv": Target(lambda world, role, variant: {"code": side_of(world, variant).qpvs[0].code}, ("ici", "aude")),
    "epci": Target(lambda world, role, variant: {"siren": side_of(world, variant).epci.siren}, ("ici", "aude")),
    "api_key": Target(_api_key, ("ici", "aude")),
    "campaign": Target(lambda world, role, variant: {"pk": side_of(world, variant).campaign.pk}, ("ici", "aude")),
    "declaration": Target(_pk("declaration_a", "declaration_b")),
    "evidence": Target(_pk("evidence_a", "evidence_b")),
    # Evaluation reports are addressed by a kind and a key (evaluation/reports/urls.py).
    "report_national": Target(lambda world, role, variant: {"kind": "national", "key": "france"}, ("ici",)),
    "report_departement": Target(
        lambda world, role, variant: {"kind": "departement", "key": side_of(world, variant).code}, ("ici", "aude")
    ),
    "report_club": Target(lambda world, role, variant: {"kind": "club", "key": side_of(world, variant).club.pk}, ("ici", "aude")),
    # Hérault and Aude share Occitanie: no twin région in the dataset; the refusal of another région is tested in
    # tests/evaluation/test_reports.py.
    "report_region": Target(
        lambda world, role, variant: {"kind": "region", "key": departement(side_of(world, variant).code).region.code}, ("ici",)
    ),
    "report_qpv": Target(
        lambda world, role, variant: {"kind": "qpv", "key": side_of(world, variant).qpvs[0].code}, ("ici", "aude")
    ),
    "report_convention": Target(_report("convention", "signed", "signed_b")),
    "report_company": Target(_report("entreprise", "company_a", "company_b")),
    "delivery": Target(_delivery, ("ici", "aude")),
    # The catalogue is one national referential: no territory, no twin in the Aude.
    "family": Target(lambda world, role, variant: {"pk": Family.objects.get(code="EDU").pk}, ("ici",)),
    "action_type": Target(lambda world, role, variant: {"pk": ActionType.objects.get(code="STAGE_3E").pk}, ("ici",)),
    "indicator": Target(lambda world, role, variant: {"pk": Indicator.objects.get(code="BENEFICIAIRES").pk}, ("ici",)),
    "reset_link": Target(lambda world, role, variant: {"uidb64": "MQ", "token": "lien-perime"}, ("ici",)),
}


# --- the rules -------------------------------------------------------------------------------------------


def by_role(national, prefecture, club, company, partner, nobody):
    return dict(zip(ROLES, (national, prefecture, club, company, partner, nobody), strict=True))


def same(status):
    return dict.fromkeys(ROLES, status)


@dataclass(frozen=True)
class Rule:
    expected: dict  # role -> status on an object of its own territory
    target: str | None = None  # a key of TARGETS; a URL with several rules (one per target) walks each
    rows: str | None = None  # a key of VISIBLE: the list must show these rows and hide the others
    never: dict = field(default_factory=dict)  # role -> texts that must not appear
    foreign: dict | None = None  # role -> status out of scope, when it is not simply 404


READERS = by_role(200, 200, 200, 200, 404, 404)  # pages about companies, conventions, actions
COMPANY_WRITERS = by_role(200, 200, 200, 200, 404, 404)
PORTAL_WRITERS = by_role(200, 200, 200, 403, 404, 404)  # visible to the company, changed by others
CONCLUDERS = by_role(200, 200, 403, 403, 404, 404)  # sign, activate, terminate, renew
ORG_ADMINS = by_role(200, 200, 200, 200, 200, 403)  # API keys: administrators of the current organisation
CATALOGUE_EDITORS = by_role(200, 403, 403, 403, 403, 403)  # the national level edits, the others read
CLUB_MANAGERS = by_role(200, 200, 200, 404, 404, 404)
# The members of a company's account: its admins, the préfecture and the club that recruits it, the national level.
PEOPLE_MANAGERS = by_role(200, 200, 200, 200, 404, 404)
VALIDATORS = by_role(200, 200, 200, 403, 404, 404)  # completeness of a campaign: not for the companies
REPORT_READERS = {
    "report_national": by_role(200, 404, 404, 404, 404, 404),
    "report_departement": by_role(200, 200, 200, 404, 200, 404),
    # A région's figures: the readers of one of its départements (AnnualResult.visible_to).
    "report_region": by_role(200, 200, 200, 404, 200, 404),
    "report_club": by_role(200, 200, 200, 404, 404, 404),
    # A QPV's figures: its territory's readers (a partner attached to an EPCI reads its territory this way).
    "report_qpv": by_role(200, 200, 200, 404, 200, 404),
    "report_convention": READERS,
    "report_company": READERS,
}

# The 360° surveys (issue 16): read by national, the préfecture and the action's club; run by the last two.
SURVEY_READERS = by_role(200, 200, 200, 404, 404, 404)
SURVEY_MANAGERS = by_role(403, 200, 200, 404, 404, 404)

RULES = {
    "surveys:list": Rule(SURVEY_READERS),
    "surveys:export": Rule(SURVEY_READERS),
    # The moderators of open answers: the action's club and the préfecture, not the national level.
    "surveys:moderation": Rule(by_role(404, 200, 200, 404, 404, 404)),
    "surveys:moderate": Rule(same(405), "any_pk"),  # POST only
    "surveys:question_toggle": Rule(same(405), "any_pk"),  # POST only
    "surveys:questionnaires": Rule(same(200)),
    "surveys:questionnaire": Rule(same(200), "questionnaire"),
    # The action is visible to the company that took part, but a survey is not its business.
    "surveys:create": Rule(by_role(403, 200, 200, 403, 404, 404), "action_of_survey"),
    "surveys:detail": Rule(SURVEY_READERS, "survey"),
    "surveys:print": Rule(SURVEY_READERS, "survey"),
    "surveys:results": Rule(SURVEY_READERS, "survey"),
    "surveys:tokens": Rule(SURVEY_MANAGERS, "survey"),
    "surveys:tokens_print": Rule(SURVEY_MANAGERS, "survey"),
    # Public: answering needs no account.
    "survey_public:answer": Rule(same(200), "public_survey"),
    "survey_public:answer_token": Rule(same(200), "survey_token"),
    "survey_public:thanks": Rule(same(200), "public_survey"),
    "survey_public:stop": Rule(same(200), "stop_follow_up"),
    "home": Rule(same(302)),  # the public landing page sends signed-in people to their dashboard
    "dashboard": Rule(same(200)),
    "comptes:login": Rule(same(302)),
    "comptes:logout": Rule(same(405)),  # POST only
    "comptes:password_reset": Rule(same(200)),
    "comptes:password_reset_done": Rule(same(200)),
    "comptes:password_reset_confirm": Rule(same(200), "reset_link"),  # explains that the link is invalid
    "comptes:password_reset_complete": Rule(same(200)),
    "comptes:switch_organisation": Rule(same(405)),  # POST only
    "comptes:api_keys": Rule(ORG_ADMINS),
    "comptes:api_key_create": Rule(ORG_ADMINS),
    "comptes:api_key_created": Rule(by_role(302, 302, 302, 302, 302, 403)),  # nothing just created: back to the list
    "comptes:api_key_revoke": Rule(ORG_ADMINS, "api_key", foreign=by_role(404, 404, 404, 404, 404, 403)),
    # A person's own notifications and e-mail choices, whatever their organisation (even none).
    "notifications:list": Rule(same(200)),
    "notifications:preferences": Rule(same(200)),
    "notifications:mark_all_read": Rule(same(405)),  # POST only
    # Opening one's notification leads to its page (302); somebody else's is not found.
    "notifications:open": Rule(same(302), "delivery", foreign=same(404)),
    # A person's own export jobs: the list for everyone (empty without one); a job, its progress and its file for
    # its requester only, under an active membership; anyone else's is not found, even for the national level.
    "exports:list": Rule(same(200)),
    "exports:create": Rule(same(405)),  # POST only
    "exports:detail": Rule(by_role(200, 200, 200, 200, 200, 404), "export_job", foreign=same(404)),
    "exports:progress": Rule(by_role(200, 200, 200, 200, 200, 404), "export_job", foreign=same(404)),
    "exports:download": Rule(by_role(200, 200, 200, 200, 200, 404), "export_job", foreign=same(404)),
    # The « Membres » hub: a company or a partner administrator goes straight to its own organisation's page.
    "comptes:members": Rule(by_role(200, 200, 200, 302, 302, 403)),
    "comptes:organisation_members": Rule(PEOPLE_MANAGERS, "company_account"),
    "comptes:invite": Rule(PEOPLE_MANAGERS, "company_account"),
    "comptes:membership_role": Rule(same(405), "any_pk"),  # POST only
    "comptes:membership_status": Rule(same(405), "any_pk"),
    "comptes:invitation_resend": Rule(same(405), "any_pk"),
    "comptes:invitation_revoke": Rule(same(405), "any_pk"),
    # Public: the invitation link, for whoever opens it (a signed-in person other than the invitee is told so).
    "comptes:invitation_accept": Rule(same(200), "invitation_link"),
    # A person's data (export, anonymisation): the administrators of every organisation the person belongs to.
    "comptes:person_export": Rule(by_role(200, 200, 200, 200, 200, 404), "person"),
    "comptes:person_erase": Rule(by_role(200, 200, 200, 200, 200, 404), "person"),
    "entreprises:list": Rule(same(200), rows="companies"),
    "entreprises:export": Rule(same(200), rows="companies"),
    "entreprises:create": Rule(by_role(200, 200, 200, 403, 403, 403)),
    # Importing companies: who may create them (entreprises.permissions.can_create_company); others get a 404.
    "company_import:import": Rule(by_role(200, 200, 200, 404, 404, 404)),
    "company_import:import_template_csv": Rule(by_role(200, 200, 200, 404, 404, 404)),
    "company_import:import_template_xlsx": Rule(by_role(200, 200, 200, 404, 404, 404)),
    "company_import:import_batch": Rule(by_role(200, 200, 200, 404, 404, 404), "company_import_batch"),
    "company_import:import_rejects": Rule(by_role(200, 200, 200, 404, 404, 404), "company_import_batch"),
    "company_import:import_confirm": Rule(same(405), "any_pk"),  # POST only
    "entreprises:detail": Rule(READERS, "company"),
    "entreprises:edit": Rule(COMPANY_WRITERS, "company"),
    "entreprises:invite": Rule(PEOPLE_MANAGERS, "company"),
    # A contact's data: the administrators of an organisation that may change the company's page.
    "entreprises:contact_export": Rule(COMPANY_WRITERS, "contact"),
    "entreprises:contact_erase": Rule(COMPANY_WRITERS, "contact"),
    "entreprises:diagnostic_create": Rule(PORTAL_WRITERS, "company_of_page"),
    "entreprises:diagnostic_detail": Rule(READERS, "diagnostic"),
    "entreprises:diagnostic_edit": Rule(PORTAL_WRITERS, "diagnostic"),
    "catalogue:index": Rule(same(200)),
    "catalogue:history": Rule(CATALOGUE_EDITORS),
    "catalogue:family_create": Rule(CATALOGUE_EDITORS),
    "catalogue:family_edit": Rule(CATALOGUE_EDITORS, "family"),
    "catalogue:action_type_create": Rule(CATALOGUE_EDITORS),
    "catalogue:action_type_edit": Rule(CATALOGUE_EDITORS, "action_type"),
    "catalogue:indicator_create": Rule(CATALOGUE_EDITORS),
    "catalogue:indicator_edit": Rule(CATALOGUE_EDITORS, "indicator"),
    "entreprises:clubs": Rule(same(200), rows="clubs"),
    # A club's member list and its changes: the club (its administrator here), its préfecture, the national level.
    "entreprises:club_members": Rule(CLUB_MANAGERS, "club"),
    "entreprises:club_member_add": Rule(CLUB_MANAGERS, "club"),
    "entreprises:club_member_end": Rule(CLUB_MANAGERS, "club_membership"),
    "conventions:list": Rule(same(200), rows="conventions"),
    "conventions:export": Rule(same(200), rows="conventions"),
    "conventions:create": Rule(PORTAL_WRITERS),
    "conventions:detail": Rule(READERS, "convention"),
    "conventions:edit": Rule(PORTAL_WRITERS, "convention"),
    "conventions:submit": Rule(PORTAL_WRITERS, "convention"),
    "conventions:back_to_draft": Rule(PORTAL_WRITERS, "convention"),
    "conventions:sign": Rule(CONCLUDERS, "convention"),
    "conventions:activate": Rule(CONCLUDERS, "convention"),
    "conventions:terminate": Rule(CONCLUDERS, "convention"),
    "conventions:renew": Rule(CONCLUDERS, "convention"),
    "conventions:document": Rule(READERS, "document"),
    "conventions:company_commitments": Rule(READERS, "company_of_page"),
    "actions:list": Rule(same(200), rows="actions"),
    "actions:export": Rule(same(200), rows="actions"),
    # The filters' suggestions (JSON): the reader's companies and conventions only (fewer than 20 here: all shown).
    "actions:company_suggestions": Rule(same(200), rows="companies"),
    "actions:convention_suggestions": Rule(same(200), rows="conventions"),
    "actions:qpv_suggestions": Rule(same(200), rows="qpvs"),
    "actions:create": Rule(by_role(200, 200, 200, 200, 404, 404)),
    "actions:grid": Rule(by_role(200, 200, 200, 200, 404, 404)),
    # Duplicating opens the creation form prefilled from a visible action: whoever may log actions.
    "actions:duplicate": Rule(by_role(200, 200, 200, 200, 404, 404), "action"),
    "actions:import": Rule(by_role(200, 200, 200, 200, 404, 404)),
    "actions:import_template_csv": Rule(by_role(200, 200, 200, 200, 404, 404)),
    "actions:import_template_xlsx": Rule(by_role(200, 200, 200, 200, 404, 404)),
    "actions:import_batch": Rule(by_role(200, 200, 200, 200, 404, 404), "import_batch"),
    "actions:import_rejects": Rule(by_role(200, 200, 200, 200, 404, 404), "import_batch"),
    "actions:import_confirm": Rule(same(405), "any_pk"),  # POST only
    "actions:detail": Rule(READERS, "action"),
    # Practice sheets (issue 15): drafts and sheets in review are read by their authors (the club), their
    # reviewers (the préfecture of the département, the national level) and the companies they name; published
    # ones by every signed-in person.
    "practices:mine": Rule(by_role(200, 200, 200, 200, 404, 404)),
    "practices:create": Rule(by_role(200, 200, 200, 200, 404, 404)),
    "practices:detail": (
        Rule(READERS, "practice"),
        Rule(by_role(200, 200, 200, 200, 200, 404), "practice_published", foreign=by_role(200, 200, 200, 200, 200, 404)),
    ),
    # Finding and reproducing (catalogue.py): the catalogue of published sheets, the public one and the public
    # page (no sign-in needed, tests/practices/test_catalogue.py), "je veux reproduire" (not for its authors).
    "practices:catalogue": Rule(same(200), rows="practices"),
    "practices:public_catalogue": Rule(same(200), rows="public_practices"),
    "practices:public_detail": Rule(same(200), "practice_published", foreign=same(200)),
    "practices:reproduce": Rule(
        by_role(200, 200, 403, 200, 200, 404), "practice_published", foreign=by_role(200, 200, 200, 200, 200, 404)
    ),
    "practices:edit": Rule(by_role(403, 403, 200, 404, 404, 404), "practice_draft"),
    "practices:attachment_add": Rule(by_role(403, 403, 200, 404, 404, 404), "practice_draft"),
    "practices:review": Rule(by_role(200, 200, 403, 403, 404, 404), "practice_review"),
    "practices:consent": Rule(by_role(404, 404, 404, 200, 404, 404), "practice_review"),
    "practices:attachment": Rule(READERS, "practice_attachment"),
    "practices:submit": Rule(same(405), "any_pk"),  # POST only
    "practices:attachment_delete": Rule(same(405), "practice_attachment", foreign=same(405)),  # POST only
    "actions:edit": Rule(PORTAL_WRITERS, "action"),  # the club's animator logged it; the company took part
    "actions:delete": Rule(PORTAL_WRITERS, "action"),
    "territoires:list": Rule(same(200), rows="departements"),
    "territoires:departement": Rule(by_role(200, 200, 200, 200, 200, 404), "departement", never=TERRITORY_NEVER),
    # An EPCI's aggregates: figures only, whoever reads them.
    "territoires:epci": Rule(by_role(200, 200, 200, 200, 200, 404), "epci", never=TERRITORY_NEVER),
    "territoires:qpv": Rule(by_role(200, 200, 200, 200, 200, 404), "qpv", rows="mosson_actions", never=TERRITORY_NEVER),
    "evaluation:campaign_list": Rule(READERS, rows="campaigns"),
    "evaluation:campaign_create": Rule(by_role(200, 200, 403, 403, 404, 404)),
    "evaluation:campaign_detail": Rule(READERS, "campaign"),
    "evaluation:campaign_sync": Rule(same(405), "campaign", foreign=same(405)),
    "evaluation:completeness": Rule(VALIDATORS, "campaign"),
    "evaluation:completeness_export": Rule(VALIDATORS, "campaign"),
    "evaluation:completeness_remind": Rule(same(405), "campaign", foreign=same(405)),  # POST only
    "evaluation:declaration_list": Rule(READERS, rows="declarations"),
    "evaluation:declaration": Rule(READERS, "declaration"),
    "evaluation:declaration_validate": Rule(same(405), "declaration", foreign=same(405)),
    "evaluation:declaration_return": Rule(same(405), "declaration", foreign=same(405)),
    "evaluation:declaration_reopen": Rule(same(405), "declaration", foreign=same(405)),
    "evaluation:evidence_upload": Rule(same(405), "declaration", foreign=same(405)),
    "evaluation:evidence_download": Rule(READERS, "evidence"),
    "evaluation:evidence_delete": Rule(same(405), "evidence", foreign=same(405)),
    "evaluation:convention_history": Rule(READERS, "convention"),
    "evaluation:declared_export_csv": Rule(READERS, rows="declared_values"),
    "evaluation:declared_export_xlsx": Rule(READERS),
    # Only a company fills (and so imports) its declared values; the others get the refusal before any object.
    "evaluation:declared_import": Rule(by_role(403, 403, 403, 200, 404, 404)),
    "evaluation:declared_import_batch": Rule(
        by_role(403, 403, 403, 200, 404, 404), "declared_import_batch", foreign=by_role(403, 403, 403, 404, 404, 404)
    ),
    "evaluation:declared_import_rejects": Rule(
        by_role(403, 403, 403, 200, 404, 404), "declared_import_batch", foreign=by_role(403, 403, 403, 404, 404, 404)
    ),
    "evaluation:declared_import_confirm": Rule(same(405), "any_pk"),  # POST only
    "rapports:index": Rule(by_role(200, 200, 200, 200, 200, 404)),
    # Public open data: the same for everybody.
    "rapports:open_data": Rule(same(200)),
    "rapports:open_data_csv": Rule(same(200)),
    "rapports:open_data_json": Rule(same(200)),
    "methodologie": Rule(same(200)),  # public: the definitions of the figures
    # The mandatory pages of a State site (charte/legal.py): public, the same for everybody.
    "accessibilite": Rule(same(200)),
    "mentions_legales": Rule(same(200)),
    "donnees_personnelles": Rule(same(200)),
    "plan_du_site": Rule(same(200)),
    "rapports:start": Rule(same(405), "report_departement", foreign=same(405)),
    # Operations, the same for everybody (charte/ops). The health probe is public; with a broker (CI), no worker nor
    # beat runs during the walk, so it rightly answers 503 (tests/ops/test_health.py covers both answers).
    "sante": Rule(same(503 if settings.CELERY_BROKER_URL else 200)),
    # Metrics are off by default: the address does not exist (tests/ops/test_metrics.py switches them on).
    "metriques": Rule(same(404)),
}
RULES["rapports:report"] = tuple(Rule(expected, target) for target, expected in REPORT_READERS.items())
# The exports resolve the report like its page (evaluation.reports.views._report): two kinds whose readers differ most
# (a partner reads a département, a company reads itself) keep the walk fast without losing a rule.
for _name in ("rapports:progress", "rapports:xlsx", "rapports:csv", "rapports:pdf", "rapports:missing_csv"):
    RULES[_name] = tuple(Rule(REPORT_READERS[target], target) for target in ("report_departement", "report_company"))

# ProConnect's addresses exist only when it is configured (charte/comptes/proconnect_settings.py), so they are
# walked with it on, by `test_proconnect_urls_walk`: every role is redirected, to the provider (the button),
# back to the login page (a callback when no sign-in was started) or to the home page (back from the logout).
PROCONNECT_RULES = {
    "comptes:proconnect_login": (same(302), "https://proconnect.example.gouv.fr/api/v2/authorize?"),
    "comptes:proconnect_callback": (same(302), "/compte/connexion/"),
    "comptes:proconnect_logged_out": (same(302), "/"),
}
PROCONNECT_ENDPOINTS = {
    "authorization_endpoint": "https://proconnect.example.gouv.fr/api/v2/authorize",
    "token_endpoint": "https://proconnect.example.gouv.fr/api/v2/token",
    "userinfo_endpoint": "https://proconnect.example.gouv.fr/api/v2/userinfo",
    "jwks_endpoint": "https://proconnect.example.gouv.fr/api/v2/jwks",
}


def rules_of(name):
    rules = RULES.get(name)
    return rules if isinstance(rules, tuple) else (rules,) if rules else ()


def expected_status(rule, role, variant):
    if variant == "ici":
        return rule.expected[role]
    if rule.foreign is not None:
        return rule.foreign[role]
    # The Aude is in scope for the national level only; the Hérault's neighbours for the préfecture too.
    in_scope = role == "national" or (variant == "voisin" and role == "prefecture")
    return rule.expected[role] if in_scope else 404


def walk_cases():
    cases = []
    for _route, name in portal_url_patterns():
        for rule in rules_of(name) or (None,):
            target = rule.target if rule else None
            variants = TARGETS[target].variants if target else ("ici",)
            label = f"{name}[{target}]" if len(rules_of(name)) > 1 else name
            for role in ROLES:
                for variant in variants:
                    cases.append(pytest.param(role, name, target, variant, id=f"{role}-{label}-{variant}"))
    return cases


# --- the dataset, once for the module ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


@pytest.fixture
def rolled_back(world, db):
    """What a test writes (sessions, API keys, memberships) is undone when it ends (`db`: a savepoint)."""


def body(response):
    # Reading a streamed response to its end closes it (the test client's wrapper); closing it again here would
    # fire request_finished, and close the database connection (and the module's transaction) on PostgreSQL.
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return html.unescape(content.decode("utf-8-sig", errors="replace"))


def assert_one_breadcrumb_shape(text):
    """Every breadcrumb is the DSFR one and starts the same way: « Accueil » (the home page, which leads a signed-in
    person to the dashboard), then the section; never a second « Tableau de bord » step (issue 13)."""
    if 'class="fr-breadcrumb"' not in text:
        return
    crumb = text[text.index('class="fr-breadcrumb"') : text.index("</nav>", text.index('class="fr-breadcrumb"'))]
    links = re.findall(r'<a class="fr-breadcrumb__link"[^>]*>([^<]*)</a>', crumb)
    assert links and links[0] == "Accueil", links
    assert "Tableau de bord" not in links, links
    assert 'aria-current="page"' in crumb.rsplit('class="fr-breadcrumb__link"', 1)[1], crumb


# --- the tests -----------------------------------------------------------------------------------------------


def test_every_portal_url_has_a_walk_rule():
    patterns = portal_url_patterns()
    unnamed = [route for route, name in patterns if not name]
    names = {name for _route, name in patterns if name}
    assert not unnamed, f"Adresses du portail sans nom (impossibles à parcourir) : {unnamed}"
    assert not names - RULES.keys(), f"Adresses du portail sans règle de parcours dans RULES : {sorted(names - RULES.keys())}"
    assert not RULES.keys() - names, f"Règles pour des adresses qui n'existent plus : {sorted(RULES.keys() - names)}"
    # The enumeration really goes through the includes.
    assert {"entreprises:detail", "conventions:sign", "actions:edit", "territoires:qpv"} <= names
    assert not names & PROCONNECT_RULES.keys(), "ProConnect n'est pas configuré : ses adresses ne doivent pas exister"


def test_proconnect_urls_walk(client, rolled_back, world):
    with proconnect_on(**PROCONNECT_ENDPOINTS):
        names = {name for _route, name in portal_url_patterns() if name}
        assert names - RULES.keys() == PROCONNECT_RULES.keys()
        for role in ROLES:
            client.force_login(world.users[role])
            for name, (expected, location) in PROCONNECT_RULES.items():
                response = client.get(reverse(name))
                assert response.status_code == expected[role], f"{role} GET {name} : {response.status_code}"
                if location.endswith("?"):
                    assert response["Location"].startswith(location), response["Location"]
                else:
                    assert response["Location"] == location
            client.logout()


@pytest.mark.parametrize("role, name, target, variant", walk_cases())
def test_walk(client, rolled_back, world, role, name, target, variant):
    rule = next((rule for rule in rules_of(name) if rule.target == target), None)
    assert rule is not None, f"L'adresse « {name} » n'a pas de règle de parcours : ajoutez-la à RULES."
    kwargs = TARGETS[rule.target].kwargs(world, role, variant) if rule.target else {}
    url = reverse(name, kwargs=kwargs)
    client.force_login(world.users[role])

    response = client.get(url)
    text = body(response)

    expected = expected_status(rule, role, variant)
    assert response.status_code == expected, f"{role} GET {url} : {response.status_code} au lieu de {expected}"
    if expected == 404:
        assert "Page introuvable" in text
        return
    if expected == 403 and not name.startswith(OWN_REFUSAL_PAGES):
        # The shared French refusal page, with the view's reason.
        assert "Erreur 403" in text and "Action non autorisée" in text
        assert any(word in text for word in ("peut", "peuvent", "pouvez")), text
    if expected == 200:
        assert_one_breadcrumb_shape(text)
    if expected != 200 or variant != "ici":
        # Rows are checked on the Hérault's pages; the national level's Aude pages show the Aude's rows.
        return
    if rule.rows:
        visible = VISIBLE[rule.rows][role]
        hidden = [row for row in ALL[rule.rows] if row not in visible]
        missing = [row for row in visible if row not in text]
        leaked = [row for row in hidden if row in text]
        assert not missing, f"{role} GET {url} : lignes attendues absentes {missing}"
        assert not leaked, f"{role} GET {url} : lignes hors périmètre affichées {leaked}"
    leaked = [row for row in rule.never.get(role, []) if row in text]
    assert not leaked, f"{role} GET {url} : {leaked} ne devrait pas apparaître"


def test_a_prefecture_reads_the_national_convention_declined_in_its_departement_but_cannot_change_it(client, rolled_back, world):
    client.force_login(world.users["prefecture"])
    declined_here, declined_elsewhere = world.hexagone.convention, world.atlantique.convention

    assert client.get(reverse("conventions:detail", args=[declined_here.pk])).status_code == 200
    refused = client.get(reverse("conventions:edit", args=[declined_here.pk]))
    assert refused.status_code == 403
    assert "Vous pouvez consulter cette convention, mais pas la modifier." in body(refused)
    assert client.get(reverse("conventions:sign", args=[declined_here.pk])).status_code == 403
    for name in ("conventions:detail", "conventions:edit"):
        assert client.get(reverse(name, args=[declined_elsewhere.pk])).status_code == 404


def test_a_person_with_several_organisations_sees_the_rows_of_the_one_chosen(client, rolled_back, world):
    """The scope follows the organisation picked in the switcher, not the union of memberships."""
    user = world.users["club"]
    herault_membership = user.memberships.get(organisation=world.herault.club)
    aude_membership = MembershipFactory(user=user, organisation=world.aude.club)
    client.force_login(user)
    choices = ((aude_membership, world.aude, world.herault), (herault_membership, world.herault, world.aude))
    for membership, own, foreign in choices:
        response = client.post(reverse("comptes:switch_organisation"), {"membership": membership.pk, "next": "/actions/"})
        assert response.status_code == 302

        text = body(client.get(reverse("actions:list")))
        assert own.spec["action_a"] in text and foreign.spec["action_a"] not in text
        assert client.get(reverse("actions:detail", args=[foreign.action_a.pk])).status_code == 404
        assert client.get(reverse("actions:detail", args=[own.action_a.pk])).status_code == 200


# --- the shared error pages (DEBUG is off in tests, as in production) -------------------------------------


def test_an_unknown_address_shows_the_french_404_page(client, rolled_back):
    assert not settings.DEBUG
    response = client.get("/entreprises/adresse-inconnue/")

    assert response.status_code == 404
    text = body(response)
    assert '<html lang="fr"' in text
    assert "<h1>Page introuvable</h1>" in text and "Erreur 404" in text
    assert '<a class="fr-btn" href="/">Page d\'accueil</a>' in text
    assert "dsfr.min.css" in text


@pytest.mark.parametrize(
    "name, target, message",
    [
        ("entreprises:create", None, "Votre organisation ne peut pas créer d'entreprise dans le portail."),
        ("conventions:edit", "draft", "Vous pouvez consulter cette convention, mais pas la modifier."),
        ("actions:delete", "action_a", "Seuls l'auteur de la saisie, la préfecture du département de l'action"),
    ],
)
def test_a_refusal_shows_the_shared_french_403_page_with_the_reason(client, rolled_back, world, name, target, message):
    client.force_login(world.users["company"])
    args = [getattr(world.herault, target).pk] if target else []

    response = client.get(reverse(name, args=args))

    assert response.status_code == 403
    assert "403.html" in [template.name for template in response.templates]
    text = body(response)
    assert "<h1>Action non autorisée</h1>" in text and "Erreur 403" in text
    assert message in text
    # The header and menu of the portal stay there: the person can go on from this page.
    assert 'aria-label="Menu principal"' in text


def test_the_500_page_is_french_and_needs_neither_a_request_context_nor_the_database(rf, django_db_blocker):
    from django.views.defaults import server_error

    with django_db_blocker.block():  # any query would fail this test
        response = server_error(rf.get("/"))

    assert response.status_code == 500
    text = response.content.decode()
    assert '<html lang="fr"' in text
    assert "<h1>Erreur inattendue</h1>" in text and "Erreur 500" in text
    assert "dsfr.min.css" in text and 'href="/"' in text


@pytest.mark.parametrize("role", ["club", "company"])
def test_a_territory_page_names_only_the_companies_of_the_persons_scope(client, rolled_back, world, role):
    client.force_login(world.users[role])
    text = body(client.get(reverse("territoires:departement", args=["34"])))
    assert H["company_a"] in text
    assert H["company_b"] not in text
