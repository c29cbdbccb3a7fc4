"""Notifications: who is told what, by which channel (the matrix is written in docs/notifications.md).

Each event is recorded once. The `Notification` row (unique key) and one `NotificationDelivery` row per
recipient are inserted in the caller's transaction; the e-mails leave after commit, through the Celery task
`evaluation.deliver_notification` (retried on a mail server or database that refuses, then caught up by
`deliver_pending`). A job that runs twice, or two workers that run it at once, hit the unique key: the second
insert is refused and nothing is sent.

Recipients (`Recipient`): the active members (active account, active membership, active organisation) of the
organisations concerned, then, for a company, its declared contacts with an e-mail address; an address is
written to once (compared without case). A person with an account sees every notification addressed to them in
the portal ("Mes notifications") and chooses the families of e-mails they receive (`EmailOptOut`); a contact
without an account always receives the e-mail, with a sentence that says why.

E-mails are sent one per recipient (nobody sees the other addresses), in French, as text and HTML, with
absolute links built from `settings.SITE_URL`.
"""

import datetime
import logging
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlsplit

import celery
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from charte.comptes.models import Membership, OrganisationKind, User
from conventions.models import Convention
from entreprises.models import Contact

from ..models import Campaign, Declaration, EmailOptOut, Notification, NotificationDelivery

logger = logging.getLogger(__name__)

Event = Notification.Event
Reason = NotificationDelivery.Reason
PENDING_STATUSES = (Declaration.Status.DRAFT, Declaration.Status.RETURNED)
# A row younger than this may still be on its way (sent by the on_commit hook of its transaction).
REDELIVERY_DELAY = datetime.timedelta(hours=1)
# The last reminder goes this many days before the close (when the reminder date is earlier than that).
LAST_REMINDER_DAYS = 3
# After the close, companies still pending are told once, during this many days (a late run catches up).
OVERDUE_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Recipient:
    email: str
    reason: str  # NotificationDelivery.Reason
    organisation_name: str
    user_id: int | None = None


# --- who -----------------------------------------------------------------------------------------------


MEMBER_FIELDS = ("organisation_id", "organisation__name", "user_id", "user__email")


def _active_members(organisation_filter, fields=MEMBER_FIELDS):
    """Rows of `fields` for the active members (active account, membership and organisation) of the
    organisations matched by the filter."""
    return (
        Membership.objects.filter(organisation_filter, is_active=True, user__is_active=True, organisation__is_active=True)
        .order_by("organisation__name", "user__email")
        .values_list(*fields)
    )


def _dedupe(recipients):
    """First occurrence of each address wins (members come before contacts), compared without case."""
    seen, kept = set(), []
    for recipient in recipients:
        email = recipient.email.strip()
        if email and email.lower() not in seen:
            seen.add(email.lower())
            kept.append(recipient)
    return kept


def _with_accounts(recipients):
    """A contact whose address is an active account's is that person: they see it in the portal and their
    choices of e-mails apply. Same order as given."""
    unknown = {r.email.lower() for r in recipients if r.user_id is None}
    if not unknown:
        return list(recipients)
    accounts = dict(
        User.objects.annotate(email_lower=Lower("email"))
        .filter(email_lower__in=unknown, is_active=True)
        .values_list("email_lower", "pk")
    )
    return [
        Recipient(r.email, r.reason, r.organisation_name, accounts.get(r.email.lower())) if r.user_id is None else r
        for r in recipients
    ]


def company_recipients(company_ids):
    """{company_id: [Recipient, ...]}: the active members of each company's organisation, then its declared
    contacts with an e-mail address, each address once per company."""
    company_ids = list(company_ids)
    pairs = [
        (company_id, Recipient(email, Reason.MEMBER, org_name, user_id))
        for company_id, org_name, user_id, email in _active_members(
            Q(organisation__company__in=company_ids),
            ("organisation__company", "organisation__name", "user_id", "user__email"),
        )
    ]
    contacts = (
        Contact.objects.filter(company__in=company_ids)
        .exclude(email="")
        .order_by("-is_main", "last_name", "first_name", "pk")
        .values_list("company_id", "company__name", "email")
    )
    pairs += [(company_id, Recipient(email, Reason.CONTACT, name)) for company_id, name, email in contacts]
    resolved = _with_accounts([recipient for _company, recipient in pairs])
    found = defaultdict(list)
    for (company_id, _raw), recipient in zip(pairs, resolved, strict=True):
        found[company_id].append(recipient)
    return {company_id: _dedupe(rows) for company_id, rows in found.items()}


