"""Telling people about an event of a lower app (a practice sheet to review, a consent to give) without
importing the app that records and sends notifications.

Notifications (`Notification`, e-mails, the inbox) live in `evaluation`, above `conventions`; a lower app never
imports a higher one. The higher app registers its sender here when Django starts (`AppConfig.ready`), and the
lower app calls `notify`: an explicit hook, in the manner of `charte.catalogue.engine_needs`.
"""

_SENDER = None


def register_sender(sender):
    """Called once by the app that records notifications: `sender(key=..., event=..., subject=..., body=...,
    path=..., organisation_ids=..., company_ids=...)` returns the recorded notification or None."""
    global _SENDER
    _SENDER = sender


def notify(*, key, event, subject, body, path="", organisation_ids=(), company_ids=()):
    """Tell the active members of these organisations and the members and contacts of these companies, once per
    `key`. No sender registered (an app list without notifications): nothing is told, and nothing fails."""
    if _SENDER is None:
        return None
    return _SENDER(
        key=key,
        event=event,
        subject=subject,
        body=body,
        path=path,
        organisation_ids=tuple(organisation_ids),
        company_ids=tuple(company_ids),
    )
