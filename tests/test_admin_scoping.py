"""The Django admin, walked model by model through `admin.site._registry`, follows the scoping policy for a
staff member who is not a superuser (security review, issue 10).

The person is an administrator of the Aude's préfecture, staff, with every permission of every model. The data
is the URL walk's portal in two départements (Hérault 34, Aude 11). For every registered model admin: the change
list shows no Hérault row, a Hérault row's change, delete and history pages answer as for a missing row, and the
add and change forms (inlines and autocompletes included) offer no Hérault row. A model admin registered
tomorrow without declaring its scoping fails `test_every_registered_admin_declares_its_scoping`; one whose
scoping has no oracle here fails the walk until its Hérault rows are described in `FOREIGN`.
"""

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.forms import ModelChoiceField
from django.urls import reverse
from django.utils import formats, translation

from charte.comptes import people
from charte.comptes.admin_scoping import (
    ReferentialAdminMixin,
    ReferentialInlineMixin,
    ScopedAdminMixin,
    ScopedInlineMixin,
    SuperuserOnlyAdminMixin,
)
from charte.comptes.models import ApiKey, Invitation, Membership, Organisation, User
from charte.territoires.models import EPCI, QPV, Commune, Departement, Region
from conventions.models import (
    Action,
    ActionPartner,
    Commitment,
    Convention,
    ConventionDocument,
    ImportBatch,
    Signatory,
    Target,
)
from conventions.practices.models import PracticeInterest, PracticeSheet
from entreprises.models import ClubMembership, Company, Contact, Diagnostic, DiagnosticItem, Establishment
from evaluation.engine import runs
from evaluation.models import AnnualResult, Campaign, Declaration, EvaluationRun, ExportJob, Notification
from evaluation.surveys import services as survey_services
from evaluation.surveys.models import Answer, Question, QuestionnaireModel, Response, Survey
from tests.factories import MembershipFactory, UserFactory
from tests.walk_fixtures import build_world

REGISTRY = admin.site._registry
KINDS = (ScopedAdminMixin, ReferentialAdminMixin, SuperuserOnlyAdminMixin)


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def build_admin_world():
    w = build_world()
    year = w.aude.campaign.year
    for side in (w.herault, w.aude):
        Contact.objects.create(company=side.company_a, first_name="Claire", last_name=f"Contact {side.code}")
        ActionPartner.objects.create(action=side.action_a, kind=ActionPartner.Kind.COLLEGE, name=f"Collège {side.code}")
        ApiKey.issue(side.prefecture, f"Outil {side.code}", ApiKey.Access.READ)
        people.invite(side.club, f"animateur@club-{side.code}.example.org", "admin", None)
        Notification.objects.create(
            key=f"test-{side.code}",
            event="returned",
            declaration=side.declaration_a,
            recipients="rse@example.org",
            subject=f"Objet {side.code}",
        )
        uploader = MembershipFactory(organisation=side.prefecture)
        batch = ImportBatch(
            kind="actions",
            created_by=uploader.user,
            membership=uploader,
            organisation=side.prefecture,
            original_name=f"actions-{side.code}.csv",
        )
        batch.file.save("actions.csv", ContentFile(b"Identifiant;SIREN\n;1\n"), save=False)
        batch.save()
        ExportJob.objects.create(kind="actions", created_by=uploader.user, membership=uploader, organisation=side.prefecture)
        # A run of one département, as an older version of the portal started them (compiles now cover the year).
        run = EvaluationRun.objects.create(
            year=year, scope_type="departement", scope_key=side.code, units=[f"dep:{side.code}"], units_total=1
        )
        runs.execute_sync(run.pk)
        # A survey of each side's action, answered once (open text pending), and a question of the side's club.
        questionnaire = QuestionnaireModel.objects.get(code="participant")
        survey = Survey.objects.create(action=side.action_a, questionnaire=questionnaire, wave_months=0)
        Question.objects.create(questionnaire=questionnaire, club=side.club, text=f"Question du club {side.code}", kind="yes_no")
        answers = {q: ("Texte" if q.kind == "open" else 1) for q in survey_services.questions_of(survey)}
        survey_services.submit_response(survey, answers)
    w.staff = UserFactory(email="agent@aude.example.org", is_staff=True)
    w.staff.user_permissions.set(Permission.objects.all())
    w.membership = MembershipFactory(user=w.staff, organisation=w.aude.prefecture, role=Membership.Role.ADMIN)
    ExportJob.objects.create(kind="actions", created_by=w.staff, membership=w.membership, organisation=w.aude.prefecture)
    return w


