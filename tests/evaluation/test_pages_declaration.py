"""The declaration page through the browser's HTTP requests: who sees it, the company fills and submits it,
the club returns it, the préfecture validates and reopens it; refusals, concurrent edits, evidence files,
history, and a bounded number of queries."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from charte import uploads
from evaluation.models import DeclarationValue, Evidence
from tests.evaluation.test_pages_support import (
    YEAR,
    S,
    close_campaign,
    declaration_url,
    fresh,
    line_field,
    login,
    make_world,
)
from tests.factories import ActionFactory, CommitmentFactory, TargetFactory, indicator
from tests.html_checks import assert_error_pattern

ACCUEILLIS = "STAGE3_ACCUEILLIS"
OFFERTS = "STAGE3_OFFERTS"


@pytest.fixture
def w(db):
    return make_world()


def form_data(w, accueillis="8", comment="Collège Las Cazes", offerts="", version=None, **extra):
    data = {
        "version": version if version is not None else fresh(w.declaration).version,
        line_field(w.commitment, ACCUEILLIS): accueillis,
        line_field(w.commitment, ACCUEILLIS, "comment"): comment,
        line_field(w.commitment, OFFERTS): offerts,
    }
    data.update(extra)
    return data


def saved_value(w, code=ACCUEILLIS):
    row = DeclarationValue.objects.filter(declaration=w.declaration, indicator=indicator(code)).first()
    return row.value if row else None


# --- who sees the page ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["company_user", "colleague", "animator", "prefecture_user", "national_user"])
def test_the_declaration_page_opens_for_the_company_and_its_validators(client, w, who):
    page = login(client, getattr(w, who)).get(declaration_url(w.declaration))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Déclaration 2017 — BRL" in html and "034-2016-BRL" in html
    is_company = who in ("company_user", "colleague")
    assert ('id="declaration-form"' in html) is is_company
    assert ('id="validate-form"' in html) is False  # a draft is not validated yet


@pytest.mark.parametrize("who", ["other_animator", "gard_user", "foreign_user", "partner_user"])
def test_the_declaration_page_is_404_out_of_scope(client, w, who):
    login(client, getattr(w, who))
    assert client.get(declaration_url(w.declaration)).status_code == 404
    assert client.post(declaration_url(w.declaration), form_data(w)).status_code == 404
    assert client.post(declaration_url(w.declaration, "valider/")).status_code == 404
    assert saved_value(w) is None


def test_the_lines_show_target_previous_value_computed_value_and_the_gap_in_words(client, w):
    from evaluation.campaigns import services

    # The 2016 declaration (N-1) with 6 pupils, and actions logged for 2017 with 11 pupils hosted.
    previous_campaign = services.open_campaign(
        w.prefecture,
        w.prefecture_user,
        2016,
        "Campagne 2016",
        datetime.date(2017, 1, 10),
        datetime.date(2017, 2, 1),
        datetime.date(2017, 3, 1),
    )
    previous = previous_campaign.declarations.get(company=w.company)
    DeclarationValue.objects.create(declaration=previous, commitment=w.commitment, indicator=indicator(ACCUEILLIS), value=6)
    action = ActionFactory(convention=w.convention, start_date=datetime.date(YEAR, 3, 14), beneficiaries_total=11)
    action.companies.add(w.company)
    DeclarationValue.objects.create(declaration=w.declaration, commitment=w.commitment, indicator=indicator(ACCUEILLIS), value=8)

    html = login(client, w.animator).get(declaration_url(w.declaration)).content.decode()
    assert "Objectif 2017" in html and "Déclaré 2016" in html
    assert ">10<" in html  # the target
    assert ">6<" in html  # N-1
    assert "<strong>11</strong>" in html  # computed from the actions
    assert "Écart de −3 entre la valeur déclarée et les actions saisies." in html
    assert "Non calculée : les actions saisies ne renseignent pas cet indicateur." in html  # offers are never computed

    html = login(client, w.company_user).get(declaration_url(w.declaration)).content.decode()
    assert "Valeur réalisée" in html and "Valeur offerte" in html
    assert f'for="id_{line_field(w.commitment, ACCUEILLIS)}"' in html


# --- the whole cycle --------------------------------------------------------------------------------------


def test_whole_cycle_through_the_pages(client, w, mailoutbox, django_capture_on_commit_callbacks):
    url = declaration_url(w.declaration)
    login(client, w.company_user)
    response = client.post(url, form_data(w, "8", save="1"))
    assert response.status_code == 302 and response["Location"] == url
    assert saved_value(w) == Decimal("8") and fresh(w.declaration).status == S.DRAFT
    page = client.get(url).content.decode()
    assert "Brouillon enregistré : 1 valeur modifiée." in page
    assert 'value="8"' in page

    response = client.post(url, form_data(w, "8", submit="1"), follow=True)
    assert fresh(w.declaration).status == S.SUBMITTED
    html = response.content.decode()
    assert "Déclaration transmise" in html and 'id="declaration-form"' not in html

    login(client, w.animator)
    assert 'id="return-form"' in client.get(url).content.decode()
    # A confirmation step first: the comment is shown back, nothing is changed yet.
    response = client.post(url + "renvoyer/", {"comment": "Le nombre d'élèves semble bas : vérifiez."})
    html = response.content.decode()
    assert response.status_code == 200 and "Confirmer le renvoi" in html
    assert "Le nombre d&#x27;élèves semble bas : vérifiez." in html.split('id="confirm-comment"')[1]
    assert fresh(w.declaration).status == S.SUBMITTED and not mailoutbox
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url + "renvoyer/", {"comment": "Le nombre d'élèves semble bas : vérifiez.", "confirm": "1"})
    assert response.status_code == 302
    d = fresh(w.declaration)
    assert (d.status, d.returned_by, d.return_comment) == (S.RETURNED, w.animator, "Le nombre d'élèves semble bas : vérifiez.")
    assert sorted(m.to for m in mailoutbox) == [["claire@brl.example"], ["paul@brl.example"]]
    assert "Le nombre d'élèves semble bas" in mailoutbox[0].body
    assert f"http://127.0.0.1:8000{url}" in mailoutbox[0].body

    login(client, w.colleague)
    html = client.get(url).content.decode()
    assert "Le nombre d&#x27;élèves semble bas : vérifiez." in html and 'id="declaration-form"' in html
    client.post(url, form_data(w, "11", "Trois élèves oubliés", submit="1"))
    assert fresh(w.declaration).status == S.SUBMITTED and saved_value(w) == Decimal("11")

    login(client, w.prefecture_user)
    response = client.post(url + "valider/")
    assert response.status_code == 200 and "Confirmer la validation" in response.content.decode()
    assert fresh(w.declaration).status == S.SUBMITTED
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url + "valider/", {"confirm": "1"}, follow=True)
    d = fresh(w.declaration)
    assert (d.status, d.validated_by) == (S.VALIDATED, w.prefecture_user)
    assert "Déclaration validée" in response.content.decode()
    assert len(mailoutbox) == 4 and {m.subject for m in mailoutbox[2:]} == {"Déclaration 2017 validée : 034-2016-BRL"}

    # The history on the page: who, when, field, old -> new.
    html = client.get(url).content.decode()
    assert "Transmise → Validée" in html
    assert "8,00 → 11,00" in html


def test_a_submission_with_a_missing_target_value_keeps_the_draft_and_says_what_is_missing(client, w):
    login(client, w.company_user)
    response = client.post(declaration_url(w.declaration), form_data(w, "", offerts="15", submit="1"), follow=True)
    html = response.content.decode()
    assert "Vos valeurs sont enregistrées en brouillon, mais la déclaration n&#x27;a pas été transmise" in html
    assert "Élèves de 3e accueillis en stage" in html
    assert fresh(w.declaration).status == S.DRAFT and saved_value(w, OFFERTS) == Decimal("15")


def test_an_invalid_value_is_refused_at_its_field_and_what_was_typed_is_kept(client, w):
    login(client, w.company_user)
    response = client.post(declaration_url(w.declaration), form_data(w, "-3", "mon commentaire", offerts="douze", save="1"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "La valeur ne peut pas être négative." in html and "Saisissez un nombre." in html
    assert 'value="-3"' in html and 'value="douze"' in html and "mon commentaire" in html
    assert not DeclarationValue.objects.exists()
    # The summary comes first, names each indicator (every line's field is "Valeur réalisée") and links
    # its input, which is marked invalid and described by its message.
    links = assert_error_pattern(html, [f"id_{line_field(w.commitment, ACCUEILLIS)}", f"id_{line_field(w.commitment, OFFERTS)}"])
    assert any(text.startswith("Élèves de 3e accueillis en stage — valeur") for _, text in links), links


# --- refusals ---------------------------------------------------------------------------------------------


def test_submit_after_the_close_is_refused_and_nothing_is_written(client, w):
    close_campaign(w.campaign)
    login(client, w.company_user)
    html = client.get(declaration_url(w.declaration)).content.decode()
    assert "la déclaration est verrouillée" in html and 'id="declaration-form"' not in html
    response = client.post(declaration_url(w.declaration), form_data(w, "8", submit="1"))
    assert response.status_code == 200
    assert "close depuis le" in response.content.decode()
    assert fresh(w.declaration).status == S.DRAFT and saved_value(w) is None


def test_edit_after_submission_is_refused(client, w):
    login(client, w.company_user)
    client.post(declaration_url(w.declaration), form_data(w, "8", submit="1"))
    assert fresh(w.declaration).status == S.SUBMITTED
    response = client.post(declaration_url(w.declaration), form_data(w, "99", save="1"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "n&#x27;est plus modifiable, sauf si elle vous est renvoyée pour correction" in html
    assert saved_value(w) == Decimal("8")


def test_only_the_company_fills_its_declaration(client, w):
    for user in (w.animator, w.prefecture_user, w.national_user):
        response = login(client, user).post(declaration_url(w.declaration), form_data(w, "3", save="1"))
        assert response.status_code == 403
        assert "Seule l&#x27;entreprise concernée peut remplir sa déclaration." in response.content.decode()
    assert saved_value(w) is None


def submitted(client, w):
    login(client, w.company_user).post(declaration_url(w.declaration), form_data(w, "8", submit="1"))
    assert fresh(w.declaration).status == S.SUBMITTED


def test_validation_is_refused_to_the_company_and_out_of_scope(client, w):
    submitted(client, w)
    response = login(client, w.company_user).post(declaration_url(w.declaration, "valider/"))
    assert response.status_code == 403 and "peuvent valider ou renvoyer" in response.content.decode()
    assert login(client, w.other_animator).post(declaration_url(w.declaration, "valider/")).status_code == 404
    assert login(client, w.gard_user).post(declaration_url(w.declaration, "renvoyer/"), {"comment": "Non"}).status_code == 404
    assert fresh(w.declaration).status == S.SUBMITTED


def test_a_return_needs_a_comment(client, w):
    submitted(client, w)
    response = login(client, w.animator).post(declaration_url(w.declaration, "renvoyer/"), {"comment": "   "})
    assert response.status_code == 200
    assert "Indiquez à l&#x27;entreprise ce qu&#x27;elle doit corriger." in response.content.decode()
    assert fresh(w.declaration).status == S.SUBMITTED


def test_validating_a_draft_is_refused_with_a_message(client, w):
    response = login(client, w.animator).post(declaration_url(w.declaration, "valider/"), {"confirm": "1"}, follow=True)
    assert "Seule une déclaration transmise peut être validée" in response.content.decode()
    assert fresh(w.declaration).status == S.DRAFT


def test_reopen_after_close_needs_a_reason_and_the_prefecture(client, w):
    submitted(client, w)
    login(client, w.animator).post(declaration_url(w.declaration, "valider/"), {"confirm": "1"})
    close_campaign(w.campaign)
    url = declaration_url(w.declaration, "rouvrir/")

    login(client, w.prefecture_user)
    assert 'id="reopen-form"' in client.get(declaration_url(w.declaration)).content.decode()
    response = client.post(url, {"reason": ""})
    assert response.status_code == 200 and "Une réouverture doit être motivée." in response.content.decode()
    assert fresh(w.declaration).reopened_at is None

    response = login(client, w.animator).post(url, {"reason": "Erreur"})
    assert response.status_code == 403 and "Seule la préfecture du département" in response.content.decode()
    assert login(client, w.gard_user).post(url, {"reason": "Erreur"}).status_code == 404
    assert fresh(w.declaration).status == S.VALIDATED

    login(client, w.prefecture_user).post(url, {"reason": "Erreur de saisie signalée par l'entreprise"})
    d = fresh(w.declaration)
    assert (d.status, d.reopened_by) == (S.DRAFT, w.prefecture_user)
    login(client, w.company_user).post(declaration_url(w.declaration), form_data(w, "12", save="1"))
    assert saved_value(w) == Decimal("12")


@pytest.mark.parametrize("who", ["animator", "prefecture_user"])
def test_a_closed_campaign_still_offers_to_validate_or_return_with_a_comment(client, w, who, mailoutbox):
    submitted(client, w)
    close_campaign(w.campaign)
    url = declaration_url(w.declaration)
    html = login(client, getattr(w, who)).get(url).content.decode()
    assert 'id="validate-form"' in html
    if who == "animator":
        # The animating club may not reopen: it is told who can return the declaration now.
        assert 'id="return-form"' not in html and 'id="return-needs-prefecture"' in html
        response = client.post(url + "renvoyer/", {"comment": "À revoir", "confirm": "1"})
        assert "La préfecture doit d&#x27;abord rouvrir la déclaration." in response.content.decode()
        assert fresh(w.declaration).status == S.SUBMITTED
        return
    # The préfecture returns it with a comment (required), confirms, and the return reopens it for correction.
    assert 'id="return-form"' in html and "le renvoi rouvre la déclaration" in html
    response = client.post(url + "renvoyer/", {"comment": ""})
    assert "Indiquez à l&#x27;entreprise ce qu&#x27;elle doit corriger." in response.content.decode()
    confirm = client.post(url + "renvoyer/", {"comment": "Les heures manquent"}).content.decode()
    assert "ce renvoi rouvre la déclaration" in confirm and fresh(w.declaration).status == S.SUBMITTED
    client.post(url + "renvoyer/", {"comment": "Les heures manquent", "confirm": "1"})
    d = fresh(w.declaration)
    assert (d.status, d.return_comment, d.reopened_by) == (S.RETURNED, "Les heures manquent", w.prefecture_user)
    # The company can correct and transmit again although the campaign is closed.
    login(client, w.company_user).post(url, form_data(w, "12", submit="1"))
    assert fresh(w.declaration).status == S.SUBMITTED and saved_value(w) == Decimal("12")


# --- concurrent edits ------------------------------------------------------------------------------------


def test_two_people_edit_at_once_the_second_gets_a_message_and_keeps_their_input(client, w, django_user_model):
    from django.test import Client

    claire, paul = login(Client(), w.company_user), login(Client(), w.colleague)
    assert claire.get(declaration_url(w.declaration)).status_code == 200
    assert paul.get(declaration_url(w.declaration)).status_code == 200
    displayed = fresh(w.declaration).version

    claire.post(declaration_url(w.declaration), form_data(w, "8", "Claire", version=displayed, save="1"))
    response = paul.post(declaration_url(w.declaration), form_data(w, "9", "Paul", version=displayed, save="1"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Cette déclaration a été modifiée par Camille claire le" in html
    assert "vos valeurs n&#x27;ont pas été enregistrées" in html
    assert 'value="9"' in html and ">Paul</textarea>" in html  # Paul's input is kept
    assert "Enregistré par l'autre personne : 8" in html
    assert saved_value(w) == Decimal("8")
    # The form now carries the current version: saving again is Paul's deliberate choice.
    current = fresh(w.declaration).version
    assert f'name="version" value="{current}"' in html
    paul.post(declaration_url(w.declaration), form_data(w, "9", "Paul", version=current, save="1"))
    assert saved_value(w) == Decimal("9")


# --- evidence -----------------------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n"


def upload(client, w, name, content):
    return client.post(declaration_url(w.declaration, "justificatifs/"), {"file": SimpleUploadedFile(name, content)})


def test_evidence_upload_download_and_delete(client, w):
    login(client, w.company_user)
    response = upload(client, w, "feuille d'émargement.pdf", PDF)
    assert response.status_code == 302
    item = Evidence.objects.get()
    html = client.get(declaration_url(w.declaration)).content.decode()
    assert f"/campagnes/justificatifs/{item.pk}/" in html and "/media/" not in html

    for user in (w.company_user, w.animator, w.prefecture_user):
        download = login(client, user).get(f"/campagnes/justificatifs/{item.pk}/")
        assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
        assert download["Content-Type"] == "application/pdf"
    for user in (w.foreign_user, w.other_animator, w.partner_user):
        assert login(client, user).get(f"/campagnes/justificatifs/{item.pk}/").status_code == 404

    assert login(client, w.animator).post(f"/campagnes/justificatifs/{item.pk}/supprimer/").status_code == 403
    login(client, w.company_user).post(f"/campagnes/justificatifs/{item.pk}/supprimer/")
    assert not Evidence.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("virus.exe", b"MZ\x90\x00", "Type de fichier non accepté"),
        ("faux.pdf", b"MZ\x90\x00 renamed", "ne correspond pas à son extension"),
        ("vide.pdf", b"", "Le fichier"),
    ],
)
def test_evidence_refusals_are_shown_at_the_field(client, w, name, content, message):
    login(client, w.company_user)
    response = upload(client, w, name, content)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Evidence.objects.exists()


def test_evidence_too_large_and_after_submission_are_refused(client, w, monkeypatch):
    login(client, w.company_user)
    monkeypatch.setattr(uploads, "MAX_SIZE", 20)  # the shared check reads its own module's limit
    response = upload(client, w, "gros.pdf", PDF)
    assert "10 Mo au plus" in response.content.decode()
    monkeypatch.undo()
    submitted(client, w)
    response = upload(client, w, "tard.pdf", PDF)
    assert "n&#x27;est plus modifiable" in response.content.decode()
    assert not Evidence.objects.exists()
    assert (
        login(client, w.animator)
        .post(declaration_url(w.declaration, "justificatifs/"), {"file": SimpleUploadedFile("a.pdf", PDF)})
        .status_code
        == 403
    )


# --- history of a convention ------------------------------------------------------------------------------


def test_convention_history_page_and_link(client, w):
    convention = w.convention
    convention.title = "Convention BRL (avenant)"
    convention._history_user = w.prefecture_user
    convention.save()
    login(client, w.prefecture_user)
    assert f"/campagnes/conventions/{convention.pk}/historique/" in client.get(f"/conventions/{convention.pk}/").content.decode()
    html = client.get(f"/campagnes/conventions/{convention.pk}/historique/").content.decode()
    assert "Convention BRL (avenant)" in html and "Intitulé" in html and str(w.prefecture_user) in html
    assert login(client, w.gard_user).get(f"/campagnes/conventions/{convention.pk}/historique/").status_code == 404
    assert login(client, w.partner_user).get(f"/campagnes/conventions/{convention.pk}/historique/").status_code == 404


# --- bounded queries ---------------------------------------------------------------------------------------


def _with_commitments(w, count):
    for n in range(count - 1):
        commitment = CommitmentFactory(convention=w.convention, description=f"Engagement {n}")
        TargetFactory(commitment=commitment, indicator=indicator(ACCUEILLIS), year=YEAR, value=n)
    from evaluation.campaigns import services

    return len(services.expected_lines(w.declaration))


@pytest.mark.parametrize("who", ["company_user", "animator"])
def test_declaration_page_queries_do_not_grow_with_the_lines(client, w, who, django_assert_max_num_queries):
    login(client, getattr(w, who))
    assert _with_commitments(w, 2) >= 5
    client.get(declaration_url(w.declaration))  # warm the session and the catalogue
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get(declaration_url(w.declaration)).status_code == 200
    assert _with_commitments(w, 13) >= 40
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(declaration_url(w.declaration))
    assert response.status_code == 200
    assert response.content.decode().count('class="declaration-line"') >= 40