def validator_recipients(convention):
    """Who checks a declaration of the convention: the members of its animating club and of the préfecture(s)
    of its département; a national convention (no département): the national level."""
    if convention.departement_id is None:
        orgs = Q(organisation__kind=OrganisationKind.NATIONAL)
    else:
        orgs = Q(organisation__kind=OrganisationKind.PREFECTURE, organisation__departements=convention.departement_id)
    if convention.club_id:
        orgs |= Q(organisation_id=convention.club_id)
    return _dedupe(Recipient(email, Reason.MEMBER, name, user_id) for _org, name, user_id, email in _active_members(orgs))


def club_recipients(club_id):
    if club_id is None:
        return []
    members = _active_members(Q(organisation_id=club_id))
    return [Recipient(email, Reason.MEMBER, name, user_id) for _org, name, user_id, email in members]


def opted_out(user_ids, family):
    refused = EmailOptOut.objects.filter(user_id__in=[u for u in user_ids if u], family=family)
    return set(refused.values_list("user_id", flat=True))


def split_by_channel(recipients, event):
    """(by e-mail, in the portal only): a person who refused this family of e-mails keeps the notification in
    the portal; a contact without an account always gets the e-mail."""
    refused = opted_out({r.user_id for r in recipients}, Notification.FAMILY_OF[event])
    by_email = [r for r in recipients if r.user_id not in refused]
    portal_only = [r for r in recipients if r.user_id in refused]
    return by_email, portal_only


def describe(recipients, event):
    """French sentence that says who is told, for the flash message of the person who acted."""
    if not recipients:
        if event == Event.SUBMITTED:
            return (
                "Personne n'a pu en être informé : ni le club animateur ni la préfecture du département n'ont de "
                "membre actif sur le portail."
            )
        return (
            "Personne n'a pu en être informé : l'entreprise n'a ni membre actif sur le portail ni contact déclaré "
            "avec une adresse électronique (ajoutez un contact sur sa fiche)."
        )
    by_email, portal_only = split_by_channel(recipients, event)
    parts = []
    if by_email:
        who = ", ".join(f"{r.email} ({Reason(r.reason).label} {r.organisation_name})" for r in by_email)
        parts.append(f"Un courriel part vers {who}.")
    if portal_only:
        who = ", ".join(r.email for r in portal_only)
        parts.append(f"Informé(s) dans le portail seulement, à leur demande : {who}.")
    return " ".join(parts)


# --- what ----------------------------------------------------------------------------------------------


def site_url(path):
    return settings.SITE_URL.rstrip("/") + path


def declaration_url(declaration_id):
    return site_url(reverse("evaluation:declaration", args=[declaration_id]))


def _render(name, context):
    context = {"site_url": settings.SITE_URL.rstrip("/"), **context}
    subject = " ".join(render_to_string(f"evaluation/emails/{name}_subject.txt", context).split())
    text = render_to_string(f"evaluation/emails/{name}_body.txt", context)
    html = render_to_string(f"evaluation/emails/{name}_body.html", context)
    return subject, text, html


def notify(key, event, recipients, subject, body, html_body="", url="", *, declaration=None, company=None, convention=None):
    """Record the event once with one delivery row per recipient, and send its e-mails after commit; returns
    the Notification, or None if the event was already recorded (or has nobody to tell)."""
    recipients = _dedupe(recipients)
    if not recipients:
        logger.warning("Notification %s : aucun destinataire (ni membre actif ni contact), rien n'est envoyé.", key)
        return None
    by_email, _portal_only = split_by_channel(recipients, event)
    wanted = {r.email.lower() for r in by_email}
    with transaction.atomic():
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    key=key,
                    event=event,
                    declaration=declaration,
                    company=company,
                    convention=convention,
                    recipients="\n".join(r.email for r in by_email),
                    subject=subject[:250],
                    body=body,
                    html_body=html_body,
                    url=url,
                )
        except IntegrityError:
            return None
        NotificationDelivery.objects.bulk_create(
            NotificationDelivery(
                notification=notification,
                email=r.email,
                user_id=r.user_id,
                reason=r.reason,
                organisation_name=r.organisation_name[:200],
                by_email=r.email.lower() in wanted,
            )
            for r in recipients
        )
        if not wanted:
            Notification.objects.filter(pk=notification.pk).update(sent_at=timezone.now())
        else:
            transaction.on_commit(lambda: _enqueue_delivery(notification.pk), robust=True)
    return notification


