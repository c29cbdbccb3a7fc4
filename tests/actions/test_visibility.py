"""Issue 10, finding 4: an action's page names only the companies and the convention its reader may see,
as the API does; the others are counted ("1 autre entreprise") or said not visible."""

import pytest
from django.urls import reverse

from tests.conventions.test_pages_support import World, login
from tests.factories import ActionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    world = World()
    # Logged in the Hérault with a company of the Gard, implementing the Gard company's convention.
    world.action = ActionFactory(title="Forum commun", departement=world.herault, club=world.club, convention=world.foreign)
    world.action.companies.set([world.company, world.other_company])
    return world


@pytest.mark.parametrize("reader", ["company_user", "club_user"])
def test_an_action_names_only_what_its_reader_may_see(client, world, reader):
    login(client, getattr(world, reader))
    pages = {
        "fiche": client.get(reverse("actions:detail", args=[world.action.pk])),
        "liste": client.get(reverse("actions:list")),
        "export": client.get(reverse("actions:export")),
    }
    texts = {}
    for name, response in pages.items():
        assert response.status_code == 200, name
        # getvalue(): the export is streamed, and a stream is read once.
        text = texts[name] = response.getvalue().decode()
        assert "Engie Hérault" in text, name
        assert "SNCF Gard" not in text and world.other_company.siren not in text, name
        assert "1 autre entreprise" in text, name
        assert world.foreign.reference not in text and "Convention SNCF" not in text, name
        assert f"/conventions/{world.foreign.pk}/" not in text, name
    assert "Convention non visible" in texts["fiche"]
    assert "Convention non visible" in texts["export"]
    # The API says the same.
    body = client.get(reverse("api:action-detail", args=[world.action.pk])).json()
    assert body["convention"] is None
    assert [company["raison_sociale"] for company in body["entreprises"]] == ["Engie Hérault"]


def test_the_national_level_sees_every_name_and_link(client, world):
    text = login(client, world.national).get(reverse("actions:detail", args=[world.action.pk])).content.decode()
    assert "SNCF Gard" in text and f"/conventions/{world.foreign.pk}/" in text
    assert "autre entreprise" not in text and "Convention non visible" not in text
