"""One page per lifecycle step: a confirmation on GET, the service on POST, each only to the right role."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from conventions.models import Convention, ConventionDocument, Signatory
from tests.conventions.test_pages_support import PDF_BYTES, S, World, login
from tests.factories import CommitmentFactory, ConventionFactory, TargetFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return World()


def url(convention, path):
    return f"/conventions/{convention.pk}/{path}/"


def status_of(convention):
    return Convention.objects.get(pk=convention.pk).status


# (url path, status before, status after, POST data)
SIMPLE_STEPS = {
    "submit": ("soumettre", S.DRAFT, S.NEGOTIATION, {}),
    "back_to_draft": ("remettre-en-brouillon", S.NEGOTIATION, S.DRAFT, {}),
    "activate": ("mettre-en-vigueur", S.SIGNED, S.ACTIVE, {}),
    "terminate": ("resilier", S.ACTIVE, S.TERMINATED, {"termination_reason": "L'entreprise a fermé son site."}),
}
# who may run each step among the people who see the convention
ALLOWED = {
    "submit": {"national", "prefecture", "club_user"},
    "back_to_draft": {"national", "prefecture", "club_user"},
    "activate": {"national", "prefecture"},
    "terminate": {"national", "prefecture"},
}
VISIBLE = ["national", "prefecture", "club_user", "company_user"]


@pytest.mark.parametrize("step", list(SIMPLE_STEPS))
@pytest.mark.parametrize("who", VISIBLE)
def test_simple_steps_for_each_role(client, world, step, who, monkeypatch):
    path, before, after, data = SIMPLE_STEPS[step]
    convention = world.set_status(world.convention, before)
    # The factory's convention runs 2016-2018: activation needs a convention not yet ended.
    Convention.objects.filter(pk=convention.pk).update(end_date=datetime.date.today() + datetime.timedelta(days=365))
    login(client, getattr(world, who))
    if who in ALLOWED[step]:
        page = client.get(url(convention, path))
        assert page.status_code == 200
        assert 'id="step-form"' in page.content.decode()
        assert status_of(convention) == before  # a GET changes nothing
        response = client.post(url(convention, path), data)
        assert response.status_code == 302
        assert response["Location"] == f"/conventions/{convention.pk}/"
        assert status_of(convention) == after
    else:
        assert client.get(url(convention, path)).status_code == 403
        response = client.post(url(convention, path), data)
        assert response.status_code == 403
        assert "peuvent" in response.content.decode()
        assert status_of(convention) == before


@pytest.mark.parametrize("path", ["soumettre", "remettre-en-brouillon", "signer", "mettre-en-vigueur", "resilier", "renouveler"])
def test_steps_answer_404_out_of_scope(client, world, path):
    assert login(client, world.prefecture).post(url(world.foreign, path)).status_code == 404
    assert login(client, world.club_user).get(url(world.foreign, path)).status_code == 404
    assert login(client, world.partner).get(url(world.convention, path)).status_code == 404


def test_service_refusal_is_shown(client, world):
    convention = world.set_status(world.convention, S.ACTIVE)
    response = login(client, world.prefecture).post(url(convention, "soumettre"))
    assert response.status_code == 200
    assert "Une convention en vigueur ne peut pas être mise en négociation" in response.content.decode()
    assert status_of(convention) == S.ACTIVE


def test_terminate_needs_a_reason(client, world):
    response = login(client, world.prefecture).post(url(world.convention, "resilier"), {"termination_reason": "  "})
    assert response.status_code == 200
    assert "Une résiliation doit être motivée." in response.content.decode()
    assert status_of(world.convention) == S.DRAFT


def test_a_prefecture_does_not_conclude_a_national_convention(client, world):
    national = ConventionFactory(kind=Convention.Kind.NATIONAL, departement=None, reference="NAT-2016-0001")
    # Declined in Hérault and in force: visible to the préfecture.
    ConventionFactory(parent=national, departement=world.herault, status=S.ACTIVE)
    world.set_status(national, S.SIGNED)
    assert login(client, world.prefecture).get(f"/conventions/{national.pk}/").status_code == 200
    assert client.post(url(national, "mettre-en-vigueur")).status_code == 403
    assert status_of(national) == S.SIGNED


# --- sign ------------------------------------------------------------------------------------------------


def sign_data(document, signatories=1, **extra):
    data = {
        "signatories-TOTAL_FORMS": "3",
        "signatories-INITIAL_FORMS": "0",
        "signatories-MIN_NUM_FORMS": "1",
        "signatories-MAX_NUM_FORMS": "1000",
        "title": "",
    }
    people = [("prefet", "Pierre Pouëssel", "Préfecture de l'Hérault"), ("company_director", "Anne Dupont", "Engie")]
    for i in range(3):
        role, name, organisation = people[i] if i < signatories else ("", "", "")
        data.update(
            {
                f"signatories-{i}-role": role,
                f"signatories-{i}-name": name,
                f"signatories-{i}-organisation_name": organisation,
                f"signatories-{i}-signed_on": "2017-02-01" if i < signatories else "",
            }
        )
    if document is not None:
        data["document"] = document
    data.update(extra)
    return data


def pdf(content=PDF_BYTES, name="convention-signee.pdf"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_sign_records_signatories_and_the_pdf(client, world):
    convention = world.set_status(world.convention, S.NEGOTIATION)
    login(client, world.prefecture)
    assert client.get(url(convention, "signer")).status_code == 200
    response = client.post(url(convention, "signer"), sign_data(pdf(), signatories=2))
    assert response.status_code == 302
    assert status_of(convention) == S.SIGNED
    assert list(Signatory.objects.filter(convention=convention).values_list("name", "signed_on")) == [
        ("Pierre Pouëssel", datetime.date(2017, 2, 1)),
        ("Anne Dupont", datetime.date(2017, 2, 1)),
    ]
    document = ConventionDocument.objects.get(convention=convention)
    assert document.kind == ConventionDocument.Kind.SIGNED
    assert document.uploaded_by == world.prefecture
    with document.file.open("rb") as handle:
        assert handle.read() == PDF_BYTES
    detail = client.get(f"/conventions/{convention.pk}/").content.decode()
    assert f"/conventions/documents/{document.pk}/" in detail


@pytest.mark.parametrize(
    "upload, message",
    [
        (lambda: pdf(b"GIF89a pas un PDF"), "Ce fichier n'est pas un PDF valide"),
        (lambda: pdf(name="convention.docx"), "Le document doit être un fichier PDF (extension .pdf)."),
        (lambda: pdf(b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)), "la taille maximale est de 10 Mo"),
        (lambda: None, "Joignez la convention signée au format PDF."),
    ],
)
def test_sign_refuses_what_is_not_a_small_pdf(client, world, upload, message):
    convention = world.set_status(world.convention, S.NEGOTIATION)
    response = login(client, world.prefecture).post(url(convention, "signer"), sign_data(upload()))
    assert response.status_code == 200
    page = response.content.decode()
    assert message.replace("'", "&#x27;") in page
    assert 'value="Pierre Pouëssel"' in page  # typed signatories are kept
    assert status_of(convention) == S.NEGOTIATION
    assert not Signatory.objects.filter(convention=convention).exists()
    assert not ConventionDocument.objects.exists()


def test_sign_needs_a_signatory(client, world):
    convention = world.set_status(world.convention, S.NEGOTIATION)
    response = login(client, world.prefecture).post(url(convention, "signer"), sign_data(pdf(), signatories=0))
    assert response.status_code == 200
    assert status_of(convention) == S.NEGOTIATION
    assert not ConventionDocument.objects.exists()


def test_sign_refused_by_the_service_writes_nothing(client, world):
    response = login(client, world.prefecture).post(url(world.convention, "signer"), sign_data(pdf()))
    assert response.status_code == 200
    assert "Une convention en brouillon ne peut pas être signée" in response.content.decode()
    assert not Signatory.objects.exists() and not ConventionDocument.objects.exists()


@pytest.mark.parametrize("who", ["club_user", "company_user"])
def test_club_and_company_cannot_sign(client, world, who):
    convention = world.set_status(world.convention, S.NEGOTIATION)
    login(client, getattr(world, who))
    assert client.get(url(convention, "signer")).status_code == 403
    assert client.post(url(convention, "signer"), sign_data(pdf())).status_code == 403
    assert status_of(convention) == S.NEGOTIATION


# --- renew -----------------------------------------------------------------------------------------------


def test_renewal_page_of_a_convention_ending_on_31_12_9999_opens_without_suggested_dates(client, world):
    # Stored before dates were bounded (2000-2100): the next period would leave the calendar.
    convention = world.set_status(world.convention, S.ACTIVE)
    Convention.objects.filter(pk=convention.pk).update(end_date=datetime.date(9999, 12, 31))
    login(client, world.prefecture)
    page = client.get(url(convention, "renouveler"))
    assert page.status_code == 200
    assert page.context["form"].initial == {}
    response = client.post(url(convention, "renouveler"), {"start_date": "9999-01-01", "end_date": "9999-12-31"})
    assert response.status_code == 200
    assert "Saisissez une date comprise entre le 01/01/2000 et le 31/12/2100." in response.content.decode()
    assert not Convention.objects.filter(predecessor=convention).exists()


@pytest.mark.parametrize("end", [datetime.date(1, 1, 1), datetime.date(9999, 12, 31), datetime.date(2101, 1, 1)])
def test_convention_dates_are_bounded_to_2000_2100(world, end):
    convention = world.convention
    convention.start_date, convention.end_date = datetime.date(1999, 12, 31), end
    with pytest.raises(ValidationError) as excinfo:
        convention.full_clean()
    message = "Saisissez une date comprise entre le 01/01/2000 et le 31/12/2100."
    assert excinfo.value.message_dict["start_date"] == [message]
    if end.year != 1:
        assert excinfo.value.message_dict["end_date"] == [message]


def test_renew_creates_a_draft_and_redirects_to_it(client, world):
    convention = world.set_status(world.convention, S.ACTIVE)
    TargetFactory(commitment=CommitmentFactory(convention=convention), year=2018, value=14)
    login(client, world.prefecture)
    page = client.get(url(convention, "renouveler"))
    assert page.context["form"].initial == {"start_date": datetime.date(2019, 1, 1), "end_date": datetime.date(2021, 12, 31)}
    response = client.post(url(convention, "renouveler"), {"start_date": "2019-01-01", "end_date": "2020-12-31"})
    successor = Convention.objects.get(predecessor=convention)
    assert response.status_code == 302
    assert response["Location"] == f"/conventions/{successor.pk}/"
    assert successor.status == S.DRAFT
    assert successor.reference == "034-2016-0001-R1"
    assert list(successor.commitments.get().targets.values_list("year", flat=True)) == [2019, 2020]
    # Renewed once: the button is gone and a second renewal is refused with the service's message.
    assert "/renouveler/" not in client.get(f"/conventions/{convention.pk}/").content.decode()
    again = client.post(url(convention, "renouveler"), {"start_date": "2019-01-01", "end_date": "2020-12-31"})
    assert "Cette convention a déjà été renouvelée." in again.content.decode()


def test_renew_dates_are_checked(client, world):
    convention = world.set_status(world.convention, S.ACTIVE)
    response = login(client, world.prefecture).post(
        url(convention, "renouveler"), {"start_date": "2019-01-01", "end_date": "2018-12-31"}
    )
    assert response.status_code == 200
    assert "La date de fin doit être postérieure à la date de début." in response.content.decode()
    assert not Convention.objects.filter(predecessor=convention).exists()


def test_club_cannot_renew(client, world):
    convention = world.set_status(world.convention, S.ACTIVE)
    assert login(client, world.club_user).post(url(convention, "renouveler")).status_code == 403


@pytest.mark.parametrize("path, status", [("signer", S.SIGNED), ("mettre-en-vigueur", S.DRAFT), ("renouveler", S.NEGOTIATION)])
def test_a_step_the_status_forbids_shows_no_form(client, world, path, status):
    convention = world.set_status(world.convention, status)
    page = login(client, world.prefecture).get(url(convention, path)).content.decode()
    assert "Étape indisponible" in page
    assert '<form method="post"' not in page.split('id="content"')[1]
