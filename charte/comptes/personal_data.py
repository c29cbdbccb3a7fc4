"""What the portal holds about one person, and how it is anonymised (RGPD: right of access, right to erasure).

Two kinds of person: a user (an account, its memberships, what it received and what it wrote) and a company
contact (a name, an e-mail, a phone on a company's page, and the e-mails sent to that address). The rows that
name a person are found without listing the models by hand where the schema says it:

- every foreign key to the user (`User._meta` reverse relations, hidden ones included: the history tables,
  `updated_by`, `created_by`...). A row deleted with the person (on_delete CASCADE: memberships, deliveries,
  e-mail choices) is the person's own data and is exported whole; a row that outlives the person (SET_NULL,
  PROTECT: a declaration validated by them, a history row) is their trace as an author and is exported as a
  reference (model, id, date);
- the rows that hold an address as text (`ADDRESSED_BY_EMAIL`, `RECIPIENT_LISTS`), which a foreign key does not
  reach: notifications sent to a company contact, invitations not yet accepted, the sign-in attempts.

Higher apps' models are named by label and resolved at run time (`apps.get_model`), so this app imports none.

Anonymising keeps every row the figures need (declarations, actions, history) and replaces what designates the
person: names, e-mail, phone; the account is deactivated with its memberships and cannot sign in any more.
"""

import logging

from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from .models import Invitation, Membership, User

logger = logging.getLogger(__name__)

# (app label, model, field): rows that hold a person's address as text.
ADDRESSED_BY_EMAIL = (
    ("evaluation", "NotificationDelivery", "email"),
    ("comptes", "Invitation", "email"),
)
# (app label, model, field): text fields listing addresses, one a line.
RECIPIENT_LISTS = (("evaluation", "Notification", "recipients"),)
# django-axes: the sign-in attempts and logs, by the e-mail typed in.
SIGN_IN_RECORDS = (("axes", "AccessAttempt"), ("axes", "AccessLog"), ("axes", "AccessFailureLog"))
# Never exported, even to the person: secrets and their hashes.
SECRET_FIELDS = {"password", "hashed_key", "nonce", "token_hash", "session_hash"}

ANONYMOUS_DOMAIN = "anonyme.invalid"


def anonymous_email(kind, pk):
    """A unique address that reaches nobody (RFC 2606's .invalid), so unique constraints still hold."""
    return f"{kind}-{pk}@{ANONYMOUS_DOMAIN}"


def _model(app_label, name):
    try:
        return apps.get_model(app_label, name)
    except LookupError:
        return None


def _value(value):
    if isinstance(value, models.Model):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def row(obj):
    """Every concrete field of a row, secrets left out, by its field name."""
    data = {"modèle": str(obj._meta.verbose_name), "id": obj.pk}
    for field in obj._meta.concrete_fields:
        if field.name in SECRET_FIELDS:
            continue
        data[field.name] = _value(getattr(obj, field.attname))
    return data


def reference(obj, field):
    """A row that names the person as its author: what it is and when, not its whole content."""
    data = {"modèle": str(obj._meta.verbose_name), "id": obj.pk, "rôle de la personne": str(field.verbose_name)}
    for name in ("history_date", "history_type", "created_at", "updated_at", "date"):
        if hasattr(obj, name):
            data[name] = _value(getattr(obj, name))
    data["libellé"] = str(obj)[:200]
    return data


def _reverse_relations(model):
    return [
        rel
        for rel in model._meta.get_fields(include_hidden=True)
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)
    ]


def _by_email(email):
    """(model, queryset) of the rows holding this address as text."""
    for app_label, name, field in ADDRESSED_BY_EMAIL:
        model = _model(app_label, name)
        if model is not None and email:
            yield model, model._default_manager.filter(**{f"{field}__iexact": email})


def _sign_in_records(email):
    for app_label, name in SIGN_IN_RECORDS:
        model = _model(app_label, name)
        if model is not None and email:
            yield model, model._default_manager.filter(username__iexact=email)


# --- export -------------------------------------------------------------------------------------------------


def user_export(user):
    """Everything held about one account, as a JSON-ready dict."""
    own, authored, seen = [], [], set()
    for rel in _reverse_relations(User):
        field = rel.field
        rows = rel.related_model._default_manager.filter(**{field.name: user}).order_by("pk")
        for obj in rows:
            seen.add((obj._meta.label, obj.pk))
            if field.remote_field.on_delete is models.CASCADE:
                own.append(row(obj))
            else:
                authored.append(reference(obj, field))
    for model, rows in _by_email(user.email):
        own.extend(row(obj) for obj in rows.order_by("pk") if (model._meta.label, obj.pk) not in seen)
    sign_ins = [row(obj) for model, rows in _sign_in_records(user.email) for obj in rows.order_by("pk")]
    return {
        "produit_le": timezone.now().isoformat(),
        "compte": row(user),
        "données": own,
        "connexions": sign_ins,
        "traces_d_auteur": authored,
    }


