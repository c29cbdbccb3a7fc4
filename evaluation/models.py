"""Annual campaigns (DOMAIN.md §5): a préfecture or the national level opens a campaign for year N, each
company with a convention running during N fills one declaration per convention, the animating club or
the préfecture validates or returns it.

State changes go through `evaluation.services`, never through a bare `status = ...`: they lock the row,
check the dates and permissions, bump `version` (optimistic locking of the declaration page) and record
who acted in the history (django-simple-history).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from charte.catalogue.models import Indicator
from charte.comptes.models import Organisation
from charte.territoires.models import Departement
from conventions.models import Commitment, Convention
from entreprises.models import Company


class CampaignQuerySet(models.QuerySet):
    def open_on(self, date):
        """Campaigns whose window contains the date (companies may fill their declarations)."""
        return self.filter(opens_on__lte=date, closes_on__gte=date)

    def closed_on(self, date):
        return self.filter(closes_on__lt=date)


class Campaign(models.Model):
    """The yearly window in which companies declare year N. No departement = national campaign."""

    year = models.PositiveSmallIntegerField("année évaluée")
    title = models.CharField("intitulé", max_length=200)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="campaigns", verbose_name="ouverte par")
    departements = models.ManyToManyField(
        Departement,
        blank=True,
        related_name="campaigns",
        verbose_name="départements couverts",
        help_text="Aucun département : campagne nationale.",
    )
    opens_on = models.DateField("ouverture le")
    reminder_on = models.DateField("relance le")
    closes_on = models.DateField("clôture le")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="ouverte par"
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "title"]
        verbose_name = "campagne"
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_on__lte=F("reminder_on")) & Q(reminder_on__lte=F("closes_on")),
                name="campaign_dates_ordered",
                violation_error_message="Les dates doivent se suivre : ouverture, relance puis clôture.",
            ),
            models.UniqueConstraint(
                fields=["organisation", "year"],
                name="unique_campaign_per_organisation_year",
                violation_error_message="Cette organisation a déjà ouvert une campagne pour cette année.",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_national(self):
        """True for a campaign covering every département (checked on a saved campaign)."""
        return not self.departements.exists()

    def is_closed(self, today):
        return today > self.closes_on

    def is_open(self, today):
        return self.opens_on <= today <= self.closes_on


def _user(verbose_name):
    """Who performed a step: kept when the account is deleted, set by the services only."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=verbose_name,
        editable=False,
    )