DELIVER_TASK = "evaluation.deliver_notification"


def _enqueue_delivery(notification_id):
    # By name on the current app, like a shared task (evaluation/campaigns/tasks.py imports this module).
    celery.current_app.signature(DELIVER_TASK, args=(notification_id,)).delay()


# --- sending -------------------------------------------------------------------------------------------


def _message(notification, delivery, connection):
    context = {
        "delivery": delivery,
        "is_contact": delivery.reason == Reason.CONTACT and delivery.user_id is None,
        "preferences_url": site_url(reverse("notifications:preferences")),
        "inbox_url": site_url(reverse("notifications:list")),
    }
    text = notification.body.rstrip() + "\n\n" + render_to_string("evaluation/emails/_footer.txt", context).strip() + "\n"
    message = EmailMultiAlternatives(notification.subject, text, None, [delivery.email], connection=connection)
    if notification.html_body:
        footer = render_to_string("evaluation/emails/_footer.html", context)
        message.attach_alternative(notification.html_body.replace("<!--footer-->", footer), "text/html")
    return message


class DeliveryFailed(Exception):
    """Some e-mails of a notification could not leave; they stay pending for a retry."""


def deliver(notification_id):
    """Send the e-mails of a notification not sent yet; returns how many left. Raises DeliveryFailed after
    trying them all when the mail server refused some (the task retries; `deliver_pending` catches up)."""
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is None:
        return 0
    pending = list(notification.deliveries.filter(by_email=True, sent_at__isnull=True).order_by("pk"))
    sent, errors = 0, []
    if pending:
        connection = get_connection()
        for delivery in pending:
            try:
                _message(notification, delivery, connection).send()
            except Exception as error:  # any refusal of the mail server: kept for the next attempt
                logger.exception("Échec de l'envoi de la notification %s à %s.", notification.key, delivery.email)
                errors.append(error)
                continue
            NotificationDelivery.objects.filter(pk=delivery.pk).update(sent_at=timezone.now())
            sent += 1
    if not notification.deliveries.filter(by_email=True, sent_at__isnull=True).exists():
        Notification.objects.filter(pk=notification.pk, sent_at__isnull=True).update(sent_at=timezone.now())
    if errors:
        raise DeliveryFailed(f"{len(errors)} courriel(s) de la notification {notification.key} non envoyé(s) : {errors[0]}")
    return sent


def deliver_pending(now=None):
    """Send again the e-mails recorded but not sent (the mail server was down); returns how many left."""
    now = now or timezone.now()
    delivered = 0
    waiting = (
        NotificationDelivery.objects.filter(
            by_email=True, sent_at__isnull=True, notification__created_at__lt=now - REDELIVERY_DELAY
        )
        .values_list("notification_id", flat=True)
        .distinct()
    )
    for notification_id in list(waiting):
        try:
            delivered += deliver(notification_id)
        except DeliveryFailed:
            logger.warning("Notification %s : des courriels attendent encore le prochain passage.", notification_id)
    return delivered


def inbox_path(notification):
    """Where the in-portal notification leads: the path of its link, on the portal itself."""
    return urlsplit(notification.url).path if notification.url else ""


# --- events --------------------------------------------------------------------------------------------


def declaration_event_recipients(declaration, event):
    if event == Event.SUBMITTED:
        return validator_recipients(declaration.convention)
    return company_recipients([declaration.company_id]).get(declaration.company_id, [])


def notify_declaration_event(declaration_id, event):
    """A declaration submitted (to its club and préfecture), returned or validated (to the company's members
    and contacts). Key: the event's timestamp, so that a later return is a new event."""
    declaration = (
        Declaration.objects.select_related("campaign", "convention", "company", "returned_by", "validated_by", "submitted_by")
        .filter(pk=declaration_id)
        .first()
    )
    if declaration is None:
        return None
    if event == Event.RETURNED:
        at, by = declaration.returned_at, declaration.returned_by
    elif event == Event.VALIDATED:
        at, by = declaration.validated_at, declaration.validated_by
    elif event == Event.SUBMITTED:
        at, by = declaration.submitted_at, declaration.submitted_by
    else:
        raise ValueError(f"Événement inconnu : {event}")
    if at is None:
        return None
    url = declaration_url(declaration.pk)
    context = {"declaration": declaration, "by": by, "at": timezone.localtime(at), "url": url}
    subject, body, html = _render(event, context)
    return notify(
        f"{event}:{declaration.pk}:{at.isoformat()}",
        event,
        declaration_event_recipients(declaration, event),
        subject,
        body,
        html,
        url,
        declaration=declaration,
        company=declaration.company,
    )