def contact_export(contact):
    """Everything held about one company contact: the contact row and what was sent to its address."""
    sent = []
    for _addressed, rows in _by_email(contact.email):
        sent.extend(row(obj) for obj in rows.order_by("pk"))
    return {"produit_le": timezone.now().isoformat(), "contact": row(contact), "envois": sent}


# --- anonymisation ---------------------------------------------------------------------------------------


def _replace_address(old, new):
    """Every text copy of an address: the rows addressed to it, the recipients lists that name it."""
    if not old:
        return
    for model, rows in _by_email(old):
        if model is Invitation:
            rows.update(email=new, first_name="", last_name="")
        else:
            rows.update(email=new)
    for app_label, name, field in RECIPIENT_LISTS:
        model = _model(app_label, name)
        if model is None:
            continue
        for obj in model._default_manager.filter(**{f"{field}__icontains": old}).only("pk", field):
            lines = [new if line.strip().lower() == old.lower() else line for line in getattr(obj, field).splitlines()]
            model._default_manager.filter(pk=obj.pk).update(**{field: "\n".join(lines)})


def _log(by, obj, message):
    LogEntry.objects.log_actions(
        user_id=by.pk,
        queryset=[obj],
        action_flag=CHANGE,
        change_message=message,
        single_object=True,
    )
    logger.warning("%s : %s n° %s, par l'utilisateur n° %s", message, obj._meta.verbose_name, obj.pk, by.pk)


def erasure_refusal(user, by):
    """Why this account may not be anonymised by this person, or None."""
    if user.pk == by.pk:
        return "Vous ne pouvez pas anonymiser votre propre compte : demandez-le à un autre administrateur."
    if user.is_superuser or user.is_staff:
        return "Ce compte a accès à l'administration technique : il s'anonymise depuis l'administration du portail."
    for membership in user.memberships.filter(is_active=True, role=Membership.Role.ADMIN):
        admins = Membership.objects.filter(
            organisation_id=membership.organisation_id, role=Membership.Role.ADMIN, is_active=True, user__is_active=True
        ).exclude(user=user)
        if not admins.exists():
            return (
                f"C'est le dernier administrateur actif de « {membership.organisation} » : "
                "nommez d'abord un autre administrateur."
            )
    return None


@transaction.atomic
def erase_user(user, by):
    """Anonymise an account. Raises ValidationError (French) when `erasure_refusal` says no."""
    user = User.objects.select_for_update().get(pk=user.pk)
    refusal = erasure_refusal(user, by)
    if refusal:
        raise ValidationError(refusal)
    old_email = user.email
    new_email = anonymous_email("compte", user.pk)
    for _records, rows in _sign_in_records(old_email):
        rows.delete()
    _replace_address(old_email, new_email)
    # Deliveries to an address the account had before a change of e-mail are theirs too.
    deliveries = _model("evaluation", "NotificationDelivery")
    if deliveries is not None:
        deliveries._default_manager.filter(user=user).exclude(email=new_email).update(email=new_email)
    opt_outs = _model("evaluation", "EmailOptOut")
    if opt_outs is not None:
        opt_outs._default_manager.filter(user=user).delete()
    user.memberships.filter(is_active=True).update(is_active=False, updated_by=by, updated_at=timezone.now())
    user.first_name = "Personne"
    user.last_name = f"anonymisée n° {user.pk}"
    user.email = new_email
    user.proconnect_sub = None
    user.last_login = None
    user.is_active = False
    user.set_unusable_password()
    user.save()
    _log(by, user, "Données personnelles anonymisées")
    return user


@transaction.atomic
def erase_contact(contact, by):
    """Anonymise a company contact: the row stays (the company keeps a contact slot), nothing designates anybody."""
    contact = type(contact).objects.select_for_update().get(pk=contact.pk)
    _replace_address(contact.email, anonymous_email("contact", contact.pk))
    contact.first_name = "Contact"
    contact.last_name = f"anonymisé n° {contact.pk}"
    contact.job_title = ""
    contact.email = ""
    contact.phone = ""
    contact.is_main = False
    contact.save()
    _log(by, contact, "Données personnelles anonymisées")
    return contact


def can_manage_person(managed_organisations, user):
    """An account is managed by whoever manages every organisation it belongs to (a person who is also a member of
    an organisation out of your hands is not yours to export or erase)."""
    organisation_ids = set(user.memberships.values_list("organisation_id", flat=True))
    if not organisation_ids:
        return False
    return organisation_ids <= set(managed_organisations.filter(pk__in=organisation_ids).values_list("pk", flat=True))
