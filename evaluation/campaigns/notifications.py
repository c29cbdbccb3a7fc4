"""E-mails of the campaign: reminders before the close, a declaration returned, a declaration validated.

Each event is sent once. The `Notification` row (unique key) is inserted in the caller's transaction; the
e-mail leaves after commit. A job that runs twice, or two workers that run it at once, hit the unique key:
the second insert is refused and nothing is sent. A row whose e-mail failed stays with `sent_at` empty and
is sent again by the next daily job (`deliver_pending`).

Recipients: the active members (active account, active membership) of the company's organisation.
"""

import datetime
import logging
from collections import defaultdict

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from charte.comptes.models import Membership

from ..models import Campaign, Declaration, Notification

logger = logging.getLogger(__name__)

Event = Notification.Event
PENDING_STATUSES = (Declaration.Status.DRAFT, Declaration.Status.RETURNED)
# A row younger than this may still be on its way (sent by the on_commit hook of its transaction).
REDELIVERY_DELAY = datetime.timedelta(hours=1)


def member_emails(company_ids):
    """{company_id: [e-mail, ...]} of the active members of each company's organisation."""
    emails = defaultdict(list)
    rows = (
        Membership.objects.filter(
            is_active=True,
            user__is_active=True,
            organisation__is_active=True,
            organisation__company__in=company_ids,
        )
        .order_by("user__email")
        .values_list("organisation__company", "user__email")
    )
    for company_id, email in rows:
        if email not in emails[company_id]:
            emails[company_id].append(email)
    return emails


def declaration_url(declaration_id):
    """Absolute link to the declaration page when the page and `SITE_URL` exist, else None."""
    try:
        path = reverse("evaluation:declaration", args=[declaration_id])
    except NoReverseMatch:
        return None
    return getattr(settings, "SITE_URL", "").rstrip("/") + path


def _render(name, context):
    subject = " ".join(render_to_string(f"evaluation/emails/{name}_subject.txt", context).split())
    body = render_to_string(f"evaluation/emails/{name}_body.txt", context)
    return subject, body


def deliver(notification_id):
    notification = Notification.objects.filter(pk=notification_id, sent_at__isnull=True).first()
    if notification is None:
        return False
    try:
        send_mail(notification.subject, notification.body, None, notification.recipient_list)
    except Exception:
        logger.exception("Échec de l'envoi de la notification %s : nouvel essai au prochain passage.", notification.key)
        return False
    Notification.objects.filter(pk=notification.pk).update(sent_at=timezone.now())
    return True


def notify(key, event, recipients, subject, body, *, declaration=None, company=None):
    """Record the event once and send its e-mail after commit; returns the Notification, or None if the
    event was already recorded (or has nobody to write to)."""
    if not recipients:
        logger.warning("Notification %s : aucun destinataire actif, rien n'est envoyé.", key)
        return None
    with transaction.atomic():
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    key=key,
                    event=event,
                    declaration=declaration,
                    company=company,
                    recipients="\n".join(recipients),
                    subject=subject[:250],
                    body=body,
                )
        except IntegrityError:
            return None
        transaction.on_commit(lambda: deliver(notification.pk))
    return notification


def notify_declaration_event(declaration_id, event):
    """E-mail the company that its declaration was returned or validated (key: the event's timestamp)."""
    declaration = (
        Declaration.objects.select_related("campaign", "convention", "company", "returned_by", "validated_by")
        .filter(pk=declaration_id)
        .first()
    )
    if declaration is None:
        return None
    if event == Event.RETURNED:
        at, by = declaration.returned_at, declaration.returned_by
    elif event == Event.VALIDATED:
        at, by = declaration.validated_at, declaration.validated_by
    else:
        raise ValueError(f"Événement inconnu : {event}")
    if at is None:
        return None
    context = {"declaration": declaration, "by": by, "at": timezone.localtime(at), "url": declaration_url(declaration.pk)}
    subject, body = _render(event, context)
    return notify(
        f"{event}:{declaration.pk}:{at.isoformat()}",
        event,
        member_emails([declaration.company_id])[declaration.company_id],
        subject,
        body,
        declaration=declaration,
        company=declaration.company,
    )


def send_campaign_reminders(today):
    """From the reminder date to the close, remind each company of its declarations not yet submitted
    (draft or returned), one e-mail per company and campaign. Returns the number of e-mails recorded."""
    campaigns = Campaign.objects.filter(reminder_on__lte=today, closes_on__gte=today)
    pending = (
        Declaration.objects.filter(campaign__in=campaigns, status__in=PENDING_STATUSES)
        .select_related("campaign", "convention", "company")
        .order_by("campaign_id", "company__name", "convention__reference")
    )
    groups = defaultdict(list)
    for declaration in pending:
        groups[(declaration.campaign, declaration.company)].append(declaration)
    emails = member_emails({company.pk for _, company in groups})
    sent = 0
    for (campaign, company), declarations in groups.items():
        context = {
            "campaign": campaign,
            "company": company,
            "declarations": [(d, declaration_url(d.pk)) for d in declarations],
            "days_left": (campaign.closes_on - today).days,
        }
        subject, body = _render("reminder", context)
        key = f"reminder:{campaign.pk}:{company.pk}:{campaign.reminder_on.isoformat()}"
        if notify(key, Event.REMINDER, emails.get(company.pk, []), subject, body, company=company):
            sent += 1
    return sent


def deliver_pending(now=None):
    """Send again the e-mails recorded but not sent (the mail server was down); returns how many left."""
    now = now or timezone.now()
    delivered = 0
    for pk in Notification.objects.filter(sent_at__isnull=True, created_at__lt=now - REDELIVERY_DELAY).values_list(
        "pk", flat=True
    ):
        delivered += deliver(pk)
    return delivered
