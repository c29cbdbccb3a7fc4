"""Issue 11, in the real UI: a préfecture administrator invites a company's administrator from the company's
page; the e-mail goes through Django's SMTP backend to a real SMTP server (aiosmtpd) listening on loopback; the
invited person follows the link read from the received message, sets a password and lands on their company.
A reused link and an expired one are refused in French."""

import datetime
import email
import email.policy
import re
import socket
import threading

import pytest
from django.utils import timezone

from charte.comptes import people
from charte.comptes.models import Invitation, Membership, OrganisationKind, User
from entreprises.models import Contact
from tests.e2e.conftest import PASSWORD, expect
from tests.factories import (
    ClubMembershipFactory,
    CommuneFactory,
    CompanyFactory,
    MembershipFactory,
    OrganisationFactory,
    UserFactory,
    departement,
)

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Vignes-du-Lez-2026"


class Mailbox:
    """What the SMTP server received: parsed messages, with a way to wait for the next one."""

    def __init__(self):
        self.messages = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler protocol
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.arrived:
            self.messages.append((envelope.rcpt_tos, message))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count, timeout=10):
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, timeout), "Aucun courriel reçu."
        return self.messages[count - 1]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(settings, live_server):
    """A real SMTP server on loopback, and Django's SMTP backend pointed at it (not the locmem backend)."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    settings.SITE_URL = live_server.url
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def tasks_run_in_place():
    """The e-mail task runs in the live server's process, even when CI provides a broker."""
    from charte.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def link_in(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(r"https?://\S+/compte/invitation/[0-9a-f]+/", text).group(0)


def sign_out(page):
    page.get_by_role("button", name="Se déconnecter").first.click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))


def test_a_prefecture_admin_invites_a_company_admin_who_joins_from_the_emailed_link(
    page, live_server, login, screenshot, smtp_server
):
    herault = departement("34")
    montpellier = CommuneFactory(code="34172", name="Montpellier", departement=herault)
    prefecture = OrganisationFactory(name="Préfecture de l'Hérault", departements=[herault])
    agent = MembershipFactory(
        organisation=prefecture, role=Membership.Role.ADMIN, user=UserFactory(email="agent@herault.gouv.example")
    ).user
    club = OrganisationFactory(kind=OrganisationKind.CLUB, name="FACE Hérault", departements=[herault])
    company = CompanyFactory(name="Vignes du Lez", commune=montpellier)
    ClubMembershipFactory(company=company, club=club)
    Contact.objects.create(
        company=company, first_name="Lucie", last_name="Ferrer", job_title="Directrice", email="lucie@vignes.example"
    )

    # 1. The préfecture's administrator invites the company's contact from the company page.
    login(page, live_server, agent.email, PASSWORD)
    page.goto(f"/entreprises/{company.pk}/")
    page.get_by_role("link", name="Inviter comme utilisateur : Lucie Ferrer").click()
    expect(page.get_by_label("Adresse électronique")).to_have_value("lucie@vignes.example")
    page.get_by_text("Administrateur : gère les membres").click()
    screenshot(page, "invitation-1-prefecture-formulaire")
    page.get_by_role("button", name="Envoyer l'invitation").click()
    expect(page.get_by_text("Invitation envoyée à lucie@vignes.example")).to_be_visible()
    sign_out(page)

    # 2. The SMTP server received the French e-mail, text and HTML, with an absolute link.
    recipients, message = smtp_server.wait_for(1)
    assert recipients == ["lucie@vignes.example"]
    assert (
        " ".join(message["Subject"].split())
        == "Invitation à rejoindre Vignes du Lez sur le portail de la Charte Entreprises et Quartiers"
    )
    url = link_in(message)
    assert url.startswith(live_server.url + "/compte/invitation/")
    assert url in message.get_body(preferencelist=("html",)).get_content()

    # 3. The invited person follows it, sets a password and lands on their company's page.
    page.goto(url)
    expect(page.get_by_role("heading", name="Rejoindre Vignes du Lez")).to_be_visible()
    expect(page.get_by_text("administrateur de l'organisation", exact=False).first).to_be_visible()
    expect(page.get_by_label("Prénom")).to_have_value("Lucie")
    page.locator("#id_password1").fill(NEW_PASSWORD)
    page.get_by_label("Confirmation du mot de passe").fill(NEW_PASSWORD)
    screenshot(page, "invitation-2-creation-du-compte")
    page.get_by_role("button", name="Créer mon compte et rejoindre Vignes du Lez").click()
    page.wait_for_url(re.compile(rf"/entreprises/{company.pk}/$"))
    expect(page.get_by_role("heading", level=1, name="Vignes du Lez")).to_be_visible()
    expect(page.get_by_text("Bienvenue : vous avez rejoint « Vignes du Lez »")).to_be_visible()
    expect(page.locator("#current-user")).to_contain_text("Lucie Ferrer · Vignes du Lez")
    screenshot(page, "invitation-3-arrivee-sur-l-entreprise")
    user = User.objects.get(email="lucie@vignes.example")
    company.refresh_from_db()
    assert Membership.objects.get(user=user).organisation == company.organisation
    assert Membership.objects.get(user=user).role == Membership.Role.ADMIN

    # The « Membres » entry of the « Compte » menu leads the new administrator to the account's members.
    menu = page.get_by_role("navigation", name="Menu principal")
    menu.get_by_role("button", name="Compte").click()
    menu.get_by_role("link", name="Membres", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Membres de Vignes du Lez")).to_be_visible()
    expect(page.locator("#liste-membres")).to_contain_text("lucie@vignes.example")
    screenshot(page, "invitation-3b-membres-du-compte")

    # 4. The same link, opened again, is refused in French.
    sign_out(page)
    response = page.goto(url)
    assert response.status == 410
    expect(page.get_by_text("Ce lien d'invitation a déjà été utilisé : il ne sert qu'une fois.")).to_be_visible()
    screenshot(page, "invitation-4-lien-deja-utilise")

    # 5. An expired link is refused in French too.
    expired = people.invite(company.organisation, "tardif@vignes.example", Membership.Role.MEMBER, agent)
    recipients, message = smtp_server.wait_for(2)
    assert recipients == ["tardif@vignes.example"]
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    response = page.goto(link_in(message))
    assert response.status == 410
    expect(page.get_by_text("Ce lien d'invitation a expiré.")).to_be_visible()
    screenshot(page, "invitation-5-lien-expire")
    assert not User.objects.filter(email="tardif@vignes.example").exists()
