"""The notification matrix (docs/notifications.md) observed from outside: a real SMTP server on loopback
(aiosmtpd) receives what the portal sends, on the demo territory and on a small world; the flash messages tell
who was written to; the inbox and the e-mail preferences of a person."""

import datetime
import email
import html as html_module
import re
import socket
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from django.urls import reverse

from charte.comptes.models import Membership
from entreprises.models import Contact
from evaluation import demo
from evaluation.campaigns import notifications, services, tasks
from evaluation.models import Campaign, Declaration, EmailOptOut, Notification, NotificationDelivery
from tests.evaluation.conftest import DURING, company_with_members, key

SITE = "https://charte.example.gouv.fr"


class Mailbox:
    """What the SMTP server received: one entry per message, with its envelope recipients."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    @property
    def recipients(self):
        return [rcpt.lower() for rcpts, _ in self.messages for rcpt in rcpts]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp(settings):
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = controller.hostname, controller.port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = "", ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.SITE_URL = SITE
    yield mailbox
    controller.stop()


def parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def run_reminders(day, capture):
    with capture(execute=True):
        return tasks.send_campaign_reminders.delay(day.isoformat()).get()


def test_the_reminder_job_on_the_demo_reaches_every_pending_company_with_a_member_or_contact(
    db, smtp, django_capture_on_commit_callbacks
):
    with open("/dev/null", "w") as silent:
        call_command("seed_demo", stdout=silent)
    day = demo.REMINDER_ON

    # Expected, from the models alone: pending declarations of the campaigns open that day, of companies that
    # have an active member or a declared contact with an e-mail.
    open_campaigns = Campaign.objects.filter(opens_on__lte=day, closes_on__gte=day)
    pending = set(
        Declaration.objects.filter(campaign__in=open_campaigns, status__in=["draft", "returned"]).values_list(
            "company_id", flat=True
        )
    )
    addresses = {}
    for company_id, address in Membership.objects.filter(
        is_active=True, user__is_active=True, organisation__is_active=True, organisation__company__isnull=False
    ).values_list("organisation__company", "user__email"):
        addresses.setdefault(address.lower(), set()).add(company_id)
    for company_id, address in Contact.objects.exclude(email="").values_list("company_id", "email"):
        addresses.setdefault(address.lower(), set()).add(company_id)
    reachable = {company for companies in addresses.values() for company in companies}
    expected = pending & reachable
    assert len(expected) >= 10, "le jeu de démonstration devrait avoir une quinzaine d'entreprises en attente"

    result = run_reminders(day, django_capture_on_commit_callbacks)

    reached = {company for rcpt in smtp.recipients for company in addresses[rcpt] if company in pending}
    assert reached == expected
    assert result["reminders"] == len(expected)
    # One e-mail per address: nobody sees the others' addresses.
    assert all(len(rcpts) == 1 for rcpts, _ in smtp.messages)
    assert len(smtp.recipients) == len(set(smtp.recipients))

    # Text and HTML, in French, with absolute links to the configured site (never the loopback default).
    for _rcpts, message in smtp.messages:
        text, html = parts(message)
        assert "votre déclaration est attendue" in message["Subject"]
        assert "Les déclarations suivantes n'ont pas encore été transmises" in text
        links = re.findall(r"https?://[^\s\"<>]+", text + html)
        assert links and all(link.startswith(SITE + "/") for link in links), links
        assert 'href="' + SITE + "/campagnes/" in html

    # Declared contacts without an account are told why they receive it.
    contact_messages = [m for rcpts, m in smtp.messages if rcpts[0].endswith(".example") and "@demo." not in rcpts[0]]
    assert contact_messages
    assert "déclaré(e) comme contact" in parts(contact_messages[0])[0]

    # Sent once: the job again the same day, and the next day, sends nothing new.
    count = len(smtp.messages)
    assert run_reminders(day, django_capture_on_commit_callbacks)["reminders"] == 0
    assert run_reminders(day + datetime.timedelta(days=1), django_capture_on_commit_callbacks)["reminders"] == 0
    assert len(smtp.messages) == count


def test_submission_notifies_the_club_and_the_prefecture_of_the_convention(world, smtp, django_capture_on_commit_callbacks):
    w, d = world, world.declaration
    with django_capture_on_commit_callbacks(execute=True):
        services.save_draft(d, w.company_user, {key(w.commitment, "STAGE3_ACCUEILLIS"): ("8", "")}, d.version, today=DURING)
        services.submit(d, w.company_user, today=DURING)
    assert sorted(smtp.recipients) == ["agent@herault.gouv.fr", "animatrice@face-herault.org"]
    text, html = parts(smtp.messages[0][1])
    assert f"{SITE}/campagnes/declarations/{d.pk}/" in text
    assert f'href="{SITE}/campagnes/declarations/{d.pk}/"' in html


def test_returned_and_validated_reach_members_and_contacts_and_the_page_says_so(
    world, smtp, client, django_capture_on_commit_callbacks
):
    w, d = world, world.declaration
    Contact.objects.create(company=w.company, first_name="Rémi", last_name="Sol", email="rse@brl.example")
    # The same person as a member, written with other capitals: one e-mail.
    Contact.objects.create(company=w.company, first_name="Claire", last_name="Brl", email="Claire@BRL.example")
    Contact.objects.create(company=w.company, first_name="Sans", last_name="Adresse", email="")
    services.save_draft(d, w.company_user, {key(w.commitment, "STAGE3_ACCUEILLIS"): ("8", "")}, d.version, today=DURING)
    services.submit(d, w.company_user, today=DURING)
    # The pages act today: the campaign is open today, so that a return is still allowed.
    today = datetime.date.today()
    Campaign.objects.filter(pk=w.campaign.pk).update(
        opens_on=today - datetime.timedelta(days=10), reminder_on=today, closes_on=today + datetime.timedelta(days=30)
    )
    client.force_login(w.animator)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("evaluation:declaration_return", args=[d.pk]),
            {"comment": "Ajoutez la feuille d'émargement.", "confirm": "1"},
            follow=True,
        )
    page = html_module.unescape(response.content.decode())
    assert sorted(smtp.recipients) == ["claire@brl.example", "paul@brl.example", "rse@brl.example"]
    assert "Un courriel part vers claire@brl.example" in page and "rse@brl.example (contact déclaré" in page
    assert "informée par courriel" not in page

    services.submit(d, w.company_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("evaluation:declaration_validate", args=[d.pk]), {"confirm": "1"}, follow=True)
    validated = [rcpts[0] for rcpts, m in smtp.messages if "validée" in m["Subject"]]
    assert sorted(validated) == ["claire@brl.example", "paul@brl.example", "rse@brl.example"]
    assert "Déclaration validée. Un courriel part vers" in html_module.unescape(response.content.decode())


def test_a_company_nobody_can_be_told_about_is_said_so(world, client, django_capture_on_commit_callbacks, mailoutbox):
    """What happened to Engie (Haute-Garonne) and SNCF (Aude) in the demo: no account, no contact."""
    w = world
    company, _ = company_with_members("Sans Personne SA")
    from tests.evaluation.conftest import active_convention

    convention = active_convention(company, club=w.club)
    services.sync_expected_declarations(w.campaign)
    declaration = convention.declarations.get()
    Declaration.objects.filter(pk=declaration.pk).update(status="submitted")
    client.force_login(w.animator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("evaluation:declaration_validate", args=[declaration.pk]), {"confirm": "1"}, follow=True)
    page = html_module.unescape(response.content.decode())
    assert "Personne n'a pu en être informé" in page and "ajoutez un contact" in page
    assert "fr-alert--warning fr-alert--sm" in page
    assert mailoutbox == []


def test_opting_out_stops_the_e_mail_but_keeps_the_in_portal_notification(
    world, client, mailoutbox, django_capture_on_commit_callbacks
):
    w, d = world, world.declaration
    client.force_login(w.animator)
    page = client.get(reverse("notifications:preferences")).content.decode()
    assert page.count('type="checkbox"') == len(Notification.Family.choices)
    response = client.post(
        reverse("notifications:preferences"), {"families": ["campaigns", "conventions", "practices", "exports"]}
    )
    assert response.status_code == 302
    assert list(EmailOptOut.objects.filter(user=w.animator).values_list("family", flat=True)) == ["declarations"]

    with django_capture_on_commit_callbacks(execute=True):
        services.save_draft(d, w.company_user, {key(w.commitment, "STAGE3_ACCUEILLIS"): ("8", "")}, d.version, today=DURING)
        services.submit(d, w.company_user, today=DURING)
    assert [m.to for m in mailoutbox] == [["agent@herault.gouv.fr"]]
    delivery = NotificationDelivery.objects.get(user=w.animator)
    assert delivery.by_email is False and delivery.sent_at is None

    # The header counts it, the inbox lists it, opening it leads to the declaration and marks it read.
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert re.search(r'id="notifications-link"[^>]*>Notifications <span[^>]*>1<', dashboard)
    inbox = client.get(reverse("notifications:list")).content.decode()
    assert "Déclaration 2017 à vérifier : BRL (034-2016-BRL)" in inbox and "Non envoyé (votre choix)" in inbox
    opened = client.get(reverse("notifications:open", args=[delivery.pk]))
    assert opened.status_code == 302 and opened["Location"] == f"/campagnes/declarations/{d.pk}/"
    delivery.refresh_from_db()
    assert delivery.read_at is not None

    # Ticking the family again: the next event is e-mailed.
    client.post(
        reverse("notifications:preferences"), {"families": ["campaigns", "conventions", "declarations", "practices", "exports"]}
    )
    assert not EmailOptOut.objects.filter(user=w.animator).exists()


def test_the_inbox_is_personal(world, client):
    w = world
    notification = Notification.objects.create(key="k", event="validated", subject="Pour Claire", body="…")
    theirs = NotificationDelivery.objects.create(
        notification=notification, email=w.company_user.email, user=w.company_user, reason="member"
    )
    client.force_login(w.colleague)
    assert "Pour Claire" not in client.get(reverse("notifications:list")).content.decode()
    assert client.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    client.post(reverse("notifications:mark_all_read"))
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_inbox_runs_a_fixed_number_of_queries(world, client, django_assert_max_num_queries):
    w = world
    client.force_login(w.company_user)

    def add(n):
        for i in range(n):
            notification = Notification.objects.create(
                key=f"k{Notification.objects.count()}-{i}", event="reminder", subject=f"S{i}", body="…"
            )
            NotificationDelivery.objects.create(
                notification=notification, email=w.company_user.email, user=w.company_user, reason="member"
            )

    add(1)
    client.get(reverse("notifications:list"))  # warm the session and the organisation
    with django_assert_max_num_queries(12) as few:
        assert client.get(reverse("notifications:list")).status_code == 200
    add(29)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("notifications:list"))
    assert response.content.decode().count("/ouvrir/") == 25  # one page


def test_renewal_notices_go_to_the_club_and_the_company_once(world, mailoutbox, django_capture_on_commit_callbacks):
    w = world
    Contact.objects.create(company=w.company, first_name="Rémi", last_name="Sol", email="rse@brl.example")
    end = w.convention.end_date
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications.send_convention_renewal_notices(end - datetime.timedelta(days=120), days=90) == 0
        assert notifications.send_convention_renewal_notices(end - datetime.timedelta(days=60), days=90) == 1
        assert notifications.send_convention_renewal_notices(end - datetime.timedelta(days=59), days=90) == 0
    assert sorted(m.to[0] for m in mailoutbox) == [
        "animatrice@face-herault.org",
        "claire@brl.example",
        "paul@brl.example",
        "rse@brl.example",
    ]
    assert mailoutbox[0].subject == f"Convention 034-2016-BRL : à renouveler avant le {end:%d/%m/%Y}"
