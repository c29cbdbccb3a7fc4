"""A club's member companies managed in the portal (issue 11, point 2): the club's administrators, the
préfecture of its départements and the national level add a company with its dates and end a membership (an
end date, never a deletion); validation in French; nobody else writes."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from charte.comptes.models import Membership
from entreprises.models import ClubMembership
from tests.factories import ClubMembershipFactory, CompanyFactory, EstablishmentFactory, MembershipFactory, UserFactory

TODAY = timezone.localdate()


@pytest.fixture
def sign_in(client):
    def as_(organisation, role=Membership.Role.ADMIN):
        user = UserFactory()
        MembershipFactory(user=user, organisation=organisation, role=role)
        client.force_login(user)
        return user

    return as_


def add(client, club, **data):
    payload = {"company": "", "siren": "", "start_date": "", "end_date": ""}
    payload.update({key: str(value) for key, value in data.items()})
    return client.post(reverse("entreprises:club_member_add", args=[club.pk]), payload)


def text(response):
    import html

    return html.unescape(response.content.decode())


# --- reading ----------------------------------------------------------------------------------------------


def test_the_club_lists_its_current_members_and_keeps_the_past_ones_in_its_history(client, world, sign_in):
    ClubMembershipFactory(
        company=world.beta, club=world.club, start_date=datetime.date(2015, 1, 1), end_date=datetime.date(2016, 12, 31)
    )
    sign_in(world.club, Membership.Role.MEMBER)

    current = text(client.get(reverse("entreprises:club_members", args=[world.club.pk])))
    history = text(client.get(reverse("entreprises:club_members", args=[world.club.pk]), {"afficher": "toutes"}))

    assert "Alpha Ingénierie" in current and "Bêta Services" not in current
    assert "Alpha Ingénierie" in history and "Bêta Services" in history and "31/12/2016" in history
    assert "Gamma Aude" not in history
    # A member who is not an administrator reads, but is offered nothing to change.
    assert "Ajouter une entreprise membre" not in current


@pytest.mark.parametrize("who", ["partner", "company_org", "club_aude", "prefecture_aude"])
def test_the_members_of_a_club_are_hidden_from_those_outside_it(client, world, sign_in, who):
    sign_in(getattr(world, who))

    for name in ("entreprises:club_members", "entreprises:club_member_add"):
        assert client.get(reverse(name, args=[world.club.pk])).status_code == 404
    membership = ClubMembership.objects.get(club=world.club, company=world.alpha)
    assert client.get(reverse("entreprises:club_member_end", args=[membership.pk])).status_code == 404


# --- adding -------------------------------------------------------------------------------------------------


def test_a_club_administrator_adds_a_company_it_does_not_see_yet_by_its_siren(client, world, sign_in):
    sign_in(world.club)
    form = text(client.get(reverse("entreprises:club_member_add", args=[world.club.pk])))
    # Bêta is in the Hérault but not a member: the club does not see it, so it is not in the list…
    assert "Bêta Services" not in form

    response = add(client, world.club, siren=f"{world.beta.siren[:3]} {world.beta.siren[3:]}", start_date="2017-03-01")

    assert response.status_code == 302
    membership = ClubMembership.objects.get(club=world.club, company=world.beta)
    assert membership.start_date == datetime.date(2017, 3, 1) and membership.end_date is None
    assert membership.recorded_by is not None
    # … and now it is a member, the club sees it.
    assert client.get(reverse("entreprises:detail", args=[world.beta.pk])).status_code == 200


def test_a_siren_outside_the_clubs_departements_is_not_found(client, world, sign_in):
    sign_in(world.club)

    response = add(client, world.club, siren=world.gamma.siren, start_date="2017-03-01")

    assert response.status_code == 200
    assert "Aucune entreprise de ce SIREN dans les départements du club" in text(response)
    assert not ClubMembership.objects.filter(club=world.club, company=world.gamma).exists()


def test_an_establishment_in_the_clubs_departement_is_enough_to_find_a_company(client, world, sign_in):
    group = CompanyFactory(name="Groupe Delta", commune=world.carcassonne)
    EstablishmentFactory(company=group, commune=world.montpellier)
    sign_in(world.club)

    assert add(client, world.club, siren=group.siren, start_date="2017-01-01").status_code == 302
    assert ClubMembership.objects.filter(club=world.club, company=group).exists()


def test_the_prefecture_picks_a_company_of_its_departement_from_the_list(client, world, sign_in):
    sign_in(world.prefecture)
    form = text(client.get(reverse("entreprises:club_member_add", args=[world.club.pk])))
    assert "Bêta Services" in form and "Gamma Aude" not in form
    # Alpha is a member today: it is not offered again.
    assert "Alpha Ingénierie" not in form

    response = add(client, world.club, company=world.beta.pk, start_date="2016-09-01", end_date="2017-08-31")

    assert response.status_code == 302
    assert ClubMembership.objects.filter(club=world.club, company=world.beta, end_date=datetime.date(2017, 8, 31)).exists()


def test_the_prefecture_cannot_pick_a_company_outside_its_scope(client, world, sign_in):
    sign_in(world.prefecture)

    response = add(client, world.club, company=world.gamma.pk, start_date="2016-09-01")

    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in text(response)
    assert not ClubMembership.objects.filter(club=world.club, company=world.gamma).exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"start_date": "2017-03-01", "end_date": "2017-02-01"}, "La fin de l'adhésion doit suivre son début."),
        ({"start_date": ""}, "Indiquez la date."),
        ({"start_date": "31/02/2017"}, "Saisissez une date valide"),
        ({"start_date": "2017-03-01", "company": None}, "Choisissez l'entreprise qui adhère au club, ou saisissez son SIREN."),
        ({"start_date": "2017-03-01", "siren": "1234"}, "Un SIREN compte 9 chiffres."),
    ],
)
def test_bad_input_gets_a_french_message_and_writes_nothing(client, world, sign_in, data, message):
    sign_in(world.prefecture)
    before = ClubMembership.objects.count()
    payload = {"company": world.beta.pk, **data}
    payload = {key: value for key, value in payload.items() if value is not None}

    response = add(client, world.club, **payload)

    assert response.status_code == 200
    page = text(response)
    assert message in page and "Le formulaire contient des erreurs" in page
    assert ClubMembership.objects.count() == before


def test_two_memberships_of_one_company_in_one_club_never_overlap(client, world, sign_in):
    sign_in(world.club)

    # Alpha has been a member since 2015, without end: a new membership starting in 2017 overlaps it.
    response = add(client, world.club, siren=world.alpha.siren, start_date="2017-03-01")
    assert response.status_code == 200
    assert (
        "Alpha Ingénierie est déjà membre de FACE Hérault sur cette période (adhésion du 01/01/2015 sans date de fin)."
        in text(response)
    )

    # A closed period before another one is fine; one straddling its start is not.
    ClubMembershipFactory(company=world.beta, club=world.club, start_date=datetime.date(2016, 1, 1))
    assert add(client, world.club, siren=world.beta.siren, start_date="2014-01-01", end_date="2015-12-31").status_code == 302
    refused = add(client, world.club, siren=world.beta.siren, start_date="2013-01-01", end_date="2016-01-01")
    assert refused.status_code == 200 and "déjà membre" in text(refused)
    assert ClubMembership.objects.filter(club=world.club, company=world.beta).count() == 2


# --- ending ------------------------------------------------------------------------------------------------


def test_ending_a_membership_sets_its_end_date_and_keeps_the_row(client, world, sign_in):
    user = sign_in(world.club)
    membership = ClubMembership.objects.get(club=world.club, company=world.alpha)
    url = reverse("entreprises:club_member_end", args=[membership.pk])

    assert client.get(url).status_code == 200
    refused = client.post(url, {"end_date": "2014-12-31"})
    assert refused.status_code == 200
    assert "La fin de l'adhésion doit suivre son début (01/01/2015)." in text(refused)

    yesterday = TODAY - datetime.timedelta(days=1)
    assert client.post(url, {"end_date": yesterday.isoformat()}).status_code == 302

    membership.refresh_from_db()
    assert membership.end_date == yesterday and membership.ended_by == user
    assert not ClubMembership.objects.current().filter(club=world.club, company=world.alpha).exists()
    # The club's history keeps it; the company has left the club's scope.
    history = text(client.get(reverse("entreprises:club_members", args=[world.club.pk]), {"afficher": "toutes"}))
    assert "Alpha Ingénierie" in history
    assert client.get(reverse("entreprises:detail", args=[world.alpha.pk])).status_code == 404
    # An ended membership cannot be ended again.
    again = client.post(url, {"end_date": TODAY.isoformat()})
    assert again.status_code == 200 and "déjà terminée" in text(again)
    membership.refresh_from_db()
    assert membership.end_date == yesterday


def test_only_administrators_of_the_club_write_and_the_refusal_says_why(client, world, sign_in):
    sign_in(world.club, Membership.Role.MEMBER)
    membership = ClubMembership.objects.get(club=world.club, company=world.alpha)

    for response in (
        client.get(reverse("entreprises:club_member_add", args=[world.club.pk])),
        add(client, world.club, siren=world.beta.siren, start_date="2017-01-01"),
        client.post(reverse("entreprises:club_member_end", args=[membership.pk]), {"end_date": TODAY.isoformat()}),
    ):
        assert response.status_code == 403
        assert "Seuls les administrateurs du club" in text(response)
    membership.refresh_from_db()
    assert membership.end_date is None
    assert not ClubMembership.objects.filter(club=world.club, company=world.beta).exists()


def test_the_national_level_manages_any_club(client, world, sign_in):
    sign_in(world.national)
    assert "FACE Aude" in text(client.get(reverse("entreprises:clubs")))

    assert add(client, world.club_aude, siren=world.beta.siren, start_date="2017-01-01").status_code == 302
    assert ClubMembership.objects.filter(club=world.club_aude, company=world.beta).exists()


def test_the_clubs_page_lists_the_clubs_of_the_scope(client, world, sign_in):
    sign_in(world.prefecture)
    page = text(client.get(reverse("entreprises:clubs")))
    assert "FACE Hérault" in page and "FACE Aude" not in page

    sign_in(world.partner)
    page = text(client.get(reverse("entreprises:clubs")))
    assert "FACE Hérault" not in page and "Aucun club" in page