class Declaration(models.Model):
    """What one company declares for one convention and one year."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Brouillon"
        SUBMITTED = "submitted", "Transmise"
        VALIDATED = "validated", "Validée"
        RETURNED = "returned", "Renvoyée pour correction"

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="declarations", verbose_name="campagne")
    convention = models.ForeignKey(Convention, on_delete=models.PROTECT, related_name="declarations", verbose_name="convention")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="declarations", verbose_name="entreprise")
    # Copied from the campaign so that the database itself refuses two declarations of one year.
    year = models.PositiveSmallIntegerField("année", editable=False)
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.DRAFT, editable=False)
    submitted_at = models.DateTimeField("transmise le", null=True, blank=True, editable=False)
    submitted_by = _user("transmise par")
    validated_at = models.DateTimeField("validée le", null=True, blank=True, editable=False)
    validated_by = _user("validée par")
    returned_at = models.DateTimeField("renvoyée le", null=True, blank=True, editable=False)
    returned_by = _user("renvoyée par")
    return_comment = models.TextField("commentaire de renvoi", blank=True, editable=False)
    reopened_at = models.DateTimeField("rouverte le", null=True, blank=True, editable=False)
    reopened_by = _user("rouverte par")
    reopen_reason = models.TextField("motif de réouverture", blank=True, editable=False)
    # Optimistic locking: the page sends back the version it displayed; a different one means somebody saved meanwhile.
    version = models.PositiveIntegerField("version", default=1, editable=False)
    updated_by = _user("modifiée par")
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("mise à jour le", auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["campaign", "company__name", "convention__reference"]
        verbose_name = "déclaration"
        constraints = [
            models.UniqueConstraint(
                fields=["convention", "company", "year"],
                name="unique_declaration_per_convention_company_year",
                violation_error_message="Cette entreprise a déjà une déclaration pour cette convention et cette année.",
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | ~Q(return_comment=""),
                name="declaration_return_has_comment",
                violation_error_message="Un renvoi doit être accompagné d'un commentaire.",
            ),
            models.CheckConstraint(
                condition=Q(reopened_at__isnull=True) | ~Q(reopen_reason=""),
                name="declaration_reopen_has_reason",
                violation_error_message="Une réouverture doit être motivée.",
            ),
        ]
        indexes = [models.Index(fields=["campaign", "status"], name="declaration_campaign_status")]

    def __str__(self):
        return f"{self.company} — {self.convention.reference} ({self.year})"

    def save(self, *args, **kwargs):
        if self.campaign_id and not self.year:
            self.year = self.campaign.year
        super().save(*args, **kwargs)

    def is_locked(self, today):
        """After the close date nobody edits a declaration, unless a préfecture reopened it."""
        return self.campaign.is_closed(today) and self.reopened_at is None

    @property
    def is_editable_status(self):
        return self.status in (self.Status.DRAFT, self.Status.RETURNED)


class DeclarationValue(models.Model):
    """One figure of a declaration: a commitment's indicator for year N.

    The indicator's `nature` says what the figure is: "offert" (places, offers made available) or
    "réalisé" (pupils hosted, people hired). Both kinds are separate indicators of the catalogue
    (STAGE3_OFFERTS / STAGE3_ACCUEILLIS), so one value per indicator keeps offered and realised apart.
    """

    declaration = models.ForeignKey(Declaration, on_delete=models.CASCADE, related_name="values", verbose_name="déclaration")
    commitment = models.ForeignKey(
        Commitment, on_delete=models.PROTECT, related_name="declared_values", verbose_name="engagement"
    )
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="declared_values", verbose_name="indicateur")
    value = models.DecimalField("valeur", max_digits=14, decimal_places=2, null=True, blank=True)
    comment = models.TextField("commentaire", blank=True)
    updated_at = models.DateTimeField("mise à jour le", auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["commitment", "indicator__code"]
        verbose_name = "valeur déclarée"
        verbose_name_plural = "valeurs déclarées"
        constraints = [
            models.UniqueConstraint(
                fields=["declaration", "commitment", "indicator"],
                name="unique_declared_value",
                violation_error_message="Cette déclaration a déjà une valeur pour cet engagement et cet indicateur.",
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=0),
                name="declared_value_positive",
                violation_error_message="Une valeur déclarée ne peut pas être négative.",
            ),
        ]

    def __str__(self):
        return f"{self.indicator.code} : {self.value if self.value is not None else '—'}"


def evidence_path(instance, filename):
    return f"declarations/{instance.declaration_id}/{filename}"


class Evidence(models.Model):
    """A supporting document (attendance sheet, certificate...). Type and size are checked by the service."""

    declaration = models.ForeignKey(
        Declaration, on_delete=models.CASCADE, related_name="evidence_files", verbose_name="déclaration"
    )
    file = models.FileField("fichier", upload_to=evidence_path, max_length=255)
    original_name = models.CharField("nom d'origine", max_length=255)
    content_type = models.CharField("type de contenu", max_length=100)
    size = models.PositiveIntegerField("taille (octets)")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="déposé par"
    )
    uploaded_at = models.DateTimeField("déposé le", auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = "justificatif"

    def __str__(self):
        return self.original_name


class Notification(models.Model):
    """One e-mail sent for one event. The unique key makes a second run of a job send nothing."""

    class Event(models.TextChoices):
        REMINDER = "reminder", "Relance avant clôture"
        RETURNED = "returned", "Déclaration renvoyée"
        VALIDATED = "validated", "Déclaration validée"

    key = models.CharField("clé", max_length=200, unique=True)
    event = models.CharField("événement", max_length=10, choices=Event.choices)
    declaration = models.ForeignKey(
        Declaration, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications", verbose_name="déclaration"
    )
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name="entreprise"
    )
    recipients = models.TextField("destinataires", help_text="Une adresse par ligne.")
    subject = models.CharField("objet", max_length=250)
    # Kept so that an e-mail that could not leave is sent again with the text of its event.
    body = models.TextField("texte")
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    sent_at = models.DateTimeField("envoyée le", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "notification"

    def __str__(self):
        return self.subject

    @property
    def recipient_list(self):
        return [line for line in self.recipients.splitlines() if line]
