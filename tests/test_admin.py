"""The Django admin: every model of the portal's apps has a working, French, bounded-query admin."""

import datetime

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import reverse

from charte.catalogue.models import Family
from charte.comptes import people
from charte.comptes.models import ApiKey, Membership, OrganisationKind, User
from charte.territoires.models import EPCI, QPVCorrespondence
from conventions.models import Action, ActionPartner, Convention, ConventionDocument, ImportBatch
from entreprises.models import Contact, Diagnostic, DiagnosticItem, Label
from evaluation.models import ExportJob
from tests.factories import (
    ActionFactory,
    ClubMembershipFactory,
    CommuneFactory,
    CompanyFactory,
    ConventionFactory,
    EstablishmentFactory,
    MembershipFactory,
    OrganisationFactory,
    QPVFactory,
    SignatoryFactory,
    TargetFactory,
    UserFactory,
    action_type,
    departement,
)

APP_LABELS = ("comptes", "territoires", "catalogue", "entreprises", "conventions")
ADMIN_MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label in APP_LABELS),
    key=lambda model: model._meta.label,
)


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("admin@example.org", "motdepasse-solide-1")


@pytest.fixture
def client(client, superuser):
    client.force_login(superuser)
    return client


def build_dataset():
    """At least one row of every model of the apps, linked the way real data is."""
    herault = departement("34")
    epci = EPCI.objects.create(siren="243400017", name="Montpellier Méditerranée Métropole")
    montpellier = CommuneFactory(code="34172", name="Montpellier", epci=epci)
    mosson = QPVFactory(code="QP034005", name="Mosson", epci=epci)
    mosson.communes.add(montpellier)
    mosson_2024 = QPVFactory(code="QN03401M", name="Mosson", generation=2024)
    QPVCorrespondence.objects.create(qpv_2015=mosson, qpv_2024=mosson_2024)

    prefecture = OrganisationFactory(name="Préfecture de l'Hérault", departements=[herault])
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    MembershipFactory(organisation=prefecture, user=UserFactory(email="agent@herault.gouv.fr"))
    ApiKey.issue(prefecture, "Outil de suivi", "read")
    people.invite(club, "animateur@face-herault.example", "admin", None)

    company = CompanyFactory(name="BRL", siren="552000697", commune=montpellier)
    company.labels.add(Label.objects.create(name="Lucie"))
    EstablishmentFactory(company=company, commune=montpellier, is_head_office=True)
    ClubMembershipFactory(company=company, club=club)
    Contact.objects.create(company=company, first_name="Claire", last_name="Durand", email="claire@brl.example")
    diagnostic = Diagnostic.objects.create(company=company, club=club, date=datetime.date(2016, 1, 10))
    DiagnosticItem.objects.create(diagnostic=diagnostic, action_type=action_type(), status=DiagnosticItem.Status.DOING)

    convention = ConventionFactory(reference="034-2016-BRL", title="Convention BRL", club=club)
    convention.companies.add(company)
    SignatoryFactory(convention=convention)
    ConventionDocument.objects.create(
        convention=convention, title="Convention signée", file=SimpleUploadedFile("convention.pdf", b"%PDF-1.4 test")
    )
    TargetFactory(commitment__convention=convention)
    action = ActionFactory(title="Stages de 3e au collège Las Cazes", convention=convention, club=club)
    action.companies.add(company)
    action.qpvs.add(mosson)
    ActionPartner.objects.create(action=action, kind=ActionPartner.Kind.COLLEGE, name="Collège Las Cazes")
    uploader = MembershipFactory(organisation=club, user=UserFactory(email="import@face-herault.example"))
    batch = ImportBatch(
        kind="actions", created_by=uploader.user, membership=uploader, organisation=club, original_name="actions.csv"
    )
    batch.file.save("actions.csv", SimpleUploadedFile("actions.csv", b"Identifiant;SIREN\n;1\n"), save=False)
    batch.save()
    ExportJob.objects.create(kind="actions", created_by=uploader.user, membership=uploader, organisation=club)
    return {"company": company, "convention": convention, "club": club, "qpv": mosson, "action": action}