@pytest.fixture(scope="module")
def built_world(django_db_setup, django_db_blocker):
    """The two départements, built (and compiled) once for the module inside a transaction rolled back at its end,
    as the URL walk does; each test runs in a savepoint of it (`db`): what a test writes is undone when it ends."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_admin_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(built_world, db):
    return built_world


@pytest.fixture
def staff_client(client, world):
    client.force_login(world.staff)
    return client


def foreign_rows(model, w):
    """The rows of `model` that belong to the Hérault only: none of them may reach the Aude's staff member."""
    herault_companies = [w.herault.company_a.pk, w.herault.company_b.pk, w.hexagone.group.pk]
    herault_conventions = Convention.objects.filter(Q(departement__code="34") | Q(pk=w.hexagone.convention.pk))
    oracle = {
        User: lambda: User.objects.exclude(memberships__organisation__departements__code="11"),
        Organisation: lambda: Organisation.objects.exclude(departements__code="11"),
        Membership: lambda: Membership.objects.exclude(organisation__departements__code="11"),
        ApiKey: lambda: ApiKey.objects.exclude(organisation=w.aude.prefecture),
        Invitation: lambda: Invitation.objects.exclude(organisation__departements__code="11"),
        ImportBatch: lambda: ImportBatch.objects.exclude(organisation=w.aude.prefecture),
        # A job is its requester's only: even a colleague of the same préfecture does not see it.
        ExportJob: lambda: ExportJob.objects.exclude(membership=w.membership),
        Departement: lambda: Departement.objects.filter(code="34"),
        Commune: lambda: Commune.objects.filter(departement__code="34"),
        Region: lambda: Region.objects.exclude(departements__code="11"),
        EPCI: lambda: EPCI.objects.exclude(communes__departement__code="11"),
        QPV: lambda: QPV.objects.filter(departement__code="34"),
        Company: lambda: Company.objects.filter(pk__in=herault_companies),
        Establishment: lambda: Establishment.objects.filter(company__in=herault_companies),
        ClubMembership: lambda: ClubMembership.objects.filter(company__in=herault_companies),
        Contact: lambda: Contact.objects.filter(company__in=herault_companies),
        Diagnostic: lambda: Diagnostic.objects.filter(company__in=herault_companies),
        DiagnosticItem: lambda: DiagnosticItem.objects.filter(diagnostic__company__in=herault_companies),
        Convention: lambda: herault_conventions,
        Signatory: lambda: Signatory.objects.filter(convention__in=herault_conventions),
        ConventionDocument: lambda: ConventionDocument.objects.filter(convention__in=herault_conventions),
        Commitment: lambda: Commitment.objects.filter(convention__in=herault_conventions),
        Target: lambda: Target.objects.filter(commitment__convention__in=herault_conventions),
        Action: lambda: Action.objects.filter(departement__code="34"),
        # Published sheets are read by every signed-in person: the Hérault's others stay in the Hérault.
        PracticeSheet: lambda: PracticeSheet.objects.filter(departement__code="34").exclude(status="published"),
        # Interests: the organisation that said it and the sheet's authors (the Aude's préfecture wrote none).
        PracticeInterest: lambda: PracticeInterest.objects.exclude(organisation=w.aude.prefecture),
        ActionPartner: lambda: ActionPartner.objects.filter(action__departement__code="34"),
        Campaign: lambda: Campaign.objects.filter(departements__code="34"),
        Declaration: lambda: Declaration.objects.filter(convention__in=herault_conventions),
        Notification: lambda: Notification.objects.filter(declaration__convention__in=herault_conventions),
        EvaluationRun: lambda: EvaluationRun.objects.filter(scope_type="departement", scope_key="34"),
        Question: lambda: Question.objects.filter(club=w.herault.club),
        Survey: lambda: Survey.objects.filter(action__departement__code="34"),
        Response: lambda: Response.objects.filter(survey__action__departement__code="34"),
        Answer: lambda: Answer.objects.filter(response__survey__action__departement__code="34"),
        AnnualResult: lambda: AnnualResult.objects.filter(
            Q(scope_type="departement", scope_key="34")
            | Q(scope_type="club", scope_key=str(w.herault.club.pk))
            | Q(scope_type="convention", scope_key__in=[str(pk) for pk in herault_conventions.values_list("pk", flat=True)])
            | Q(scope_type="company", scope_key__in=[str(pk) for pk in herault_companies])
            | Q(scope_type="qpv", scope_key__in=[qpv.code for qpv in w.herault.qpvs])
        ),
    }
    if model in oracle:
        return oracle[model]()
    model_admin = REGISTRY.get(model)
    if isinstance(model_admin, ScopedAdminMixin) or getattr(model_admin, "choices_scoped", False):
        pytest.fail(f"{model._meta.label} est restreint par périmètre : décrire ses lignes de l'Hérault dans foreign_rows.")
    return model._default_manager.none()