def _campaign_stage(campaign, today):
    """Which campaign e-mail is due today for a company still pending, and the date that keys it."""
    last = campaign.closes_on - datetime.timedelta(days=LAST_REMINDER_DAYS)
    if campaign.opens_on <= today < campaign.reminder_on:
        return Event.OPENED, campaign.opens_on
    if campaign.reminder_on <= today <= campaign.closes_on:
        if last > campaign.reminder_on and today >= last:
            return Event.LAST_REMINDER, last
        return Event.REMINDER, campaign.reminder_on
    if campaign.closes_on < today <= campaign.closes_on + datetime.timedelta(days=OVERDUE_WINDOW_DAYS):
        return Event.OVERDUE, campaign.closes_on
    return None, None


def send_campaign_notifications(today):
    """The campaign's e-mails to each company with declarations not yet submitted (draft or returned), one per
    company, campaign and stage: opening (from the opening to the reminder date), reminder (from the reminder
    date), last reminder (J-3), overdue (after the close). Returns {event: number recorded}."""
    window_start = today - datetime.timedelta(days=OVERDUE_WINDOW_DAYS)
    campaigns = Campaign.objects.filter(opens_on__lte=today, closes_on__gte=window_start)
    pending = (
        Declaration.objects.filter(campaign__in=campaigns, status__in=PENDING_STATUSES)
        .select_related("campaign", "convention", "company")
        .order_by("campaign_id", "company__name", "convention__reference")
    )
    groups = defaultdict(list)
    for declaration in pending:
        groups[(declaration.campaign, declaration.company)].append(declaration)
    recipients = company_recipients({company.pk for _, company in groups})
    counts = dict.fromkeys((Event.OPENED, Event.REMINDER, Event.LAST_REMINDER, Event.OVERDUE), 0)
    for (campaign, company), declarations in groups.items():
        event, keyed_on = _campaign_stage(campaign, today)
        if event is None:
            continue
        context = {
            "stage": event,
            "campaign": campaign,
            "company": company,
            "declarations": [(d, declaration_url(d.pk)) for d in declarations],
            "days_left": (campaign.closes_on - today).days,
            "url": site_url(reverse("evaluation:campaign_detail", args=[campaign.pk])),
        }
        name = "reminder" if event in (Event.REMINDER, Event.LAST_REMINDER) else event
        subject, body, html = _render(name, context)
        url = declaration_url(declarations[0].pk)
        key = f"{event}:{campaign.pk}:{company.pk}:{keyed_on.isoformat()}"
        if notify(key, event, recipients.get(company.pk, []), subject, body, html, url, company=company):
            counts[event] += 1
    return counts


@dataclass
class ReminderPlan:
    """Who a reminder sent by hand from the completeness page reaches, shown before it is confirmed."""

    event: str | None  # the e-mail sent (reminder, last reminder, overdue); None before the opening
    groups: list  # [(company, [pending declarations], [Recipient])], companies in name order

    @property
    def companies(self):
        return len(self.groups)

    @property
    def addresses(self):
        return len({r.email.lower() for _company, _declarations, recipients in self.groups for r in recipients})

    @property
    def reachable(self):
        return self.companies - len(self.unreachable)

    @property
    def unreachable(self):
        """Companies with neither an active member nor a contact with an address: nobody can be told."""
        return [company for company, _declarations, recipients in self.groups if not recipients]


