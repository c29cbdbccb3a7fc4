"""Who may edit and delete an action: its author, a préfecture of its département, the national level."""

import html

import pytest
from django.urls import reverse

from charte.comptes.models import OrganisationKind
from charte.comptes.scoping import Scope
from conventions.action_permissions import can_create_action, can_edit_action
from conventions.models import Action, ActionPartner
from tests.factories import ActionFactory

from .conftest import act_as, action_data, company_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def action(world):
    action = ActionFactory(title="Stages chez Engie", club=world["club_34"], logged_by=world["club_34_user"])
    action.companies.set([world["engie"], world["sncf"]])
    action.qpvs.set([world["mosson"]])
    ActionPartner.objects.create(action=action, kind="college", name="Collège Las Cazes")
    return action


def edit_data(action, **overrides):
    data = action_data(
        companies=[c.pk for c in action.companies.all()],
        qpvs=[q.pk for q in action.qpvs.all()],
        title="Stages chez Engie (corrigé)",
        **{"partenaires-TOTAL_FORMS": "1", "partenaires-1-kind": None, "partenaires-1-name": None},
    )
    data.update(overrides)
    return data


def test_the_author_edits_and_the_partners_are_replaced(client, world, action):
    client.force_login(world["club_34_user"])
    page = client.get(reverse("actions:edit", args=[action.pk])).content.decode()
    assert 'value="Collège Las Cazes"' in page

    data = edit_data(action, **{"partenaires-0-kind": "mission_locale", "partenaires-0-name": "Mission locale de Montpellier"})
    response = client.post(reverse("actions:edit", args=[action.pk]), data)

    assert response.status_code == 302
    action.refresh_from_db()
    assert action.title == "Stages chez Engie (corrigé)"
    assert action.logged_by == world["club_34_user"]
    assert [p.name for p in action.partners.all()] == ["Mission locale de Montpellier"]


def test_the_author_deletes_after_a_confirmation_page(client, world, action):
    client.force_login(world["club_34_user"])

    confirmation = client.get(reverse("actions:delete", args=[action.pk]))
    assert confirmation.status_code == 200
    assert "Supprimer définitivement" in confirmation.content.decode()
    assert Action.objects.filter(pk=action.pk).exists()

    response = client.post(reverse("actions:delete", args=[action.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("actions:list")
    assert not Action.objects.filter(pk=action.pk).exists()


def test_another_club_gets_404(client, world, action):
    client.force_login(world["club_30_user"])

    for name in ("actions:detail", "actions:edit", "actions:delete"):
        assert client.get(reverse(name, args=[action.pk])).status_code == 404
    assert client.post(reverse("actions:delete", args=[action.pk])).status_code == 404
    assert Action.objects.filter(pk=action.pk).exists()


def test_a_visible_action_of_someone_else_answers_403_with_a_french_message(client, world, action):
    # Engie took part, so it sees the action, but did not log it.
    client.force_login(company_user(world["engie"]))

    detail = client.get(reverse("actions:detail", args=[action.pk])).content.decode()
    assert reverse("actions:edit", args=[action.pk]) not in detail

    for name in ("actions:edit", "actions:delete"):
        response = client.get(reverse(name, args=[action.pk]))
        assert response.status_code == 403
        assert "Seuls l'auteur de la saisie, la préfecture du département" in html.unescape(response.content.decode())
    assert client.post(reverse("actions:delete", args=[action.pk])).status_code == 403
    assert client.post(reverse("actions:edit", args=[action.pk]), edit_data(action)).status_code == 403
    action.refresh_from_db()
    assert action.title == "Stages chez Engie"


def test_another_member_of_the_same_club_who_did_not_log_it_gets_403(client, world, action):
    from tests.factories import MembershipFactory

    colleague = MembershipFactory(organisation=world["club_34"]).user
    client.force_login(colleague)

    assert client.get(reverse("actions:edit", args=[action.pk])).status_code == 403


def test_the_prefecture_of_the_departement_edits_and_deletes(client, world, action):
    user, _ = act_as(OrganisationKind.PREFECTURE, "34")
    client.force_login(user)

    detail = client.get(reverse("actions:detail", args=[action.pk])).content.decode()
    assert reverse("actions:edit", args=[action.pk]) in detail
    # The préfecture sees which club animated the action and may correct it.
    form_page = client.get(reverse("actions:edit", args=[action.pk])).content.decode()
    assert f'<option value="{world["club_34"].pk}" selected>FACE Hérault</option>' in form_page

    data = edit_data(action, club=world["club_34"].pk)
    assert client.post(reverse("actions:edit", args=[action.pk]), data).status_code == 302
    action.refresh_from_db()
    assert action.title == "Stages chez Engie (corrigé)"
    assert action.club == world["club_34"]
    assert client.post(reverse("actions:delete", args=[action.pk])).status_code == 302
    assert not Action.objects.filter(pk=action.pk).exists()


def test_the_prefecture_of_another_departement_gets_404(client, world, action):
    user, _ = act_as(OrganisationKind.PREFECTURE, "30")
    client.force_login(user)

    assert client.get(reverse("actions:edit", args=[action.pk])).status_code == 404
    assert client.post(reverse("actions:delete", args=[action.pk])).status_code == 404


def test_a_company_author_keeps_the_other_company_when_editing(client, world):
    engie_user = company_user(world["engie"])
    action = ActionFactory(logged_by=engie_user)
    action.companies.set([world["engie"], world["sncf"]])
    client.force_login(engie_user)

    page = client.get(reverse("actions:edit", args=[action.pk])).content.decode()
    assert f'id="id_companies_{world["sncf"].pk}" checked' in page

    response = client.post(reverse("actions:edit", args=[action.pk]), edit_data(action))
    assert response.status_code == 302
    assert set(action.companies.all()) == {world["engie"], world["sncf"]}


def test_predicates():
    author_scope = Scope(kind=OrganisationKind.CLUB, organisation_id=1, departement_ids=frozenset({34}))

    class Person:
        def __init__(self, pk):
            self.pk = pk

    action = Action(departement_id=34, logged_by_id=7)
    assert can_edit_action(Person(7), author_scope, action)
    assert not can_edit_action(Person(8), author_scope, action)
    assert can_edit_action(Person(8), Scope(kind=OrganisationKind.PREFECTURE, departement_ids=frozenset({34})), action)
    assert not can_edit_action(Person(8), Scope(kind=OrganisationKind.PREFECTURE, departement_ids=frozenset({30})), action)
    assert can_edit_action(Person(8), Scope(kind=OrganisationKind.NATIONAL), action)
    # The author acting for a partner organisation (read-only) changes nothing.
    assert not can_edit_action(Person(7), Scope(kind=OrganisationKind.PARTNER, departement_ids=frozenset({34})), action)
    assert not can_edit_action(Person(7), Scope.none(), action)
    assert can_create_action(author_scope)
    assert not can_create_action(Scope(kind=OrganisationKind.PARTNER))
