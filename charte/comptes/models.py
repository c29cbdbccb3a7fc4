"""Users, organisations and memberships.

A user acts for an organisation through a membership. What the user may see and do follows the kind of
that organisation (national, préfecture, club, company, partner); the membership's role only says whether
the person administers the organisation's members and keys.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone

from charte.territoires.models import EPCI, Commune, Departement


class UserQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """People a person sees: the members (past or present) of the organisations it sees."""
        if scope.is_national:
            return self.all()
        return self.filter(
            pk__in=Membership.objects.filter(organisation__in=Organisation.objects.visible_to(scope).values("pk")).values(
                "user_id"
            )
        )


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("L'adresse électronique est obligatoire.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("adresse électronique", unique=True)
    first_name = models.CharField("prénom", max_length=150, blank=True)
    last_name = models.CharField("nom", max_length=150, blank=True)
    is_staff = models.BooleanField(
        "accès à l'administration", default=False, help_text="Peut se connecter à l'interface d'administration."
    )
    is_active = models.BooleanField("actif", default=True)
    date_joined = models.DateTimeField("inscrit le", default=timezone.now)
    # ProConnect's stable identifier of the person (`sub`), recorded at the first ProConnect sign-in, which
    # matched the account by e-mail: later sign-ins find the account by it even if the e-mail changes.
    proconnect_sub = models.CharField(
        "identifiant ProConnect", max_length=255, null=True, blank=True, unique=True, editable=False
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        ordering = ["last_name", "first_name", "email"]
        verbose_name = "utilisateur"

    def __str__(self):
        return self.get_full_name() or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self):
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self):
        return self.first_name or self.email

    def active_memberships(self):
        return self.memberships.filter(is_active=True, organisation__is_active=True).select_related("organisation")


class OrganisationKind(models.TextChoices):
    NATIONAL = "national", "National (ANCT, ministère)"
    PREFECTURE = "prefecture", "Préfecture / DDETS"
    CLUB = "club", "Club d'entreprises"
    COMPANY = "company", "Entreprise"
    PARTNER = "partner", "Partenaire"


class ClubNetwork(models.TextChoices):
    FACE = "face", "FACE"
    CREPI = "crepi", "CREPI"
    LEPC = "lepc", "Les Entreprises pour la Cité"
    OTHER = "other", "Autre réseau"


class PartnerCategory(models.TextChoices):
    COLLECTIVITE = "collectivite", "Collectivité (commune, EPCI, département)"
    REGION = "region", "Région"
    FRANCE_TRAVAIL = "france_travail", "France Travail"
    ANCT = "anct", "ANCT"
    OTHER = "other", "Autre partenaire"


class OrganisationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def of_kind(self, kind):
        return self.filter(kind=kind)

    def clubs(self):
        return self.filter(kind=OrganisationKind.CLUB)

    def prefectures(self):
        return self.filter(kind=OrganisationKind.PREFECTURE)

    def visible_to(self, scope):
        """Organisations a person sees. National: all. Préfecture: itself, the organisations of its départements
        and the accounts of the companies in its scope. Club: itself and the accounts of its companies. Company,
        partner: itself."""
        if scope.is_national:
            return self.all()
        if scope.kind is None:
            return self.none()
        visible = Q(pk=scope.organisation_id)
        if scope.is_prefecture:
            covered = Organisation.departements.through.objects.filter(departement_id__in=scope.departement_ids)
            visible |= Q(pk__in=covered.values("organisation_id"))
        if scope.is_prefecture or scope.is_club:
            # The company accounts: companies live in a higher app, reached through the relation it declares
            # here (Company.organisation, related_name "company") so that this app imports none of it.
            Company = Organisation._meta.get_field("company").related_model
            companies = Company.objects.visible_to(scope).filter(organisation__isnull=False)
            visible |= Q(pk__in=companies.values("organisation_id"))
        return self.filter(visible)

    def clubs_visible_to(self, scope):
        """Clubs a person may pick (e.g. as a convention's animating club): active ones; national: all,
        club: itself, préfecture and partner: those of its départements."""
        qs = self.clubs().active()
        if scope.is_national:
            return qs
        if scope.is_club:
            return qs.filter(pk=scope.organisation_id)
        if scope.is_prefecture or scope.is_partner:
            return qs.filter(departements__in=scope.departement_ids).distinct()
        return qs.none()

    def invitable_by(self, scope):
        """Organisations a person may invite people into (rules in `charte.comptes.people`)."""
        from .people import invitable_organisations

        return self.filter(pk__in=invitable_organisations(scope).values("pk"))

    def managed_by(self, scope):
        """Organisations whose accounts (memberships, API keys) a person may manage: its own organisation, or any
        for the national level. Never wider than the organisation the person acts for."""
        if scope.is_national:
            return self.all()
        if scope.kind is None:
            return self.none()
        return self.filter(pk=scope.organisation_id)


class Organisation(models.Model):
    """Anybody acting in the portal: ANCT, a préfecture, a business club, a company, a partner.

    `departements` is the organisation's territory: the départements a préfecture covers, the ones a
    club animates, a partner's area. National organisations cover everything and leave it empty.
    """

    kind = models.CharField("type", max_length=20, choices=OrganisationKind.choices)
    name = models.CharField("nom", max_length=200)
    departements = models.ManyToManyField(
        Departement, blank=True, related_name="organisations", verbose_name="départements couverts"
    )
    network = models.CharField(
        "réseau", max_length=10, choices=ClubNetwork.choices, blank=True, help_text="Pour un club d'entreprises."
    )
    partner_category = models.CharField("catégorie de partenaire", max_length=20, choices=PartnerCategory.choices, blank=True)
    epci = models.ForeignKey(
        EPCI,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="organisations",
        verbose_name="EPCI",
        help_text="Pour un partenaire : il ne voit alors que les agrégats de cet EPCI (et des communes ci-dessous), "
        "et non plus ceux de ses départements.",
    )
    communes = models.ManyToManyField(
        Commune,
        blank=True,
        related_name="organisations",
        verbose_name="communes couvertes",
        help_text="Pour un partenaire attaché à des communes plutôt qu'à un EPCI ou à des départements.",
    )
    email = models.EmailField("adresse de contact", blank=True)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("mise à jour le", auto_now=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "organisation"
        constraints = [
            models.UniqueConstraint(fields=["kind", "name"], name="unique_organisation_kind_name"),
            models.CheckConstraint(
                condition=Q(kind=OrganisationKind.CLUB) | Q(network=""),
                name="organisation_network_only_for_clubs",
                violation_error_message="Seul un club d'entreprises appartient à un réseau.",
            ),
            models.CheckConstraint(
                condition=~Q(kind=OrganisationKind.CLUB) | ~Q(network=""),
                name="organisation_club_has_network",
                violation_error_message="Un club d'entreprises doit indiquer son réseau.",
            ),
            models.CheckConstraint(
                condition=Q(kind=OrganisationKind.PARTNER) | Q(partner_category=""),
                name="organisation_category_only_for_partners",
                violation_error_message="Seul un partenaire a une catégorie de partenaire.",
            ),
        ]

    def __str__(self):
        return self.name


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Membership(models.Model):
    """A user's membership of an organisation. Deactivated, never deleted, so history stays readable."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Administrateur de l'organisation"
        MEMBER = "member", "Membre"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", verbose_name="utilisateur"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships", verbose_name="organisation"
    )
    role = models.CharField("rôle", max_length=10, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("mise à jour le", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="modifiée par",
    )

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "user__email"]
        verbose_name = "adhésion"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation"],
                name="unique_membership_user_organisation",
                violation_error_message="Cette personne est déjà membre de cette organisation.",
            ),
        ]

    def __str__(self):
        return f"{self.user} — {self.organisation}"

    @property
    def kind(self):
        """The scope role this membership gives: the kind of the organisation."""
        return self.organisation.kind

    def deactivate(self, by=None):
        self.is_active = False
        self.updated_by = by
        self.save(update_fields=["is_active", "updated_by", "updated_at"])


