"""Celery tasks of the accounts: thin wrappers that take ids and call plain functions.

The invitation e-mail is rebuilt from the invitation's row when the task runs (its link is recomputed from the
stored nonce under the secret key), so no secret travels through the broker and a task run twice sends a
still-valid link. An e-mail server that refuses or a database that briefly fails is retried with an
exponential backoff, a bounded number of times.
"""

import logging
import smtplib

from celery import shared_task
from django.core.mail import EmailMultiAlternatives
from django.db import OperationalError
from django.template.loader import render_to_string
from django.utils import timezone

from charte.celery import RETRY

from .models import Invitation

logger = logging.getLogger(__name__)

INVITATION_RETRY = {**RETRY, "autoretry_for": (OperationalError, smtplib.SMTPException, ConnectionError, TimeoutError)}


def invitation_message(invitation):
    """The French e-mail of an invitation: subject, text and HTML bodies with the absolute link."""
    context = {
        "invitation": invitation,
        "organisation": invitation.organisation,
        "url": invitation.url(),
        "expires_at": timezone.localtime(invitation.expires_at),
        "invited_by": invitation.invited_by,
    }
    subject = " ".join(render_to_string("comptes/emails/invitation_subject.txt", context).split())
    text = render_to_string("comptes/emails/invitation_body.txt", context)
    html = render_to_string("comptes/emails/invitation_body.html", context)
    message = EmailMultiAlternatives(subject, text, None, [invitation.email])
    message.attach_alternative(html, "text/html")
    return message


def deliver_invitation(invitation_id):
    """Send the e-mail of a pending invitation; returns whether it left. An accepted, revoked or expired one
    is not sent (a late or repeated task changes nothing)."""
    invitation = Invitation.objects.select_related("organisation", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or not invitation.is_pending:
        return False
    invitation_message(invitation).send()
    Invitation.objects.filter(pk=invitation.pk, nonce=invitation.nonce).update(sent_at=timezone.now())
    logger.info("Invitation %s envoyée à %s", invitation.pk, invitation.email)
    return True


@shared_task(bind=True, name="comptes.send_invitation", **INVITATION_RETRY)
def send_invitation(self, invitation_id):
    """Enqueued after commit when an invitation is created or resent."""
    return {"sent": deliver_invitation(invitation_id), "eager": bool(self.request.is_eager)}