def refused(response):
    """The admin answers for a foreign row as for a missing one: a redirection to its index, or 404."""
    return response.status_code == 404 or (response.status_code == 302 and response["Location"] == reverse("admin:index"))


def offered_choices(response):
    """Every ModelChoiceField of the page's form and of its inlines' forms (empty form included)."""
    forms = []
    if "adminform" in response.context:
        forms.append(response.context["adminform"].form)
    for inline in response.context.get("inline_admin_formsets", []):
        forms.extend(inline.formset.forms)
        forms.append(inline.formset.empty_form)
    for form in forms:
        for name, field in form.fields.items():
            # An inline row's hidden id is not a choice: the formset reads its rows from the parent's.
            if isinstance(field, ModelChoiceField) and name != form._meta.model._meta.pk.name:
                yield f"{type(form).__name__}.{name}", field.queryset


def foreign_choices(response, w):
    leaks = []
    for name, queryset in offered_choices(response):
        foreign = set(foreign_rows(queryset.model, w).values_list("pk", flat=True))
        found = sorted(foreign & set(queryset.values_list("pk", flat=True)))
        if found:
            leaks.append(f"{name}: {queryset.model._meta.label} {found}")
    return leaks


def by_kind(kind):
    return [model for model, model_admin in REGISTRY.items() if isinstance(model_admin, kind)]


def scoped_models():
    """Every registered model but the referentials and the platform's machinery: its rows belong to a territory."""
    return [
        model
        for model, model_admin in REGISTRY.items()
        if not isinstance(model_admin, (ReferentialAdminMixin, SuperuserOnlyAdminMixin))
    ]


def label(model):
    return model._meta.label


# --- the registry -----------------------------------------------------------------------------------------


def test_every_registered_admin_declares_its_scoping():
    undeclared = [label(model) for model, model_admin in REGISTRY.items() if not isinstance(model_admin, KINDS)]
    assert undeclared == [], "Ces admins ne déclarent pas leur périmètre (ScopedAdminMixin, référentiel ou superutilisateurs)."
    inlines = [
        f"{label(model)}: {inline.__name__}"
        for model, model_admin in REGISTRY.items()
        if not isinstance(model_admin, SuperuserOnlyAdminMixin)
        for inline in model_admin.inlines
        if not issubclass(inline, (ScopedInlineMixin, ReferentialInlineMixin))
    ]
    assert inlines == []
    unnamed = [
        label(model)
        for model, model_admin in REGISTRY.items()
        if isinstance(model_admin, ScopedAdminMixin)
        and not callable(getattr(model_admin.visible_model().objects, model_admin.visibility, None))
    ]
    assert unnamed == []


# --- the walk -----------------------------------------------------------------------------------------------


def test_changelists_show_only_rows_of_the_aude(staff_client, world):
    problems = []
    for model in scoped_models():
        response = staff_client.get(url(model, "changelist"))
        if response.status_code != 200:
            problems.append(f"{label(model)}: liste {response.status_code}")
            continue
        listed = set(response.context["cl"].queryset.values_list("pk", flat=True))
        foreign = set(foreign_rows(model, world).values_list("pk", flat=True))
        if not listed:
            problems.append(f"{label(model)}: liste vide, le jeu de données doit avoir une ligne de l'Aude")
        if not foreign:
            problems.append(f"{label(model)}: aucune ligne de l'Hérault dans le jeu de données")
        if listed & foreign:
            problems.append(f"{label(model)}: lignes de l'Hérault listées {sorted(listed & foreign)}")
    assert not problems, "\n".join(problems)


def test_foreign_rows_answer_as_missing_ones(staff_client, world):
    problems = []
    for model in scoped_models():
        row = foreign_rows(model, world).first()
        own = staff_client.get(url(model, "changelist")).context["cl"].queryset.first()
        for view in ("change", "delete", "history"):
            for method in ("get", "post"):
                response = getattr(staff_client, method)(url(model, view, row.pk))
                # Refused for every row of the model (read-only, never deleted): the answer tells nothing. (Own rows
                # are never deleted here: their delete page is only read.)
                same = staff_client.post if (view, method) == ("change", "post") else staff_client.get
                if response.status_code == 403 and same(url(model, view, own.pk)).status_code == 403:
                    continue
                if not refused(response):
                    problems.append(f"{label(model)} {view} {method.upper()}: {response.status_code}")
    assert not problems, "\n".join(problems)
    # Nothing was written on the way: the Hérault's contact and signatory are as they were.
    assert Contact.objects.filter(last_name="Contact 34").exists()
    assert Signatory.objects.filter(name="Préfet Hérault").exists()