class InvitationError(Exception):
    """Why an invitation link cannot be used, with the French message shown to the person (and the HTTP status
    of the page that says it: 410 for a link that existed and is no longer usable, 404 for an unknown one)."""

    status = 410
    message = "Cette invitation ne peut plus être utilisée."

    def __init__(self, message=None):
        super().__init__(message or self.message)
        self.message = message or self.message


class InvitationNotFound(InvitationError):
    status = 404
    message = "Ce lien d'invitation est inconnu. Vérifiez qu'il a été copié en entier, ou demandez une nouvelle invitation."


class InvitationExpired(InvitationError):
    message = "Ce lien d'invitation a expiré. Demandez à la personne qui vous a invité de vous envoyer une nouvelle invitation."


class InvitationRevoked(InvitationError):
    message = "Cette invitation a été annulée par l'organisation. Rapprochez-vous d'elle si vous pensez que c'est une erreur."


class InvitationUsed(InvitationError):
    message = "Ce lien d'invitation a déjà été utilisé : il ne sert qu'une fois. Connectez-vous avec votre compte."


class InvitationWrongAccount(InvitationError):
    status = 403
    message = "Cette invitation est adressée à une autre adresse électronique que celle du compte connecté."


def _hash_token(token):
    import hashlib

    return hashlib.sha256(token.encode()).hexdigest()