@pytest.fixture(scope="module")
def dataset_rows(django_db_setup, django_db_blocker):
    """The dataset, built once for the module (the registry walk alone opens every admin of the apps) inside a
    transaction rolled back at the module's end; each test runs in a savepoint of it (`db`), so what a test writes
    is undone when it ends, as with a dataset of its own."""
    with django_db_blocker.unblock(), transaction.atomic():
        rows = build_dataset()
        yield {name: (obj.__class__, obj.pk) for name, obj in rows.items()}
        transaction.set_rollback(True)


@pytest.fixture
def dataset(db, dataset_rows):
    # Fresh instances for each test: a test that changes one in memory leaves nothing to the next.
    return {name: model._default_manager.get(pk=pk) for name, (model, pk) in dataset_rows.items()}


def test_every_model_of_the_portal_apps_is_registered():
    missing = [
        model._meta.label
        for label in APP_LABELS
        for model in apps.get_app_config(label).get_models()
        if model not in admin.site._registry
    ]
    assert missing == []


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda model: model._meta.label)
def test_changelist_add_change_and_search_pages_render(client, dataset, model):
    obj = model._default_manager.first()
    assert obj is not None, f"Le jeu de données du test n'a aucun {model._meta.label} : en ajouter un."

    changelist = client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    assert changelist.context["cl"].result_count >= 1
    # Rendered in French: the add button and the page language.
    assert "Ajouter" in changelist.content.decode()
    assert 'lang="fr"' in changelist.content.decode()

    model_admin = admin.site._registry[model]
    request = changelist.wsgi_request
    if model_admin.has_add_permission(request):
        assert client.get(admin_url(model, "add")).status_code == 200
    else:  # a read-only admin (import batches are made in the portal)
        assert client.get(admin_url(model, "add")).status_code == 403
    change = client.get(admin_url(model, "change", obj.pk))
    assert change.status_code == 200
    assert ("Enregistrer" if model_admin.has_change_permission(request, obj) else "Fermer") in change.content.decode()

    if admin.site._registry[model].search_fields:
        assert client.get(admin_url(model, "changelist"), {"q": "Montpellier"}).status_code == 200


def test_search_finds_companies_by_siren_and_conventions_by_company_name(client, dataset):
    CompanyFactory(name="Suez")
    found = client.get(admin_url(Convention, "changelist"), {"q": "BRL"}).context["cl"].result_list
    assert list(found) == [dataset["convention"]]
    found = client.get(admin_url(dataset["company"].__class__, "changelist"), {"q": "552000697"}).context["cl"].result_list
    assert list(found) == [dataset["company"]]
    found = client.get(admin_url(dataset["qpv"].__class__, "changelist"), {"q": "QP034005"}).context["cl"].result_list
    assert list(found) == [dataset["qpv"]]


def make_companies(count):
    club = OrganisationFactory(kind=OrganisationKind.CLUB)
    label = Label.objects.get_or_create(name="Lucie")[0]
    for _ in range(count):
        company = CompanyFactory(commune=CommuneFactory())
        company.labels.add(label)
        ClubMembershipFactory(company=company, club=club)


def make_conventions(count):
    club = OrganisationFactory(kind=OrganisationKind.CLUB)
    for _ in range(count):
        convention = ConventionFactory(club=club)
        convention.companies.add(CompanyFactory(), CompanyFactory())
        SignatoryFactory(convention=convention)


def make_actions(count):
    club = OrganisationFactory(kind=OrganisationKind.CLUB)
    convention = ConventionFactory(club=club)
    for _ in range(count):
        action = ActionFactory(club=club, convention=convention)
        action.companies.add(CompanyFactory(), CompanyFactory())
        action.qpvs.add(QPVFactory())


