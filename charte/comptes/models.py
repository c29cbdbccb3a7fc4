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
