"""Every model whose queryset answers `visible_to(scope)` is walked, role by role, where it is served (issue 10).

The models are found by walking `django.apps.apps.get_models()`, not listed by hand: a model given a `visible_to`
tomorrow fails `test_every_visible_model_is_covered_by_the_walks` until `SERVED` says which portal pages
(tests/test_url_walk.py), API endpoints (tests/api) and admin (tests/test_admin_scoping.py) serve its rows, and
each of those entries is checked against the walk that must exercise it. Then the hand-written expectations of
the URL walk are compared with what the models' `visible_to` answers for each role on the walk's dataset: the
pages and the rules cannot drift apart without one of the two tests saying so.
"""

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib import admin

from charte.comptes.admin_scoping import ReferentialAdminMixin, ScopedAdminMixin
from charte.comptes.models import Invitation, Organisation, User
from charte.comptes.scoping import Scope
from charte.territoires.models import EPCI, QPV, Commune, Departement, Region
from conventions.models import Action, Convention, ImportBatch
from conventions.practices.models import PracticeInterest, PracticeSheet
from entreprises.models import ClubMembership, Company, Contact, Diagnostic, Establishment
from evaluation.models import AnnualResult, Campaign, Declaration, EvaluationRun, ExportJob, Notification
from evaluation.surveys.models import Answer, FollowUpContact, Question, QuestionnaireModel, Response, Survey, SurveyToken


@dataclass(frozen=True)
class Served:
    """Where a model's rows are served, each walked role by role: URL names of the portal walk, basenames of
    the API's role x endpoint tests, and whether the admin walk covers its admin."""

    portal: tuple = ()
    api: tuple = ()
    admin: bool = True


SERVED = {
    Region: Served(api=("region",)),
    Departement: Served(portal=("territoires:list", "territoires:departement", "rapports:report"), api=("departement",)),
    EPCI: Served(portal=("territoires:epci",), api=("epci",)),
    Commune: Served(api=("commune",)),
    QPV: Served(portal=("territoires:qpv", "territoires:epci", "rapports:report"), api=("qpv", "qpv-correspondance")),
    # The clubs a person may pick (clubs_visible_to) are the club reports' readers; accounts are admin pages.
    Organisation: Served(portal=("rapports:report", "entreprises:clubs", "entreprises:club_members")),
    User: Served(portal=("comptes:person_export", "comptes:person_erase")),
    # Invitations into an organisation: its members page (resend and revoke are POST-only), and the admin.
    Invitation: Served(portal=("comptes:organisation_members",)),
    Company: Served(portal=("entreprises:list", "entreprises:export", "entreprises:detail"), api=("entreprise",)),
    # A company's establishments, contacts and club memberships: its page and the admin.
    Establishment: Served(portal=("entreprises:detail",)),
    Contact: Served(portal=("entreprises:contact_export", "entreprises:contact_erase")),
    ClubMembership: Served(portal=("entreprises:club_members", "entreprises:club_member_end")),
    Diagnostic: Served(portal=("entreprises:diagnostic_detail", "entreprises:diagnostic_edit")),
    Convention: Served(portal=("conventions:list", "conventions:export", "conventions:detail"), api=("convention",)),
    Action: Served(portal=("actions:list", "actions:export", "actions:detail"), api=("action",)),
    # Uploaded spreadsheets: the batch page and its rejected rows, walked on the person's and the Aude's batch;
    # the admin only reads them (scoped like the rest).
    ImportBatch: Served(
        portal=("actions:import_batch", "actions:import_rejects", "company_import:import_batch", "company_import:import_rejects")
    ),
    # Practice sheets: their pages (drafts and sheets in review walked on the club's, the préfecture's and the
    # Aude's sheets), their attachments, and the admin.
    PracticeSheet: Served(portal=("practices:detail", "practices:review", "practices:consent", "practices:attachment")),
    # Who wants to reproduce a sheet: its page (the authors and the national level read who), and the admin.
    PracticeInterest: Served(portal=("practices:detail",)),
    Campaign: Served(portal=("evaluation:campaign_list", "evaluation:campaign_detail"), api=("campagne",)),
    Declaration: Served(portal=("evaluation:declaration_list", "evaluation:declaration"), api=("declaration",)),
    Notification: Served(),
    # Export jobs: their requester's pages (walked on the person's own job and an Aude colleague's) and the admin.
    ExportJob: Served(portal=("exports:detail", "exports:progress", "exports:download")),
    EvaluationRun: Served(portal=("rapports:report", "rapports:progress")),
    AnnualResult: Served(portal=("rapports:report", "rapports:csv", "rapports:xlsx"), api=("resultat",)),
    # The 360° surveys (issue 16): the catalogue is referential; surveys, their links, responses and answers are
    # served by the survey pages; follow-up addresses only by the respondent's own (signed) link to erase them,
    # and by no admin.
    QuestionnaireModel: Served(portal=("surveys:questionnaire",), admin=False),
    Question: Served(portal=("surveys:questionnaire",)),
    Survey: Served(portal=("surveys:detail", "surveys:print", "surveys:results")),
    # Personal links: an inline of the survey's admin, read-only.
    SurveyToken: Served(portal=("surveys:tokens_print",), admin=False),
    Response: Served(portal=("surveys:results",)),
    Answer: Served(portal=("surveys:results",)),
    FollowUpContact: Served(portal=("survey_public:stop",), admin=False),
}


