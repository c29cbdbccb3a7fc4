import re

import pytest
from django.core import mail

from charte.comptes.models import OrganisationKind
from tests.factories import MembershipFactory, OrganisationFactory, UserFactory, departement

PASSWORD = "motdepasse-solide-1"


@pytest.fixture
def person(db):
    user = UserFactory(email="camille@example.org")
    MembershipFactory(
        user=user, organisation=OrganisationFactory(name="Préfecture de l'Hérault", departements=[departement("34")])
    )
    return user


def test_pages_need_a_signed_in_person(client, db):
    response = client.get("/tableau-de-bord/")
    assert response.status_code == 302
    assert response["Location"].startswith("/compte/connexion/?next=/tableau-de-bord/")


def test_home_and_login_are_public(client, db):
    assert client.get("/").status_code == 200
    assert client.get("/compte/connexion/").status_code == 200
    assert client.get("/compte/mot-de-passe/oubli/").status_code == 200


def test_login_by_email_case_insensitive(client, person):
    response = client.post("/compte/connexion/", {"username": "Camille@Example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/tableau-de-bord/"
    page = client.get("/tableau-de-bord/").content.decode()
    assert "Préfecture de l&#x27;Hérault" in page or "Préfecture de l'Hérault" in page


def test_wrong_password_keeps_the_email_and_says_why_in_french(client, person):
    response = client.post("/compte/connexion/", {"username": "camille@example.org", "password": "faux"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Adresse électronique ou mot de passe incorrect." in html
    assert 'value="camille@example.org"' in html


def test_brute_force_is_locked_out(client, person):
    for _ in range(5):
        client.post("/compte/connexion/", {"username": "camille@example.org", "password": "faux"})
    response = client.post("/compte/connexion/", {"username": "camille@example.org", "password": PASSWORD})
    assert response.status_code == 429
    assert "Trop de tentatives" in response.content.decode()


def test_logout_is_a_post(client, person):
    client.force_login(person)
    response = client.post("/compte/deconnexion/")
    assert response.status_code == 302
    assert client.get("/tableau-de-bord/").status_code == 302


def test_password_reset_by_email(client, person):
    response = client.post("/compte/mot-de-passe/oubli/", {"email": "camille@example.org"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["camille@example.org"]
    assert "Réinitialisation" in message.subject
    link = re.search(r"http://testserver(/compte/mot-de-passe/nouveau/\S+/)", message.body).group(1)
    form_url = client.get(link)["Location"]
    response = client.post(form_url, {"new_password1": "un-nouveau-mot-2-passe", "new_password2": "un-nouveau-mot-2-passe"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.check_password("un-nouveau-mot-2-passe")


def test_password_reset_for_an_unknown_email_sends_nothing_and_reveals_nothing(client, db):
    response = client.post("/compte/mot-de-passe/oubli/", {"email": "inconnu@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_switch_organisation(client, person):
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[departement("34")])
    MembershipFactory(user=person, organisation=club)
    client.force_login(person)
    page = client.get("/tableau-de-bord/").content.decode()
    assert "Vous agissez pour" in page  # the switcher shows when there are several memberships
    response = client.post(
        "/compte/organisation/", {"membership": person.memberships.get(organisation=club).pk, "next": "/tableau-de-bord/"}
    )
    assert response.status_code == 302
    page = client.get("/tableau-de-bord/").content.decode()
    assert "<strong>FACE Hérault</strong>" in page


def test_cannot_switch_to_someone_elses_membership(client, person):
    other = MembershipFactory()
    client.force_login(person)
    assert client.post("/compte/organisation/", {"membership": other.pk}).status_code == 404


@pytest.mark.parametrize("value", ["abc", "", "-1", "1.5", "١", "9" * 30])
def test_a_membership_that_is_not_an_id_is_404_not_500(client, person, value):
    client.force_login(person)
    assert client.post("/compte/organisation/", {"membership": value}).status_code == 404


def test_deactivated_membership_gives_no_scope(client, person):
    person.memberships.update(is_active=False)
    client.force_login(person)
    page = client.get("/tableau-de-bord/").content.decode()
    assert "Aucune organisation active" in page