class InvitationQuerySet(models.QuerySet):
    def open(self):
        """Neither accepted nor revoked (an expired one included): at most one per organisation and e-mail."""
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True)

    def pending(self, now=None):
        return self.open().filter(expires_at__gt=now or timezone.now())

    def visible_to(self, scope):
        """The invitations into the organisations a person sees."""
        if scope.is_national:
            return self.all()
        return self.filter(organisation__in=Organisation.objects.visible_to(scope).values("pk"))

    def for_token(self, token):
        """The invitation a link's token designates, whatever its state, or None."""
        token = str(token or "")
        if not token or len(token) > 200:
            return None
        return self.filter(token_hash=_hash_token(token)).select_related("organisation", "invited_by").first()

    def pending_for_token(self, token, now=None):
        """The usable invitation of a link (for the accept page and a later ProConnect sign-in), or the
        `InvitationError` saying why it is not usable."""
        invitation = self.for_token(token)
        if invitation is None:
            raise InvitationNotFound()
        invitation.check_usable(now)
        return invitation


class Invitation(models.Model):
    """An invitation to join an organisation, sent by e-mail as a link that expires and works once.

    The link's token is an HMAC of a random nonce under the project's secret key (`token()`): the e-mail task
    recomputes it from the invitation's row, so no secret travels through the broker, and the
    database keeps only the nonce and a SHA-256 of the token, which alone open nothing. Resending draws a new
    nonce: the previous link stops working.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="invitations", verbose_name="organisation"
    )
    email = models.EmailField("adresse électronique")
    first_name = models.CharField("prénom", max_length=150, blank=True)
    last_name = models.CharField("nom", max_length=150, blank=True)
    role = models.CharField("rôle", max_length=10, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="invité par"
    )
    created_at = models.DateTimeField("créée le", default=timezone.now, editable=False)
    expires_at = models.DateTimeField("expire le")
    sent_at = models.DateTimeField("envoyée le", null=True, blank=True)
    nonce = models.CharField(max_length=64, editable=False)
    token_hash = models.CharField("empreinte du lien", max_length=64, unique=True, editable=False)
    accepted_at = models.DateTimeField("acceptée le", null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="acceptée par"
    )
    revoked_at = models.DateTimeField("annulée le", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="annulée par"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "invitation"
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "email"],
                condition=Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="unique_open_invitation_per_organisation_email",
                violation_error_message="Une invitation est déjà en attente pour cette adresse dans cette organisation.",
            ),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(revoked_at__isnull=True),
                name="invitation_accepted_or_revoked_not_both",
                violation_error_message="Une invitation acceptée ne peut pas être annulée.",
            ),
        ]

    def __str__(self):
        return f"{self.email} → {self.organisation}"

    # --- the link ------------------------------------------------------------------------------------------

    TOKEN_SALT = "charte.comptes.Invitation"

    def token(self):
        from django.utils.crypto import salted_hmac

        return salted_hmac(self.TOKEN_SALT, self.nonce, algorithm="sha256").hexdigest()

    def new_link(self):
        """Draw a new nonce and store the hash of the token it gives (the caller saves)."""
        import secrets

        self.nonce = secrets.token_hex(16)
        self.token_hash = _hash_token(self.token())

    def url(self):
        from django.urls import reverse

        return settings.SITE_URL.rstrip("/") + reverse("comptes:invitation_accept", args=[self.token()])

    # --- state -----------------------------------------------------------------------------------------------

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()

    @property
    def is_pending(self):
        return self.accepted_at is None and self.revoked_at is None and not self.is_expired

    @property
    def status_label(self):
        if self.accepted_at:
            return "Acceptée"
        if self.revoked_at:
            return "Annulée"
        if self.is_expired:
            return "Expirée"
        return "En attente"

    def check_usable(self, now=None):
        if self.accepted_at is not None:
            raise InvitationUsed()
        if self.revoked_at is not None:
            raise InvitationRevoked()
        if self.expires_at <= (now or timezone.now()):
            raise InvitationExpired()

    def accept(self, user):
        """Join the organisation as `user` (whose e-mail must be the invitation's): returns the membership.

        Atomic and safe against a double submission: the invitation row is locked, re-read and checked, so a
        second acceptance (or a concurrent one) raises `InvitationUsed` and creates nothing. An existing
        membership of that person is reactivated, and never loses the administrator role."""
        from django.db import transaction

        with transaction.atomic():
            invitation = type(self).objects.select_for_update().select_related("organisation").get(pk=self.pk)
            invitation.check_usable()
            if user.email.lower() != invitation.email.lower():
                raise InvitationWrongAccount(
                    f"Cette invitation est adressée à {invitation.email} : connectez-vous avec ce compte pour l'accepter."
                )
            if not invitation.organisation.is_active:
                raise InvitationRevoked("L'organisation qui vous a invité n'est plus active dans le portail.")
            membership = Membership.objects.select_for_update().filter(user=user, organisation=invitation.organisation).first()
            if membership is None:
                membership = Membership.objects.create(
                    user=user, organisation=invitation.organisation, role=invitation.role, updated_by=invitation.invited_by
                )
            else:
                membership.is_active = True
                if invitation.role == Membership.Role.ADMIN:
                    membership.role = Membership.Role.ADMIN
                membership.updated_by = invitation.invited_by
                membership.save(update_fields=["is_active", "role", "updated_by", "updated_at"])
            invitation.accepted_at = timezone.now()
            invitation.accepted_by = user
            invitation.save(update_fields=["accepted_at", "accepted_by"])
        self.accepted_at, self.accepted_by = invitation.accepted_at, user
        return membership


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A key a partner's or a club's tool sends to the API: it acts as its organisation, with the same scope.

    Only a hash of the secret is stored; the full key (`<prefix>.<secret>`) is shown once, at creation. The
    secret is 32 random bytes, so a fast hash is enough: nobody can guess it from the hash.
    """

    class Access(models.TextChoices):
        READ = "read", "Lecture seule"
        READ_WRITE = "read_write", "Lecture et écriture"

    PREFIX_LENGTH = 8

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="api_keys", verbose_name="organisation")
    name = models.CharField("nom", max_length=100, help_text="Par exemple : « Outil de suivi du club ».")
    prefix = models.CharField("préfixe", max_length=PREFIX_LENGTH, unique=True)
    hashed_key = models.CharField("empreinte du secret", max_length=64, editable=False)
    scope = models.CharField("droits", max_length=10, choices=Access.choices, default=Access.READ)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="créée par",
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    last_used_at = models.DateTimeField("dernière utilisation", null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField("révoquée le", null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "clé d'API"
        verbose_name_plural = "clés d'API"

    def __str__(self):
        return f"{self.name} ({self.prefix})"

    @staticmethod
    def hash_secret(secret):
        import hashlib

        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def issue(cls, organisation, name, scope, created_by=None):
        """Create a key; returns (key, full key). The full key exists only in this return value."""
        import secrets
        import string

        alphabet = string.ascii_letters + string.digits
        while True:
            prefix = "".join(secrets.choice(alphabet) for _ in range(cls.PREFIX_LENGTH))
            if not cls.objects.filter(prefix=prefix).exists():
                break
        secret = secrets.token_urlsafe(32)
        key = cls.objects.create(
            organisation=organisation,
            name=name,
            prefix=prefix,
            hashed_key=cls.hash_secret(secret),
            scope=scope,
            created_by=created_by,
        )
        return key, f"{prefix}.{secret}"

    def check_secret(self, secret):
        import hmac

        return hmac.compare_digest(self.hashed_key, self.hash_secret(secret))

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    @property
    def can_write(self):
        return self.scope == self.Access.READ_WRITE

    def revoke(self):
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
