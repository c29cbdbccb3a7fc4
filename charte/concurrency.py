"""Optimistic locking of the portal's edit pages (issue 10): two people editing the same row must not have
the second save silently erase the first.

A versioned row carries a `version` integer, bumped by every save of its edit page or API. The page sends
back, in a hidden field, the version it displayed; the service locks the row (`select_for_update`) and
refuses a save whose version is no longer the current one with `StaleEditError`: nothing is written, the
page is shown again with what the person typed and the message says who saved meanwhile and when. The
hidden version then becomes the current one, so that saving again is a deliberate choice. Declarations
have the same mechanism of their own (`evaluation.campaigns.services.ConcurrentEditError`).
"""

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format


class StaleEditError(ValidationError):
    """Somebody saved the row after the page was displayed; nothing was written."""

    def __init__(self, what, *, current_version, modified_by=None, modified_at=None):
        who = str(modified_by) if modified_by else "une autre personne"
        when = ""
        if modified_at:
            moment = timezone.localtime(modified_at)
            when = f" le {date_format(moment, 'd/m/Y')} à {date_format(moment, 'H:i')}"
        message = (
            f"{what} a été modifiée par {who}{when} pendant que vous la modifiiez : vos modifications n'ont pas "
            "été enregistrées. Elles restent affichées ; vérifiez les changements puis enregistrez à nouveau."
        )
        super().__init__(message, code="stale_version")
        self.current_version = current_version
        self.modified_by = modified_by
        self.modified_at = modified_at


def parse_version(value):
    """The version a client sent: an integer, or None when none was sent (no check then)."""
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({"version": "La version doit être un nombre entier."}, code="invalid") from None


def lock_and_check(instance, expected_version, what, *, modified_by=None):
    """Lock the row of `instance` and refuse a stale `expected_version` (None: not checked).

    Returns the locked row. `modified_by(locked)` names who saved last, when the model knows it.
    The caller saves with `version = locked.version + 1` (see `next_version`).
    """
    locked = type(instance)._default_manager.select_for_update().get(pk=instance.pk)
    expected = parse_version(expected_version)
    if expected is not None and expected != locked.version:
        raise StaleEditError(
            what,
            current_version=locked.version,
            modified_by=modified_by(locked) if modified_by else getattr(locked, "updated_by", None),
            modified_at=getattr(locked, "updated_at", None),
        )
    return locked


def next_version(instance, locked):
    instance.version = locked.version + 1
    return instance.version