def manual_reminder_plan(campaign, scope, today):
    """Every company whose declaration of the campaign is still not transmitted (draft or returned) among the
    declarations the person sees, with the people each reminder will reach: the same recipients and e-mails as
    the daily reminders (docs/notifications.md), the whole list, not a page of it."""
    event, _keyed_on = _campaign_stage(campaign, today)
    if event == Event.OPENED:
        event = Event.REMINDER  # before the reminder date a reminder by hand is still a reminder
    elif event is None and campaign.closes_on < today:
        event = Event.OVERDUE
    pending = (
        Declaration.objects.visible_to(scope)
        .filter(campaign=campaign, status__in=PENDING_STATUSES)
        .select_related("convention", "company")
        .order_by("company__name", "company_id", "convention__reference")
    )
    by_company = {}
    for declaration in pending:
        by_company.setdefault(declaration.company_id, (declaration.company, []))[1].append(declaration)
    recipients = company_recipients(by_company)
    groups = [(company, declarations, recipients.get(pk, [])) for pk, (company, declarations) in by_company.items()]
    return ReminderPlan(event=event, groups=groups)


def send_manual_reminder(campaign, plan, today):
    """Send the plan's reminders, one per company; returns (companies reminded, companies already reminded by
    hand today). Keyed by day: a second press (or a double click) the same day sends nothing more."""
    sent = already = 0
    for company, declarations, recipients in plan.groups:
        if not recipients:
            continue
        context = {
            "stage": plan.event,
            "campaign": campaign,
            "company": company,
            "declarations": [(d, declaration_url(d.pk)) for d in declarations],
            "days_left": (campaign.closes_on - today).days,
            "url": site_url(reverse("evaluation:campaign_detail", args=[campaign.pk])),
        }
        name = "reminder" if plan.event in (Event.REMINDER, Event.LAST_REMINDER) else plan.event
        subject, body, html = _render(name, context)
        key = f"manual:{plan.event}:{campaign.pk}:{company.pk}:{today.isoformat()}"
        if notify(key, plan.event, recipients, subject, body, html, declaration_url(declarations[0].pk), company=company):
            sent += 1
        else:
            already += 1
    return sent, already


def send_campaign_reminders(today):
    """Kept for the callers of the reminders alone: the number of reminders (before the close) recorded."""
    counts = send_campaign_notifications(today)
    return counts[Event.REMINDER] + counts[Event.LAST_REMINDER]


def send_convention_renewal_notices(today, days=None):
    """Active conventions ending within `days` (RENEWAL_NOTICE_DAYS) whose renewal is not signed yet: their club
    and their companies are told once per end date (a new end date is a new notice)."""
    days = settings.RENEWAL_NOTICE_DAYS if days is None else days
    signed = (Convention.Status.SIGNED, Convention.Status.ACTIVE, Convention.Status.EXPIRED)
    conventions = (
        Convention.objects.filter(
            status=Convention.Status.ACTIVE, end_date__gte=today, end_date__lte=today + datetime.timedelta(days=days)
        )
        .exclude(successor__status__in=signed)
        .select_related("club", "departement", "successor")
        .prefetch_related("companies")
        .order_by("end_date", "reference")
    )
    conventions = list(conventions)
    by_company = company_recipients({c.pk for convention in conventions for c in convention.companies.all()})
    recorded = 0
    for convention in conventions:
        successor = getattr(convention, "successor", None)
        url = site_url(reverse("conventions:detail", args=[convention.pk]))
        context = {
            "convention": convention,
            "successor": successor,
            "successor_url": site_url(reverse("conventions:detail", args=[successor.pk])) if successor else "",
            "days_left": (convention.end_date - today).days,
            "url": url,
        }
        subject, body, html = _render("renewal", context)
        recipients = club_recipients(convention.club_id)
        for company in convention.companies.all():
            recipients += by_company.get(company.pk, [])
        key = f"renewal:{convention.pk}:{convention.end_date.isoformat()}"
        if notify(key, Event.RENEWAL, recipients, subject, body, html, url, convention=convention):
            recorded += 1
    return recorded


# --- events of lower apps (charte.notices) --------------------------------------------------------------


def notify_for_lower_app(*, key, event, subject, body, path="", organisation_ids=(), company_ids=()):
    """The sender registered in `charte.notices` (evaluation's AppConfig.ready): a lower app (the practice
    sheets) names organisations and companies; here they become recipients (active members; a company's members
    and contacts) and one recorded notification."""
    Event(event)  # an unknown event is a programming error, not something to record
    recipients = [
        Recipient(email, Reason.MEMBER, name, user_id)
        for _org, name, user_id, email in _active_members(Q(organisation_id__in=list(organisation_ids)))
    ]
    for rows in company_recipients(company_ids).values():
        recipients += rows
    return notify(key, event, recipients, subject, body, url=site_url(path) if path else "")