def make_qpvs(count):
    epci = EPCI.objects.get_or_create(siren="243400017", defaults={"name": "Montpellier Méditerranée Métropole"})[0]
    for _ in range(count):
        QPVFactory(epci=epci).communes.add(CommuneFactory(epci=epci))


@pytest.mark.parametrize(
    ("model_name", "make"),
    [
        ("entreprises.Company", make_companies),
        ("conventions.Convention", make_conventions),
        ("conventions.Action", make_actions),
        ("territoires.QPV", make_qpvs),
    ],
)
def test_changelist_query_count_does_not_grow_with_rows(client, django_assert_max_num_queries, model_name, make):
    model = apps.get_model(model_name)
    url = admin_url(model, "changelist")
    existing = model._default_manager.count()  # the module's dataset, once a test of the module has built it
    make(5)
    with django_assert_max_num_queries(20) as few:
        response = client.get(url)
    assert response.context["cl"].result_count == existing + 5
    make(35)
    with django_assert_max_num_queries(20) as many:
        response = client.get(url)
    assert response.context["cl"].result_count == existing + 40
    assert len(many) == len(few)


def test_big_referentials_are_picked_through_autocompletes(client, dataset):
    html = client.get(admin_url(Action, "change", dataset["action"].pk)).content.decode()
    for field in ("companies", "qpvs", "convention"):
        assert f'name="{field}"' in html
    assert html.count("admin-autocomplete") >= 3
    # The autocomplete endpoint answers for a QPV search from the action form.
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": "Mosson", "app_label": "conventions", "model_name": "action", "field_name": "qpvs"},
    )
    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["Mosson (QN03401M)", "Mosson (QP034005)"]


def test_club_autocomplete_offers_only_clubs(client, dataset):
    response = client.get(
        reverse("admin:autocomplete"),
        {"term": "Hérault", "app_label": "conventions", "model_name": "convention", "field_name": "club"},
    )
    assert [row["text"] for row in response.json()["results"]] == ["FACE Hérault"]


# Memberships: deactivated, never deleted.


def test_deactivate_action_deactivates_selected_memberships_and_records_who(client, superuser):
    chosen = MembershipFactory.create_batch(2)
    other = MembershipFactory()
    response = client.post(
        admin_url(Membership, "changelist"),
        {"action": "deactivate", "_selected_action": [m.pk for m in chosen]},
        follow=True,
    )
    assert "2 adhésion(s) désactivée(s)." in response.content.decode()
    for membership in chosen:
        membership.refresh_from_db()
        assert membership.is_active is False
        assert membership.updated_by == superuser
    other.refresh_from_db()
    assert other.is_active is True and other.updated_by is None