def visible_models():
    """Every installed model whose default manager answers `visible_to(scope)`."""
    return {model for model in apps.get_models() if callable(getattr(model._default_manager, "visible_to", None))}


def label(model):
    return model._meta.label


def test_every_visible_model_is_covered_by_the_walks():
    found = visible_models()
    assert found >= {Company, Convention, Departement, AnnualResult}, "La recherche des modèles ne trouve plus rien."
    missing = sorted(label(model) for model in found - SERVED.keys())
    stale = sorted(label(model) for model in SERVED.keys() - found)
    assert not missing, f"Modèles avec visible_to sans entrée dans SERVED (pages, API, admin parcourus) : {missing}"
    assert not stale, f"Entrées de SERVED pour des modèles sans visible_to : {stale}"
    unserved = sorted(label(model) for model, served in SERVED.items() if not (served.portal or served.api or served.admin))
    assert not unserved, f"Modèles parcourus nulle part : {unserved}"


def test_portal_entries_are_walked_on_rows_or_objects():
    from tests.test_url_walk import RULES, rules_of

    problems = []
    for model, served in SERVED.items():
        for name in served.portal:
            if name not in RULES:
                problems.append(f"{label(model)} : {name} absent du parcours des adresses")
            elif not any(rule.target or rule.rows for rule in rules_of(name)):
                problems.append(f"{label(model)} : {name} parcouru sans objet ni liste de lignes")
    assert problems == []


def test_api_entries_are_walked_role_by_role():
    from tests.api.test_evaluation_api import SCOPED as EVALUATION
    from tests.api.test_scoping import SCOPED

    walked = set(SCOPED) | set(EVALUATION)
    problems = [f"{label(model)} : {name}" for model, served in SERVED.items() for name in served.api if name not in walked]
    assert problems == [], f"Points d'accès de l'API absents des tests rôle x point d'accès : {problems}"


def test_admin_entries_are_scoped_by_the_models_visible_to():
    """A scoped admin's rows come from this model's `visible_to` (its own or through `scoped_through`); a
    referential admin limits its choices to it. Both are walked by tests/test_admin_scoping.py."""
    scoped_by = {}
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, ScopedAdminMixin) and model_admin.visibility == "visible_to":
            scoped_by.setdefault(model_admin.visible_model(), []).append(model)
        if isinstance(model_admin, ReferentialAdminMixin) and model_admin.choices_scoped:
            scoped_by.setdefault(model, []).append(model)
    problems = [label(model) for model, served in SERVED.items() if served.admin and model not in scoped_by]
    assert problems == [], f"Modèles sans admin restreint par leur visible_to : {problems}"


# --- the URL walk's hand-written expectations against the models' rules ------------------------------------

# VISIBLE key of the URL walk -> (model, the text a page shows for a row)
WALKED_ROWS = {
    "companies": (Company, lambda company: company.name),
    "conventions": (Convention, lambda convention: convention.reference),
    "actions": (Action, lambda action: action.title),
    "campaigns": (Campaign, lambda campaign: campaign.title),
    "declarations": (Declaration, lambda declaration: declaration.convention.reference),
}


@pytest.fixture
def walk_world(db):
    from tests.walk_fixtures import build_world

    return build_world()


def scope_of(user):
    return Scope.for_membership(user.memberships.filter(is_active=True).order_by("pk").first())


def test_the_url_walk_expects_what_visible_to_answers(walk_world):
    from tests.test_url_walk import ALL, VISIBLE
    from tests.walk_fixtures import ROLES

    problems = []
    for key, (model, text_of) in WALKED_ROWS.items():
        for role in ROLES:
            rows = model.objects.visible_to(scope_of(walk_world.users[role]))
            answered = {text_of(row) for row in rows} & set(ALL[key])
            if answered != set(VISIBLE[key][role]):
                problems.append(
                    f"{key} / {role} : la page attend {sorted(VISIBLE[key][role])}, visible_to donne {sorted(answered)}"
                )
    assert problems == []