def test_add_and_change_forms_offer_no_foreign_row(staff_client, world):
    problems = []
    for model in scoped_models():
        pages = [url(model, "add")]
        own = staff_client.get(url(model, "changelist")).context["cl"].queryset.first()
        if own is not None:
            pages.append(url(model, "change", own.pk))
        for page in pages:
            response = staff_client.get(page)
            if response.status_code == 403:  # no add page for this model (read-only ones)
                continue
            assert response.status_code == 200, page
            problems += [f"{page} {leak}" for leak in foreign_choices(response, world)]
    assert not problems, "\n".join(problems)


def test_autocompletes_offer_no_foreign_row(staff_client, world):
    problems = []
    for model, model_admin in REGISTRY.items():
        if isinstance(model_admin, SuperuserOnlyAdminMixin):
            continue
        for field_name in model_admin.autocomplete_fields:
            related = model._meta.get_field(field_name).related_model
            response = staff_client.get(
                reverse("admin:autocomplete"),
                {"term": "", "app_label": model._meta.app_label, "model_name": model._meta.model_name, "field_name": field_name},
            )
            if response.status_code != 200:
                continue
            offered = {int(row["id"]) for row in response.json()["results"]}
            foreign = set(foreign_rows(related, world).values_list("pk", flat=True))
            if offered & foreign:
                problems.append(f"{label(model)}.{field_name}: {label(related)} {sorted(offered & foreign)}")
    assert not problems, "\n".join(problems)


def test_referentials_are_read_by_staff_and_written_by_the_national_level_only(staff_client, world):
    problems = []
    for model in by_kind(ReferentialAdminMixin):
        if staff_client.get(url(model, "changelist")).status_code != 200:
            problems.append(f"{label(model)}: liste illisible")
        if staff_client.get(url(model, "add")).status_code != 403:
            problems.append(f"{label(model)}: ajout ouvert")
        row = model._default_manager.first()
        if row is not None and staff_client.post(url(model, "change", row.pk), {}).status_code != 403:
            problems.append(f"{label(model)}: modification ouverte")
    for model in by_kind(SuperuserOnlyAdminMixin):
        if staff_client.get(url(model, "changelist")).status_code != 403:
            problems.append(f"{label(model)}: ouvert à un agent non superutilisateur")
    assert not problems, "\n".join(problems)


# --- escalations ---------------------------------------------------------------------------------------------


def form_data(response, **overrides):
    """What the browser would post back from an admin change page, with `overrides`."""
    data = {}

    def put(bound):
        value = bound.value()
        if value is None:
            return
        if isinstance(value, bool):
            if value:
                data[bound.html_name] = "on"
        elif isinstance(value, list | tuple):
            data[bound.html_name] = [str(v) for v in value]
        elif isinstance(value, datetime.date):
            with translation.override("fr"):
                data[bound.html_name] = formats.localize_input(value)
        else:
            data[bound.html_name] = str(value)

    for bound in response.context["adminform"].form:
        put(bound)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for bound in formset.management_form:
            put(bound)
        for form in formset.forms:
            for bound in form:
                put(bound)
    data.update(overrides)
    return data


def test_convention_form_refuses_a_foreign_company(staff_client, world):
    convention = world.aude.signed
    page = staff_client.get(url(Convention, "change", convention.pk))
    companies = [world.aude.company_a.pk, world.herault.company_a.pk]
    response = staff_client.post(url(Convention, "change", convention.pk), form_data(page, companies=companies))
    assert response.status_code == 200
    assert "companies" in response.context["adminform"].form.errors
    assert list(convention.companies.all()) == [world.aude.company_a]


def test_staff_cannot_make_itself_superuser_or_change_its_privileges(staff_client, world):
    me = world.staff
    page = staff_client.get(url(User, "change", me.pk))
    html = page.content.decode()
    for field in ("is_superuser", "is_staff", "groups", "user_permissions"):
        assert f'name="{field}"' not in html
    group = Group.objects.create(name="Tout")
    data = form_data(page, first_name="Moi", is_superuser="on", is_staff="on", groups=[group.pk], user_permissions=[])
    response = staff_client.post(url(User, "change", me.pk), data)
    assert response.status_code == 302
    me.refresh_from_db()
    assert me.first_name == "Moi"  # the page saved what it may save...
    assert not me.is_superuser  # ...and nothing of its privileges
    assert not me.groups.exists()
    assert me.user_permissions.count() == Permission.objects.count()


