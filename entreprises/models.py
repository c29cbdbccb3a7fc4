"""Companies (SIREN), their establishments (SIRET), their club memberships, contacts and diagnostics."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from charte.catalogue.models import ActionType
from charte.comptes.models import Organisation
from charte.territoires.models import Commune
from charte.validators import validate_long_text

from .validators import normalize_identifier, validate_siren, validate_siret


class Label(models.Model):
    """A quality label a company holds (Lucie, Engagement diversité...)."""

    name = models.CharField("nom", max_length=100, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "label"

    def __str__(self):
        return self.name


class CompanyQuerySet(models.QuerySet):
    def in_departements(self, departements):
        """Companies present in these départements: their head office or one of their establishments."""
        return self.filter(
            Q(commune__departement__in=departements) | Q(establishments__commune__departement__in=departements)
        ).distinct()

    def members_of(self, club, on=None):
        return self.filter(pk__in=ClubMembership.objects.current(on).filter(club=club).values("company"))

    def visible_to(self, scope):
        """National: all. Préfecture: the companies with their head office or an establishment in its
        départements, or party to a convention there. Club: its member companies today and those party to a
        convention it animates. Company: itself. Partner: none (no company-level row)."""
        # Conventions live in a higher app: their link to companies is reached through the relation they
        # declare here (Company.conventions), so that this app imports none of it.
        convention_parties = Company.conventions.through.objects
        if scope.is_national:
            return self.all()
        if scope.is_prefecture:
            dep = scope.departement_ids
            return self.filter(
                Q(commune__departement_id__in=dep)
                | Q(pk__in=Establishment.objects.filter(commune__departement_id__in=dep).values("company_id"))
                | Q(pk__in=convention_parties.filter(convention__departement_id__in=dep).values("company_id"))
            )
        if scope.is_club:
            return self.filter(
                Q(pk__in=ClubMembership.objects.member_company_ids(scope.organisation_id))
                | Q(pk__in=convention_parties.filter(convention__club_id=scope.organisation_id).values("company_id"))
            )
        if scope.is_company and scope.company_id:
            return self.filter(pk=scope.company_id)
        return self.none()


class Company(models.Model):
    class Size(models.TextChoices):
        TPE = "tpe", "TPE (moins de 10 salariés)"
        PME = "pme", "PME (moins de 250 salariés)"
        ETI = "eti", "ETI (moins de 5 000 salariés)"
        GE = "ge", "Grande entreprise"

    siren = models.CharField("SIREN", max_length=9, unique=True, validators=[validate_siren])
    name = models.CharField("raison sociale", max_length=200)
    legal_form = models.CharField("forme juridique", max_length=100, blank=True)
    size = models.CharField("taille", max_length=3, choices=Size.choices, blank=True)
    naf_code = models.CharField("code NAF", max_length=6, blank=True, help_text="Par exemple 62.01Z.")
    address = models.CharField("adresse", max_length=250, blank=True)
    postcode = models.CharField("code postal", max_length=5, blank=True)
    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, null=True, blank=True, related_name="companies", verbose_name="commune"
    )
    labels = models.ManyToManyField(Label, blank=True, related_name="companies", verbose_name="labels")
    is_national_signatory = models.BooleanField("signataire national", default=False)
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subsidiaries",
        verbose_name="groupe / société mère",
    )
    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="company",
        limit_choices_to={"kind": "company"},
        verbose_name="organisation (comptes de l'entreprise)",
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("mise à jour le", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name="mise à jour par",
    )
    # Bumped by every save of the edit page: a stale save is refused (charte.concurrency).
    version = models.PositiveIntegerField("version", default=1, editable=False)

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "entreprise"
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("pk")),
                name="company_not_its_own_parent",
                violation_error_message="Une entreprise ne peut pas être son propre groupe.",
            ),
        ]

    def __str__(self):
        return self.name

    def clean_fields(self, exclude=None):
        # People paste "552 100 554": store the 9 digits, then validate them.
        self.siren = normalize_identifier(self.siren or "")
        super().clean_fields(exclude=exclude)


class OfVisibleCompanyQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """The rows (establishments, contacts, club memberships) of the companies a scope sees."""
        return self.filter(company__in=Company.objects.visible_to(scope).values("pk"))


class Establishment(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="establishments", verbose_name="entreprise")
    siret = models.CharField("SIRET", max_length=14, unique=True, validators=[validate_siret])
    name = models.CharField("nom", max_length=200, blank=True)
    address = models.CharField("adresse", max_length=250, blank=True)
    commune = models.ForeignKey(
        Commune, on_delete=models.PROTECT, null=True, blank=True, related_name="establishments", verbose_name="commune"
    )
    is_head_office = models.BooleanField("siège", default=False)

    objects = OfVisibleCompanyQuerySet.as_manager()

    class Meta:
        ordering = ["siret"]
        verbose_name = "établissement"
        constraints = [
            models.UniqueConstraint(
                fields=["company"],
                condition=Q(is_head_office=True),
                name="one_head_office_per_company",
                violation_error_message="Cette entreprise a déjà un siège.",
            ),
        ]

    def __str__(self):
        return f"{self.name or self.company.name} ({self.siret})"

    def clean_fields(self, exclude=None):
        self.siret = normalize_identifier(self.siret or "")
        super().clean_fields(exclude=exclude)

    def clean(self):
        super().clean()
        from django.core.exceptions import ValidationError

        if self.company_id and self.siret and not self.siret.startswith(self.company.siren):
            raise ValidationError({"siret": "Le SIRET doit commencer par le SIREN de l'entreprise."})


class ClubMembershipQuerySet(OfVisibleCompanyQuerySet):
    def current(self, on=None):
        from django.utils import timezone

        on = on or timezone.localdate()
        return self.filter(Q(start_date__lte=on), Q(end_date__isnull=True) | Q(end_date__gte=on))

    def visible_to(self, scope):
        """The memberships of the companies a scope sees; a club also sees its own past members' rows (its history
        of who joined and left stays readable, never deleted)."""
        visible = super().visible_to(scope)
        if scope.is_club:
            return self.filter(Q(pk__in=visible.values("pk")) | Q(club_id=scope.organisation_id))
        return visible

    def overlapping(self, company, club, start, end, exclude_pk=None):
        """Memberships of the company in the club whose period meets [start, end] (end None: open-ended)."""
        qs = self.filter(company=company, club=club).filter(Q(end_date__isnull=True) | Q(end_date__gte=start))
        if end is not None:
            qs = qs.filter(start_date__lte=end)
        return qs.exclude(pk=exclude_pk) if exclude_pk else qs

    def member_company_ids(self, club_id):
        """The club's members today: a company that left the club is no longer its business (what the club did
        with it stays visible through the conventions it animates and the actions it logged)."""
        return self.current().filter(club_id=club_id).values("company_id")


class ClubMembership(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="club_memberships", verbose_name="entreprise")
    club = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="company_memberships",
        limit_choices_to={"kind": "club"},
        verbose_name="club",
    )
    start_date = models.DateField("adhésion le")
    end_date = models.DateField("fin le", null=True, blank=True)
    # Who recorded the membership and who ended it in the portal (rows loaded by imports have neither).
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name="enregistrée par",
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name="terminée par",
    )

    objects = ClubMembershipQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date"]
        verbose_name = "adhésion à un club"
        verbose_name_plural = "adhésions à un club"
        constraints = [
            models.UniqueConstraint(
                fields=["company", "club", "start_date"],
                name="unique_club_membership_start",
                violation_error_message="Cette adhésion existe déjà.",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="club_membership_dates_ordered",
                violation_error_message="La fin de l'adhésion doit suivre son début.",
            ),
        ]

    def __str__(self):
        return f"{self.company} — {self.club}"


class Contact(models.Model):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="contacts", verbose_name="entreprise")
    first_name = models.CharField("prénom", max_length=100)
    last_name = models.CharField("nom", max_length=100)
    job_title = models.CharField("fonction", max_length=150, blank=True)
    email = models.EmailField("adresse électronique", blank=True)
    phone = models.CharField("téléphone", max_length=30, blank=True)
    is_main = models.BooleanField("contact principal", default=False)

    objects = OfVisibleCompanyQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = "contact"

    def __str__(self):
        return f"{self.first_name} {self.last_name}"


class DiagnosticQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """The diagnostics of the companies in scope; a club sees its own and those made without a club.
        Partner: none."""
        if scope.kind is None or scope.is_partner:
            return self.none()
        qs = self.filter(company__in=Company.objects.visible_to(scope).values("pk"))
        if scope.is_club:
            qs = qs.filter(Q(club_id=scope.organisation_id) | Q(club__isnull=True))
        return qs


class Diagnostic(models.Model):
    """What a company already does and wants to do, before a convention is signed."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="diagnostics", verbose_name="entreprise")
    club = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="diagnostics",
        limit_choices_to={"kind": "club"},
        verbose_name="club",
    )
    date = models.DateField("date")
    comment = models.TextField("commentaire", blank=True, validators=[validate_long_text])
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="auteur"
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("mis à jour le", auto_now=True)

    objects = DiagnosticQuerySet.as_manager()

    class Meta:
        ordering = ["-date"]
        verbose_name = "diagnostic"

    def __str__(self):
        return f"Diagnostic {self.company} du {self.date:%d/%m/%Y}"

    def suggested_action_types(self):
        """Action types the company already carries out or wants to: the commitments a convention
        prepared from this diagnostic starts with."""
        wanted = [DiagnosticItem.Status.DOING, DiagnosticItem.Status.WANTS]
        chosen = self.items.filter(status__in=wanted).values("action_type_id")
        return ActionType.objects.filter(pk__in=chosen).select_related("family").order_by("family__position", "label")


class DiagnosticItem(models.Model):
    class Status(models.TextChoices):
        DOING = "doing", "Le fait déjà"
        WANTS = "wants", "Souhaite le faire"
        NOT_CONCERNED = "not_concerned", "Non concernée"

    diagnostic = models.ForeignKey(Diagnostic, on_delete=models.CASCADE, related_name="items", verbose_name="diagnostic")
    action_type = models.ForeignKey(
        ActionType, on_delete=models.PROTECT, related_name="diagnostic_items", verbose_name="type d'action"
    )
    status = models.CharField("situation", max_length=15, choices=Status.choices)
    comment = models.CharField("commentaire", max_length=500, blank=True)

    class Meta:
        ordering = ["action_type__family__position", "action_type__label"]
        verbose_name = "ligne de diagnostic"
        verbose_name_plural = "lignes de diagnostic"
        constraints = [
            models.UniqueConstraint(
                fields=["diagnostic", "action_type"],
                name="unique_diagnostic_action_type",
                violation_error_message="Ce type d'action figure déjà dans le diagnostic.",
            ),
        ]

    def __str__(self):
        return f"{self.action_type} : {self.get_status_display()}"
