"""Issue 10, finding 2: a club validates only the declarations of the conventions it animates.

SNCF is a member of FACE Hérault, but its Aude convention is animated by FACE Aude: the Hérault animator
can neither open nor validate nor return that declaration; the Aude animator and the Aude préfecture can.
"""

import pytest
from django.urls import reverse

from charte.comptes.models import OrganisationKind
from evaluation.campaigns import services
from evaluation.models import Declaration
from tests.evaluation.conftest import CLOSES, OPENS, REMINDER, active_convention, company_with_members, member
from tests.factories import OrganisationFactory, departement

pytestmark = pytest.mark.django_db
S = Declaration.Status


@pytest.fixture
def aude(world):
    aude = departement("11")
    face_aude = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Aude", departements=[aude])
    prefecture = OrganisationFactory(name="Préfecture de l'Aude", departements=[aude])
    prefecture_user, _ = member(prefecture, "agent@aude.gouv.fr")
    aude_animator, _ = member(face_aude, "animateur@face-aude.org")
    sncf, _ = company_with_members("SNCF", club=world.club)  # member of FACE Hérault
    convention = active_convention(sncf, departement_code="11", club=face_aude, reference="011-2016-SNCF")
    campaign = services.open_campaign(prefecture, prefecture_user, 2017, "Campagne 2017 — Aude", OPENS, REMINDER, CLOSES)
    declaration = campaign.declarations.get(convention=convention)
    Declaration.objects.filter(pk=declaration.pk).update(status=S.SUBMITTED)
    return declaration, aude_animator, prefecture_user


def test_the_club_of_a_member_company_cannot_open_or_validate_another_clubs_declaration(client, world, aude):
    declaration, aude_animator, aude_prefecture = aude
    client.force_login(world.animator)  # FACE Hérault
    pk = declaration.pk
    assert client.get(reverse("evaluation:declaration", args=[pk])).status_code == 404
    assert client.post(reverse("evaluation:declaration_validate", args=[pk])).status_code == 404
    assert client.post(reverse("evaluation:declaration_return", args=[pk]), {"comment": "Non"}).status_code == 404
    assert client.get(reverse("api:declaration-detail", args=[pk])).status_code == 404
    declaration.refresh_from_db()
    assert declaration.status == S.SUBMITTED

    for validator in (aude_animator, aude_prefecture):
        client.force_login(validator)
        page = client.get(reverse("evaluation:declaration", args=[pk]))
        assert page.status_code == 200
        assert reverse("evaluation:declaration_validate", args=[pk]) in page.content.decode()