def test_staff_cannot_give_itself_a_national_membership(staff_client, world):
    national = world.organisations["national"]
    mine = world.membership
    # Its own membership is read-only for it.
    response = staff_client.post(
        url(Membership, "change", mine.pk),
        {"user": world.staff.pk, "organisation": national.pk, "role": "admin", "is_active": "on"},
    )
    assert response.status_code == 403
    mine.refresh_from_db()
    assert mine.organisation == world.aude.prefecture
    # A new membership of itself, or of the national organisation, is refused at the form.
    response = staff_client.post(
        url(Membership, "add"), {"user": world.staff.pk, "organisation": national.pk, "role": "admin", "is_active": "on"}
    )
    assert response.status_code == 200 and response.context["adminform"].form.errors
    # Nor through the memberships inline of its own user page.
    page = staff_client.get(url(User, "change", world.staff.pk))
    data = form_data(page)
    data |= {
        "memberships-TOTAL_FORMS": str(int(data["memberships-TOTAL_FORMS"]) + 1),
        f"memberships-{data['memberships-TOTAL_FORMS']}-organisation": str(national.pk),
        f"memberships-{data['memberships-TOTAL_FORMS']}-role": "admin",
        f"memberships-{data['memberships-TOTAL_FORMS']}-is_active": "on",
    }
    staff_client.post(url(User, "change", world.staff.pk), data)
    assert list(world.staff.memberships.values_list("organisation", flat=True)) == [world.aude.prefecture.pk]


def test_staff_manages_memberships_of_its_own_organisation_only(staff_client, world):
    colleague = MembershipFactory(organisation=world.aude.prefecture).user
    # The Aude's club is in its territory, but its accounts are the club's business.
    response = staff_client.post(
        url(Membership, "add"),
        {"user": colleague.pk, "organisation": world.aude.club.pk, "role": "member", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "organisation" in response.context["adminform"].form.errors
    assert not Membership.objects.filter(user=colleague, organisation=world.aude.club).exists()
    animator = MembershipFactory(organisation=world.aude.club).user
    response = staff_client.post(
        url(Membership, "add"),
        {"user": animator.pk, "organisation": world.aude.prefecture.pk, "role": "admin", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Membership.objects.get(user=animator, organisation=world.aude.prefecture).updated_by == world.staff


def test_a_member_who_is_not_admin_cannot_give_the_admin_role(client, world):
    Membership.objects.filter(pk=world.membership.pk).update(role=Membership.Role.MEMBER)
    client.force_login(world.staff)
    colleague = UserFactory(email="collegue@aude.example.org")
    MembershipFactory(user=colleague, organisation=world.aude.club)
    response = client.post(
        url(Membership, "add"),
        {"user": colleague.pk, "organisation": world.aude.prefecture.pk, "role": "admin", "is_active": "on"},
    )
    assert response.status_code == 200 and response.context["adminform"].form.errors
    assert not Membership.objects.filter(user=colleague, organisation=world.aude.prefecture).exists()


def test_staff_cannot_create_an_api_key_for_the_herault(staff_client, world):
    response = staff_client.post(
        url(ApiKey, "add"), {"organisation": world.herault.prefecture.pk, "name": "Outil volé", "scope": "read"}
    )
    assert response.status_code == 200
    assert "organisation" in response.context["adminform"].form.errors
    assert not ApiKey.objects.filter(name="Outil volé").exists()
    response = staff_client.post(url(ApiKey, "add"), {"organisation": world.aude.prefecture.pk, "name": "Outil", "scope": "read"})
    assert response.status_code == 302
    assert ApiKey.objects.get(name="Outil").organisation == world.aude.prefecture


def test_a_user_created_by_staff_joins_its_organisation(staff_client, world):
    response = staff_client.post(
        url(User, "add"),
        {
            "email": "nouvel.agent@aude.example.org",
            "usable_password": "true",
            "password1": "un-mot-de-passe-solide-42",
            "password2": "un-mot-de-passe-solide-42",
        },
    )
    created = User.objects.get(email="nouvel.agent@aude.example.org")
    assert response.status_code == 302 and response.url == url(User, "change", created.pk)
    assert staff_client.get(response.url).status_code == 200
    assert [(m.organisation, m.role) for m in created.memberships.all()] == [(world.aude.prefecture, Membership.Role.MEMBER)]
