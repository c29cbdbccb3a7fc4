"""The pages of the practice sheets, as a person uses them: start from an action, save, submit, review,
consent; bad input gets a French message at the field; lists run a bounded number of queries."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from charte.comptes.models import OrganisationKind
from conventions.practices.models import PracticeCompany, PracticePublic, PracticeSheet
from tests.factories import (
    ActionFactory,
    CompanyFactory,
    MembershipFactory,
    OrganisationFactory,
    PracticeSheetFactory,
    QPVFactory,
    departement,
    family,
)

pytestmark = pytest.mark.django_db

Status = PracticeSheet.Status
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


@pytest.fixture
def club():
    return OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[departement("34")])


@pytest.fixture
def animator(client, club):
    user = MembershipFactory(organisation=club).user
    client.force_login(user)
    return user


def test_an_action_becomes_a_prefilled_sheet_limited_to_what_the_club_may_use(client, club, animator):
    mosson = QPVFactory(code="QP034005", name="Mosson")
    action = ActionFactory(title="Stages de 3e à la Mosson", club=club)
    action.qpvs.add(mosson)
    detail = client.get(reverse("actions:detail", args=[action.pk])).content.decode()
    assert "Faire de cette action une bonne pratique" in detail

    page = client.get(reverse("practices:create"), {"action": action.pk}).content.decode()
    assert "Fiche préremplie à partir de l'action « Stages de 3e à la Mosson »" in page
    assert 'value="Stages de 3e à la Mosson"' in page
    assert f'value="{mosson.pk}" id="id_qpvs_{mosson.pk}" checked' in page
    assert f'value="{action.pk}" id="id_actions_{action.pk}" checked' in page

    foreign = ActionFactory(title="Action d'un autre club")
    assert client.get(reverse("practices:create"), {"action": foreign.pk}).status_code == 404

    response = client.post(
        reverse("practices:create"),
        {
            "title": "Tous en stage à la Mosson",
            "family": family().pk,
            "departement": departement("34").pk,
            "qpvs": [mosson.pk],
            "period_start": "2018",
            "problem": "Les élèves de 3e des quartiers ne trouvent pas de stage d'observation.",
            "what_was_done": "Le club a réuni ses entreprises.",
            "actions": [action.pk],
            "publics": [PracticePublic.objects.get(code="eleves_3e").pk],
        },
    )
    sheet = PracticeSheet.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("practices:detail", args=[sheet.pk])
    assert list(sheet.actions.all()) == [action] and sheet.status == Status.DRAFT
    page = client.get(reverse("practices:detail", args=[sheet.pk])).content.decode()
    assert "Calculés à partir des 1 action liée" in page and "Brouillon" in page


def test_bad_input_is_told_at_the_field_and_nothing_is_written(client, club, animator):
    other_club_action = ActionFactory(title="Hors périmètre")
    response = client.post(
        reverse("practices:create"),
        {"title": "", "period_start": "deux mille", "actions": [other_club_action.pk], "contact_email": "pas-une-adresse"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Donnez un titre à la fiche." in page
    assert "Saisissez une année, par exemple 2018." in page
    assert "Saisissez une adresse électronique valide" in page
    assert "Sélectionnez un choix valide" in page or "n’est pas un des choix" in page or "choix valide" in page
    assert 'id="form-errors"' in page
    assert not PracticeSheet.objects.exists()


def test_the_prefecture_returns_the_sheet_then_publishes_it(client, club, animator):
    sheet = PracticeSheetFactory(author_organisation=club)
    client.post(reverse("practices:submit", args=[sheet.pk]))
    assert PracticeSheet.objects.get(pk=sheet.pk).status == Status.SUBMITTED

    prefecture = OrganisationFactory(kind=OrganisationKind.PREFECTURE, departements=[departement("34")])
    client.force_login(MembershipFactory(organisation=prefecture).user)
    empty = client.post(reverse("practices:review", args=[sheet.pk]), {"return": "", "comment": ""})
    assert "le commentaire est obligatoire" in empty.content.decode()
    client.post(reverse("practices:review", args=[sheet.pk]), {"return": "", "comment": "Précisez les moyens."})
    assert PracticeSheet.objects.get(pk=sheet.pk).status == Status.RETURNED

    client.force_login(animator)
    page = client.get(reverse("practices:detail", args=[sheet.pk])).content.decode()
    assert "Précisez les moyens." in page
    client.post(reverse("practices:submit", args=[sheet.pk]))
    client.force_login(prefecture.memberships.get().user)
    client.post(reverse("practices:review", args=[sheet.pk]), {"publish": ""})
    assert PracticeSheet.objects.get(pk=sheet.pk).status == Status.PUBLISHED
    history = client.get(reverse("practices:detail", args=[sheet.pk])).content.decode().split('id="sheet-history"')[1]
    assert history.count("<li>") == 4  # submitted, returned, submitted, published (the factory wrote no creation step)


def test_a_named_company_consents_on_its_page(client, club):
    account = OrganisationFactory(kind=OrganisationKind.COMPANY)
    company = CompanyFactory(name="Garrigue", organisation=account)
    sheet = PracticeSheetFactory(author_organisation=club, status=Status.SUBMITTED)
    PracticeCompany.objects.create(sheet=sheet, company=company)
    client.force_login(MembershipFactory(organisation=account).user)
    refused = client.post(reverse("practices:consent", args=[sheet.pk]), {"refuse": "", "comment": ""})
    assert "Dites pourquoi votre entreprise refuse" in refused.content.decode()
    client.post(reverse("practices:consent", args=[sheet.pk]), {"give": ""})
    assert sheet.named_companies.get().consent == PracticeCompany.Consent.GIVEN


def test_an_image_needs_its_text_alternative_and_a_renamed_file_is_refused(client, club, animator):
    sheet = PracticeSheetFactory(author_organisation=club)
    url = reverse("practices:attachment_add", args=[sheet.pk])
    no_alt = client.post(url, {"file": SimpleUploadedFile("photo.png", PNG), "title": "Photo", "alt_text": ""})
    assert "les personnes qui ne la voient pas la liront" in no_alt.content.decode()
    fake = client.post(url, {"file": SimpleUploadedFile("photo.png", b"MZ executable"), "title": "Photo"})
    assert "ne correspond pas à son extension" in fake.content.decode()
    assert not sheet.attachments.exists()
    client.post(url, {"file": SimpleUploadedFile("photo.png", PNG), "title": "Photo", "alt_text": "Des élèves en atelier"})
    attachment = sheet.attachments.get()
    page = client.get(reverse("practices:detail", args=[sheet.pk])).content.decode()
    assert 'alt="Des élèves en atelier"' in page
    assert client.get(reverse("practices:attachment", args=[sheet.pk, attachment.pk])).status_code == 200


def test_my_sheets_runs_a_bounded_number_of_queries(client, club, animator, django_assert_max_num_queries):
    def page():
        return client.get(reverse("practices:mine"))

    PracticeSheetFactory(author_organisation=club)
    page()
    with django_assert_max_num_queries(12) as few:
        page()
    PracticeSheetFactory.create_batch(20, author_organisation=club)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = page()
    assert response.content.decode().count("Fiche ") >= 21


def test_the_detail_page_runs_a_bounded_number_of_queries(client, club, animator, django_assert_max_num_queries):
    sheet = PracticeSheetFactory(author_organisation=club)
    sheet.actions.add(ActionFactory(club=club))
    client.get(reverse("practices:detail", args=[sheet.pk]))
    with django_assert_max_num_queries(40) as few:
        client.get(reverse("practices:detail", args=[sheet.pk]))
    for _ in range(5):
        sheet.actions.add(ActionFactory(club=club))
        PracticeCompany.objects.create(sheet=sheet, company=CompanyFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("practices:detail", args=[sheet.pk]))