def test_memberships_cannot_be_deleted_from_the_admin(client):
    membership = MembershipFactory()
    changelist = client.get(admin_url(Membership, "changelist"))
    action_choices = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert "deactivate" in action_choices
    assert "delete_selected" not in action_choices
    assert "Désactiver les adhésions sélectionnées" in changelist.content.decode()
    change = client.get(admin_url(Membership, "change", membership.pk)).content.decode()
    assert admin_url(Membership, "delete", membership.pk) not in change
    assert client.get(admin_url(Membership, "delete", membership.pk)).status_code == 403
    assert client.post(admin_url(Membership, "delete", membership.pk), {"post": "yes"}).status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_membership_change_records_who_changed_it(client, superuser):
    membership = MembershipFactory()
    response = client.post(
        admin_url(Membership, "change", membership.pk),
        {"user": membership.user_id, "organisation": membership.organisation_id, "role": "admin", "is_active": "on"},
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Membership.Role.ADMIN
    assert membership.updated_by == superuser


def test_organisation_inline_adds_a_membership_with_its_author(client, superuser):
    organisation = OrganisationFactory(name="Préfecture du Gard")
    person = UserFactory()
    response = client.post(
        admin_url(organisation.__class__, "change", organisation.pk),
        {
            "kind": organisation.kind,
            "name": organisation.name,
            "is_active": "on",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-0-user": person.pk,
            "memberships-0-role": "member",
            "memberships-0-is_active": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    membership = Membership.objects.get(organisation=organisation)
    assert membership.user == person
    assert membership.updated_by == superuser


# Users: e-mail login, passwords through the admin.


def test_creating_a_user_through_the_admin(client):
    response = client.post(
        admin_url(User, "add"),
        {
            "email": "Nouvelle.Personne@Example.org",
            "first_name": "Nadia",
            "last_name": "Benali",
            "usable_password": "true",
            "password1": "un-mot-de-passe-solide-42",
            "password2": "un-mot-de-passe-solide-42",
        },
    )
    user = User.objects.get(email="nouvelle.personne@example.org")
    assert response.status_code == 302
    assert response.url == admin_url(User, "change", user.pk)
    assert user.check_password("un-mot-de-passe-solide-42")
    assert user.first_name == "Nadia"
    assert not user.is_staff


def test_user_add_form_rejects_a_duplicate_email_and_mismatched_passwords_in_french(client):
    UserFactory(email="deja@example.org")
    response = client.post(
        admin_url(User, "add"),
        {"email": "DEJA@example.org", "usable_password": "true", "password1": "un-mot-de-passe-solide-42", "password2": "autre"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["email"] == ["Un utilisateur avec cette adresse électronique existe déjà."]
    assert errors["password2"] == ["Les deux mots de passe ne correspondent pas."]
    assert User.objects.filter(email__iexact="deja@example.org").count() == 1


def test_admin_changes_a_users_password(client):
    user = UserFactory()
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    # The change page offers the password form through a relative link.
    assert 'href="../password/"' in client.get(admin_url(User, "change", user.pk)).content.decode()
    assert client.get(url).status_code == 200
    new_password = {"usable_password": "true", "password1": "nouveau-secret-1234", "password2": "nouveau-secret-1234"}
    response = client.post(url, new_password)
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("nouveau-secret-1234")


# Catalogue, conventions, actions.


def test_a_territory_relabels_families_from_the_list(client, db):
    families = list(Family.objects.order_by("position", "code"))
    data = {"form-TOTAL_FORMS": str(len(families)), "form-INITIAL_FORMS": str(len(families)), "_save": "Enregistrer"}
    for index, family in enumerate(families):
        data |= {
            f"form-{index}-id": family.pk,
            f"form-{index}-label": family.label,
            f"form-{index}-short_label": family.short_label,
            f"form-{index}-position": family.position,
            f"form-{index}-is_active": "on",
        }
    data["form-0-label"] = "Sensibiliser"
    data["form-0-short_label"] = "Sensibiliser"
    response = client.post(admin_url(Family, "changelist"), data)
    assert response.status_code == 302
    families[0].refresh_from_db()
    assert (families[0].label, families[0].short_label) == ("Sensibiliser", "Sensibiliser")


def test_convention_status_is_read_only_in_the_admin(client, dataset):
    convention = dataset["convention"]
    html = client.get(admin_url(Convention, "change", convention.pk)).content.decode()
    assert 'name="status"' not in html
    assert "Brouillon" in html
    # The commitment inline links to the commitment page, where its targets are edited.
    commitment = convention.commitments.get()
    assert admin_url(commitment.__class__, "change", commitment.pk) in html
    commitment_html = client.get(admin_url(commitment.__class__, "change", commitment.pk)).content.decode()
    assert 'name="targets-0-value"' in commitment_html


def management_form(prefix, total=0):
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": "0"}


def test_convention_created_in_the_admin_is_a_draft_recording_its_author(client, superuser, dataset):
    response = client.post(
        admin_url(Convention, "add"),
        {
            "reference": "034-2017-0001",
            "title": "Convention Suez",
            "kind": Convention.Kind.LOCAL,
            "generation": 1,
            "status": Convention.Status.ACTIVE,  # ignored: status is read-only
            "companies": [dataset["company"].pk],
            "departement": departement("34").pk,
            "start_date": "01/01/2017",
            "end_date": "31/12/2019",
            **management_form("signatories"),
            **management_form("documents"),
            **management_form("commitments"),
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    convention = Convention.objects.get(reference="034-2017-0001")
    assert convention.status == Convention.Status.DRAFT
    assert convention.created_by == superuser
    assert list(convention.companies.all()) == [dataset["company"]]


def test_action_logged_in_the_admin_records_who_logged_it(client, superuser, dataset):
    response = client.post(
        admin_url(Action, "add"),
        {
            "action_type": action_type().pk,
            "title": "Job dating à la Mosson",
            "start_date": "15/03/2017",
            "companies": [dataset["company"].pk],
            "qpvs": [dataset["qpv"].pk],
            "departement": departement("34").pk,
            "beneficiaries_total": 20,
            "beneficiaries_women": 12,
            "beneficiaries_under_26": 15,
            "beneficiaries_qpv": 14,
            "employees_involved": 3,
            "hours": "12.5",
            **management_form("partners", total=1),
            "partners-0-kind": ActionPartner.Kind.MISSION_LOCALE,
            "partners-0-name": "Mission locale de Montpellier",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    action = Action.objects.get(title="Job dating à la Mosson")
    assert action.logged_by == superuser
    assert list(action.partners.values_list("name", flat=True)) == ["Mission locale de Montpellier"]
    assert list(action.qpvs.all()) == [dataset["qpv"]]


def test_action_changelist_filters_by_family_and_year(client, dataset):
    ActionFactory(title="Action de 2018", start_date=datetime.date(2018, 5, 1))
    url = admin_url(Action, "changelist")
    edu = Family.objects.get(code="EDU")
    by_year = client.get(url, {"start_date__year": 2016}).context["cl"].result_list
    assert [a.title for a in by_year] == ["Stages de 3e au collège Las Cazes"]
    other_family = Family.objects.exclude(pk=edu.pk).first()
    assert client.get(url, {"action_type__family__id__exact": other_family.pk}).context["cl"].result_count == 0
    assert client.get(url, {"action_type__family__id__exact": edu.pk}).context["cl"].result_count == 2


def run_convention_action(client, action, conventions):
    response = client.post(
        admin_url(Convention, "changelist"), {"action": action, "_selected_action": [c.pk for c in conventions]}, follow=True
    )
    assert response.status_code == 200
    for convention in conventions:
        convention.refresh_from_db()
    return [str(message) for message in response.context["messages"]]


def test_convention_lifecycle_actions_go_through_the_services_and_report_refusals_in_french(client, dataset):
    dated = dataset["convention"]  # has a signatory with a signature date; ended in 2018
    undated = ConventionFactory(reference="034-2016-NOSIG")

    messages = run_convention_action(client, "submit_for_negotiation", [dated, undated])
    assert messages == ["2 convention(s) mise(s) en négociation."]
    assert (dated.status, undated.status) == (Convention.Status.NEGOTIATION, Convention.Status.NEGOTIATION)
    assert dated.status_changed_at is not None

    assert run_convention_action(client, "sign", [dated, undated]) == [
        "034-2016-NOSIG : La convention ne peut pas être signée sans au moins un signataire et sa date de signature.",
        "1 convention(s) signée(s).",
    ]
    assert (dated.status, undated.status) == (Convention.Status.SIGNED, Convention.Status.NEGOTIATION)

    assert run_convention_action(client, "activate", [dated]) == [
        "034-2016-BRL : La convention a pris fin le 31/12/2018 : elle ne peut plus être activée."
    ]
    assert dated.status == Convention.Status.SIGNED

    current = ConventionFactory(status=Convention.Status.SIGNED, end_date=datetime.date(2099, 12, 31))
    assert run_convention_action(client, "activate", [current]) == ["1 convention(s) mise(s) en vigueur."]
    assert current.status == Convention.Status.ACTIVE

    assert run_convention_action(client, "back_to_draft", [undated]) == ["1 convention(s) remise(s) en brouillon."]
    assert undated.status == Convention.Status.DRAFT
