"""Issue 10, finding 3: two people editing the same convention, company or action. The second save, made
from a page showing an older version, is refused with a French message naming who saved meanwhile; the page
comes back with what the second person typed, nothing of theirs is written and nothing of the first is lost.
Saving a convention updates its targets in place (they keep their ids)."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from conventions.models import Action, Convention, Target
from entreprises.models import Company
from tests.conventions.test_pages_form import edit_payload
from tests.conventions.test_pages_support import World
from tests.factories import ActionFactory, CommitmentFactory, TargetFactory, action_type

pytestmark = pytest.mark.django_db

CONFLICT = "a été modifiée par"


@pytest.fixture
def world(db):
    return World()


def session(user):
    client = Client()
    client.force_login(user)
    return client


def version_shown(response):
    return response.context["form"]["version"].value()


# --- conventions -------------------------------------------------------------------------------------


def test_the_second_save_of_a_convention_is_refused_and_keeps_what_was_typed(world):
    convention = world.convention
    commitment = CommitmentFactory(convention=convention)
    first_target = TargetFactory(commitment=commitment, year=2016, value=5)
    url = f"/conventions/{convention.pk}/modifier/"
    alice, bob = session(world.club_user), session(world.prefecture)
    seen_by_alice, seen_by_bob = version_shown(alice.get(url)), version_shown(bob.get(url))
    assert seen_by_alice == seen_by_bob == 1

    saved = alice.post(url, edit_payload(world, convention, title="Titre d'Alice", version=str(seen_by_alice)))
    assert saved.status_code == 302
    refused = bob.post(url, edit_payload(world, convention, title="Titre de Bob", version=str(seen_by_bob)))

    assert refused.status_code == 200
    page = refused.content.decode()
    assert CONFLICT in page and str(world.club_user) in page
    assert "Titre de Bob" in page  # what Bob typed is shown again
    assert version_shown(refused) == "2"  # saving again is a deliberate choice
    convention.refresh_from_db()
    assert (convention.title, convention.version) == ("Titre d'Alice", 2)
    assert Target.objects.get(commitment=commitment).pk == first_target.pk

    again = bob.post(url, edit_payload(world, convention, title="Titre de Bob", version="2"))
    assert again.status_code == 302
    convention.refresh_from_db()
    assert (convention.title, convention.version) == ("Titre de Bob", 3)


def test_saving_a_convention_keeps_its_targets_ids(world):
    convention = world.convention
    commitment = CommitmentFactory(convention=convention)
    targets = [TargetFactory(commitment=commitment, year=year, value=year - 2010) for year in (2016, 2017, 2018)]
    url = f"/conventions/{convention.pk}/modifier/"
    data = edit_payload(world, convention, version="1")
    data["targets-1-value"] = "42"  # 2017 changed, 2016 and 2018 untouched
    assert session(world.club_user).post(url, data).status_code == 302
    rows = list(Target.objects.filter(commitment=commitment).order_by("year").values_list("pk", "value"))
    assert rows == [(targets[0].pk, Decimal("6")), (targets[1].pk, Decimal("42")), (targets[2].pk, Decimal("8"))]


# --- companies -----------------------------------------------------------------------------------------


def company_data(company, name, version):
    return {
        "siren": company.siren,
        "name": name,
        "legal_form": "",
        "size": "pme",
        "naf_code": "",
        "address": "",
        "postcode": "",
        "commune": "",
        "version": str(version),
        "etablissements-TOTAL_FORMS": "0",
        "etablissements-INITIAL_FORMS": "0",
        "etablissements-MIN_NUM_FORMS": "0",
        "etablissements-MAX_NUM_FORMS": "1000",
        "contacts-TOTAL_FORMS": "0",
        "contacts-INITIAL_FORMS": "0",
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }


def test_the_second_save_of_a_company_is_refused_and_keeps_what_was_typed(world):
    company = world.company
    url = reverse("entreprises:edit", args=[company.pk])
    alice, bob = session(world.club_user), session(world.national)
    seen_by_alice, seen_by_bob = version_shown(alice.get(url)), version_shown(bob.get(url))

    saved = alice.post(url, company_data(company, "Engie Hérault (Alice)", seen_by_alice))
    assert saved.status_code == 302, saved.context["form"].errors if saved.context else saved
    refused = bob.post(url, company_data(company, "Engie Hérault (Bob)", seen_by_bob))

    assert refused.status_code == 200
    page = refused.content.decode()
    assert CONFLICT in page and str(world.club_user) in page
    assert "Engie Hérault (Bob)" in page
    company.refresh_from_db()
    assert (company.name, company.version, company.updated_by) == ("Engie Hérault (Alice)", 2, world.club_user)


# --- actions -------------------------------------------------------------------------------------------


def action_data(action, title, version):
    return {
        "action_type": str(action.action_type_id),
        "start_date": action.start_date.isoformat(),
        "end_date": "",
        "title": title,
        "description": "",
        "departement": str(action.departement_id),
        "companies": [str(world_company.pk) for world_company in action.companies.all()],
        "convention": "",
        "club": str(action.club_id or ""),
        "beneficiaries_total": "10",
        "beneficiaries_women": "0",
        "beneficiaries_under_26": "0",
        "beneficiaries_qpv": "0",
        "employees_involved": "0",
        "hours": "0",
        "version": str(version),
        "partenaires-TOTAL_FORMS": "0",
        "partenaires-INITIAL_FORMS": "0",
        "partenaires-MIN_NUM_FORMS": "0",
        "partenaires-MAX_NUM_FORMS": "1000",
    }


@pytest.fixture
def action(world):
    action = ActionFactory(title="Stages de 3e", departement=world.herault, club=world.club, action_type=action_type("STAGE_3E"))
    action.companies.set([world.company])
    return action


def test_the_second_save_of_an_action_is_refused_and_keeps_what_was_typed(world, action):
    url = reverse("actions:edit", args=[action.pk])
    alice, bob = session(world.prefecture), session(world.national)
    seen_by_alice, seen_by_bob = version_shown(alice.get(url)), version_shown(bob.get(url))

    saved = alice.post(url, action_data(action, "Stages (Alice)", seen_by_alice))
    assert saved.status_code == 302, saved.context["form"].errors if saved.context else saved
    refused = bob.post(url, action_data(action, "Stages (Bob)", seen_by_bob))

    assert refused.status_code == 200
    page = refused.content.decode()
    assert CONFLICT in page and str(world.prefecture) in page
    assert "Stages (Bob)" in page
    action.refresh_from_db()
    assert (action.title, action.version, action.updated_by) == ("Stages (Alice)", 2, world.prefecture)


def test_the_api_refuses_a_stale_version_with_409(world, action):
    api = session(world.national)
    url = reverse("api:action-detail", args=[action.pk])
    read = api.get(url).json()
    assert read["version"] == 1
    assert api.patch(url, {"intitule": "Premier", "version": 1}, content_type="application/json").status_code == 200
    stale = api.patch(url, {"intitule": "Second", "version": 1}, content_type="application/json")
    assert stale.status_code == 409
    assert CONFLICT in stale.json()["erreur"]["message"]
    # Without a version, no check (as before).
    assert api.patch(url, {"intitule": "Troisième"}, content_type="application/json").status_code == 200
    action.refresh_from_db()
    assert (action.title, action.version) == ("Troisième", 3)


def test_versions_exist_on_the_three_models():
    for model in (Convention, Company, Action):
        assert model._meta.get_field("version").default == 1
