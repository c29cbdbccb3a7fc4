"""Annual campaigns (DOMAIN.md §5): a préfecture or the national level opens a campaign for year N, each
company with a convention running during N fills one declaration per convention, the animating club or
the préfecture validates or returns it.

State changes go through `evaluation.campaigns.services`, never through a bare `status = ...`: they lock the row,
check the dates and permissions, bump `version` (optimistic locking of the declaration page) and record
who acted in the history (django-simple-history).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from charte.catalogue.models import Indicator
from charte.comptes.models import Membership, Organisation
from charte.territoires.models import QPV, Departement, Region
from charte.validators import validate_plausible_date, validate_plausible_year
from conventions.models import Commitment, Convention
from entreprises.models import Company


def _scope_keys(queryset, field="pk"):
    """The scope keys of compiled rows are text: ids of clubs, conventions and companies, territory codes.

    Read now, as a list: the compiled rows are then found by index on (year, scope type, scope key) for each key.
    As subqueries joined by OR, PostgreSQL filtered every published row against them (seconds at national scale).
    A scope reaches at most a few thousand keys (the conventions and companies of its départements)."""
    return [str(key) for key in queryset.order_by().values_list(field, flat=True)]


class CampaignQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """National: all. Préfecture, club: the campaigns covering one of its départements, national ones
        included. Company: the campaigns where it has a declaration. Partner: none."""
        if scope.is_national:
            return self.all()
        if scope.is_prefecture or scope.is_club:
            covered = Campaign.departements.through.objects
            return self.filter(
                Q(pk__in=covered.filter(departement_id__in=scope.departement_ids).values("campaign_id"))
                | ~Q(pk__in=covered.values("campaign_id"))
            )
        if scope.is_company and scope.company_id:
            own = Declaration.objects.filter(company_id=scope.company_id)
            return self.filter(pk__in=own.values("campaign_id"))
        return self.none()

    def open_on(self, date):
        """Campaigns whose window contains the date (companies may fill their declarations)."""
        return self.filter(opens_on__lte=date, closes_on__gte=date)

    def closed_on(self, date):
        return self.filter(closes_on__lt=date)

    def expected_conventions(self, year):
        """Conventions expected to report for `year` (docs/methodologie.md §3): those that ran
        (`Convention.objects.expected_to_report`) and that a campaign of the year covers: a national campaign (no
        département) every convention, national ones included; a préfecture's campaign those of its départements."""
        covering = Campaign.departements.through.objects.filter(
            campaign__year=year, departement_id=models.OuterRef("departement_id")
        )
        national = Campaign.objects.filter(year=year).exclude(
            models.Exists(Campaign.departements.through.objects.filter(campaign_id=models.OuterRef("pk")))
        )
        return Convention.objects.expected_to_report(year).filter(models.Exists(national) | models.Exists(covering))


class Campaign(models.Model):
    """The yearly window in which companies declare year N. No departement = national campaign."""

    year = models.PositiveSmallIntegerField("année évaluée", validators=[validate_plausible_year])
    title = models.CharField("intitulé", max_length=200)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="campaigns", verbose_name="ouverte par")
    departements = models.ManyToManyField(
        Departement,
        blank=True,
        related_name="campaigns",
        verbose_name="départements couverts",
        help_text="Aucun département : campagne nationale.",
    )
    opens_on = models.DateField("ouverture le", validators=[validate_plausible_date])
    reminder_on = models.DateField("relance le", validators=[validate_plausible_date])
    closes_on = models.DateField("clôture le", validators=[validate_plausible_date])
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


class DeclarationQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """Préfecture: the declarations of conventions in its départements. Club: those of the conventions it
        animates (a member company's declaration on a convention animated by another club, or by no club, is
        not its business: issue 10). Company: its own. National: all. Partner: none."""
        if scope.is_national:
            return self.all()
        if scope.is_prefecture:
            return self.filter(convention__departement_id__in=scope.departement_ids)
        if scope.is_club:
            return self.filter(convention__club_id=scope.organisation_id)
        if scope.is_company and scope.company_id:
            return self.filter(company_id=scope.company_id)
        return self.none()


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

    objects = DeclarationQuerySet.as_manager()

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


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """Notifications the portal recorded (the admin's list): those of the declarations in scope, the
        campaign reminders to companies in scope and the renewals of conventions in scope. National: all;
        partner: none."""
        if scope.is_national:
            return self.all()
        if scope.kind is None or scope.is_partner:
            return self.none()
        return self.filter(
            Q(declaration__in=Declaration.objects.visible_to(scope).values("pk"))
            | Q(declaration__isnull=True, company__in=Company.objects.visible_to(scope).values("pk"))
            | Q(
                declaration__isnull=True,
                company__isnull=True,
                convention__in=Convention.objects.visible_to(scope).values("pk"),
            )
        )


class Notification(models.Model):
    """One event told to the people concerned (docs/notifications.md). The unique key makes a second run of a
    job record nothing; each recipient has a `NotificationDelivery` row (the in-portal notification, and the
    e-mail when that person receives this family of e-mails)."""

    class Event(models.TextChoices):
        OPENED = "opened", "Campagne ouverte"
        REMINDER = "reminder", "Relance avant clôture"
        LAST_REMINDER = "last_reminder", "Dernière relance avant clôture"
        OVERDUE = "overdue", "Relance après clôture"
        SUBMITTED = "submitted", "Déclaration transmise"
        RETURNED = "returned", "Déclaration renvoyée"
        VALIDATED = "validated", "Déclaration validée"
        RENEWAL = "renewal", "Convention à renouveler"
        # Practice sheets (conventions.practices), told through charte.notices.
        PRACTICE_REVIEW = "practice_review", "Fiche de bonne pratique à relire"
        PRACTICE_RETURNED = "practice_returned", "Fiche de bonne pratique renvoyée"
        PRACTICE_PUBLISHED = "practice_published", "Fiche de bonne pratique publiée"
        PRACTICE_CONSENT = "practice_consent", "Accord demandé pour une fiche de bonne pratique"
        PRACTICE_INTEREST = "practice_interest", "Une organisation veut reproduire une fiche"
        EXPORT_READY = "export_ready", "Export prêt"
        EXPORT_FAILED = "export_failed", "Export échoué"

    class Family(models.TextChoices):
        """What a person opts in or out of, by e-mail (the in-portal notification is always kept)."""

        CAMPAIGNS = "campaigns", "Campagnes : ouverture et relances"
        DECLARATIONS = "declarations", "Déclarations : transmission, renvoi, validation"
        CONVENTIONS = "conventions", "Conventions : échéances et renouvellements"
        PRACTICES = "practices", "Bonnes pratiques : relecture, accord, publication"
        EXPORTS = "exports", "Exports : fichier prêt ou échoué"

    FAMILY_OF = {
        Event.OPENED: Family.CAMPAIGNS,
        Event.REMINDER: Family.CAMPAIGNS,
        Event.LAST_REMINDER: Family.CAMPAIGNS,
        Event.OVERDUE: Family.CAMPAIGNS,
        Event.SUBMITTED: Family.DECLARATIONS,
        Event.RETURNED: Family.DECLARATIONS,
        Event.VALIDATED: Family.DECLARATIONS,
        Event.RENEWAL: Family.CONVENTIONS,
        Event.PRACTICE_REVIEW: Family.PRACTICES,
        Event.PRACTICE_RETURNED: Family.PRACTICES,
        Event.PRACTICE_PUBLISHED: Family.PRACTICES,
        Event.PRACTICE_CONSENT: Family.PRACTICES,
        Event.PRACTICE_INTEREST: Family.PRACTICES,
        Event.EXPORT_READY: Family.EXPORTS,
        Event.EXPORT_FAILED: Family.EXPORTS,
    }

    key = models.CharField("clé", max_length=200, unique=True)
    event = models.CharField("événement", max_length=20, choices=Event.choices)
    declaration = models.ForeignKey(
        Declaration, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications", verbose_name="déclaration"
    )
    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name="entreprise"
    )
    convention = models.ForeignKey(
        Convention, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name="convention"
    )
    recipients = models.TextField("destinataires", blank=True, help_text="Les adresses écrites, une par ligne.")
    subject = models.CharField("objet", max_length=250)
    # Kept so that an e-mail that could not leave is sent again with the text of its event, and so that the
    # in-portal page shows what the e-mail said.
    body = models.TextField("texte")
    html_body = models.TextField("texte HTML", blank=True)
    url = models.CharField("lien", max_length=500, blank=True, help_text="Adresse absolue de la page concernée.")
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    sent_at = models.DateTimeField("courriels partis le", null=True, blank=True, help_text="Quand le dernier est parti.")

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "notification"

    def __str__(self):
        return self.subject

    @property
    def recipient_list(self):
        return [line for line in self.recipients.splitlines() if line]

    @property
    def family(self):
        return self.FAMILY_OF.get(self.event)


class NotificationDeliveryQuerySet(models.QuerySet):
    def addressed_to(self, user):
        """A person's own notifications (their inbox): what was addressed to their account, whatever
        organisation they act for. Nobody else's, ever."""
        if user is None or not user.is_authenticated:
            return self.none()
        return self.filter(user=user)

    def unread(self):
        return self.filter(read_at__isnull=True)


class NotificationDelivery(models.Model):
    """One recipient of one notification: the in-portal copy for an account, the e-mail when it is wanted."""

    class Reason(models.TextChoices):
        MEMBER = "member", "membre de l'organisation"
        CONTACT = "contact", "contact déclaré de l'entreprise"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries", verbose_name="notification"
    )
    email = models.EmailField("adresse")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notification_deliveries",
        verbose_name="compte",
    )
    reason = models.CharField("à quel titre", max_length=10, choices=Reason.choices)
    organisation_name = models.CharField("organisation ou entreprise", max_length=200, blank=True)
    by_email = models.BooleanField("par courriel", default=True, help_text="Faux : la personne a refusé ces courriels.")
    sent_at = models.DateTimeField("courriel parti le", null=True, blank=True)
    read_at = models.DateTimeField("lue le", null=True, blank=True)

    objects = NotificationDeliveryQuerySet.as_manager()

    class Meta:
        ordering = ["-notification__created_at", "pk"]
        verbose_name = "destinataire d'une notification"
        constraints = [
            models.UniqueConstraint(fields=["notification", "email"], name="unique_delivery_per_address"),
        ]
        indexes = [models.Index(fields=["user", "read_at"], name="delivery_user_unread")]

    def __str__(self):
        return f"{self.notification} → {self.email}"


class EmailOptOut(models.Model):
    """A family of e-mails a person chose not to receive; the in-portal notification stays."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_opt_outs", verbose_name="compte"
    )
    family = models.CharField("famille", max_length=20, choices=Notification.Family.choices)

    class Meta:
        verbose_name = "courriels refusés"
        constraints = [models.UniqueConstraint(fields=["user", "family"], name="unique_opt_out_per_family")]

    def __str__(self):
        return f"{self.user} : {self.get_family_display()}"


# --- the evaluation engine (issue 5) ---------------------------------------------------------------------


class ScopeType(models.TextChoices):
    """What a compiled figure is about. A run is started for one of the first four."""

    NATIONAL = "national", "National"
    REGION = "region", "Région"
    DEPARTEMENT = "departement", "Département"
    CLUB = "club", "Club"
    CONVENTION = "convention", "Convention"
    COMPANY = "company", "Entreprise"
    QPV = "qpv", "QPV"


RUN_SCOPE_TYPES = (ScopeType.NATIONAL, ScopeType.REGION, ScopeType.DEPARTEMENT, ScopeType.CLUB)


class EvaluationRunQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """National: every run. Others acting for an organisation: the national runs (their figures come from
        them) and the runs of their départements, their régions and, for a club, its own."""
        if scope.is_national:
            return self.all()
        if scope.kind is None:
            return self.none()
        visible = Q(scope_type="national")
        visible |= Q(scope_type="departement", scope_key__in=Departement.objects.visible_to(scope).values("code"))
        visible |= Q(scope_type="region", scope_key__in=Region.objects.visible_to(scope).values("code"))
        if scope.is_club:
            visible |= Q(scope_type="club", scope_key=str(scope.organisation_id))
        return self.filter(visible)

    def succeeded(self):
        return self.filter(status=EvaluationRun.Status.SUCCEEDED)

    def active(self):
        return self.filter(status__in=EvaluationRun.ACTIVE_STATUSES)

    def published_ids(self):
        """The ids of the published runs, one per year: the latest succeeded national run of the year
        (docs/methodologie.md §10). "Latest" is the run started last (highest id): it read the most recent data.
        Computed on the small runs table; results are filtered with `run_id IN (...)`, never an anti-join over
        the result rows. Other runs (older ones, a failed or running one, and the département, région or club
        runs an older version of the portal started) are never published."""
        return (
            EvaluationRun.objects.filter(status=EvaluationRun.Status.SUCCEEDED, scope_type=ScopeType.NATIONAL)
            .order_by()
            .values("year")
            .annotate(latest=models.Max("pk"))
            .values("latest")
        )

    def published(self):
        """The published run of each year; the others stay for audit."""
        return self.filter(pk__in=self.published_ids())

    def published_by_year(self):
        """{year: id of the published run}, read now (one small query on the runs table)."""
        return dict(self.published_ids().values_list("year", "latest"))


class EvaluationRun(models.Model):
    """One compile of a year for a scope: national (everything), a région, a département or a club.

    Its results (`AnnualResult`) are written by the Celery tasks of `evaluation.engine.runs` and only read once the
    run has succeeded: a failed or running run shows nothing, its partial rows stay invisible."""

    class Status(models.TextChoices):
        PENDING = "pending", "En attente"
        RUNNING = "running", "En cours"
        SUCCEEDED = "succeeded", "Terminée"
        FAILED = "failed", "Échouée"

    ACTIVE_STATUSES = (Status.PENDING, Status.RUNNING)
    # The start of the reason written by `runs.fail_stalled_runs`: plain French, shown as is on the report page.
    STALLED_REASON = "Compilation arrêtée : aucune de ses tâches n'a avancé"

    class Trigger(models.TextChoices):
        PORTAL = "portal", "Portail"
        BEAT = "beat", "Compilation nocturne"
        COMMAND = "command", "Commande"

    year = models.PositiveSmallIntegerField("année évaluée")
    scope_type = models.CharField("périmètre", max_length=12, choices=ScopeType.choices, default=ScopeType.NATIONAL)
    # Région or département code, club id; empty for national.
    scope_key = models.CharField("clé du périmètre", max_length=20, blank=True)
    status = models.CharField("statut", max_length=10, choices=Status.choices, default=Status.PENDING)
    # The units of work (one per département, plus "autres" and the roll-ups), listed when the run starts.
    units = models.JSONField("unités de calcul", default=list)
    done_units = models.JSONField("unités terminées", default=list)
    units_total = models.PositiveIntegerField("unités à calculer", default=0)
    units_done = models.PositiveIntegerField("unités calculées", default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="demandée par"
    )
    trigger = models.CharField("origine", max_length=10, choices=Trigger.choices, default=Trigger.COMMAND)
    task_id = models.CharField("tâche Celery", max_length=255, blank=True)
    error = models.TextField("erreur", blank=True)
    created_at = models.DateTimeField("demandée le", auto_now_add=True)
    started_at = models.DateTimeField("commencée le", null=True, blank=True)
    finished_at = models.DateTimeField("terminée le", null=True, blank=True)
    # The last sign of life of its tasks (a unit starting or done, the roll-ups sent): a run whose tasks were lost
    # (worker killed and its message lost, broker flushed) stops moving; `runs.fail_stalled_runs` then fails it.
    progress_at = models.DateTimeField("dernier avancement le", null=True, blank=True)
    # Superseded runs keep this record and their territorial rows for audit; their detail rows (conventions,
    # companies, QPV) go after EVALUATION_RESULTS_RETENTION_DAYS (evaluation.engine.retention).
    results_purged_at = models.DateTimeField("lignes supprimées le", null=True, blank=True)

    objects = EvaluationRunQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        verbose_name = "compilation de l'évaluation"
        verbose_name_plural = "compilations de l'évaluation"
        indexes = [models.Index(fields=["year", "scope_type", "scope_key", "status"], name="run_year_scope_status")]

    def __str__(self):
        scope = self.get_scope_type_display() + (f" {self.scope_key}" if self.scope_key else "")
        return f"Compilation {self.year} — {scope} ({self.get_status_display().lower()})"

    @property
    def failure_for_readers(self):
        """Why it failed, for the report page: the stall reason as is; a technical error (kept in `error` for the
        support) is not shown."""
        if self.error.startswith(self.STALLED_REASON):
            return self.error
        return "Une erreur technique l'a interrompue ; le détail est consigné pour l'équipe d'exploitation."

    @property
    def percent(self):
        if not self.units_total:
            return 100 if self.status == self.Status.SUCCEEDED else 0
        return round(100 * self.units_done / self.units_total)

    @property
    def is_finished(self):
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)


class AnnualResultQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """Compiled rows a reader may see (published or not: callers add `.published()`).

        National: all. Everybody acting for an organisation: the national aggregate. Préfecture: its
        départements, their régions, QPV, clubs, conventions and companies. Club: itself, its conventions and
        companies, and the aggregates of its territory. Company: itself and its conventions. Partner: the
        aggregates of its territory (départements, régions, QPV), never a company-level row."""
        if scope.is_national:
            return self.all()
        if scope.kind is None:
            return self.none()
        visible = Q(scope_type="national")
        if scope.has_territory:
            visible |= Q(scope_type="departement", scope_key__in=_scope_keys(Departement.objects.visible_to(scope), "code"))
            visible |= Q(scope_type="region", scope_key__in=_scope_keys(Region.objects.visible_to(scope), "code"))
            visible |= Q(scope_type="qpv", scope_key__in=_scope_keys(QPV.objects.visible_to(scope), "code"))
        if scope.is_prefecture or scope.is_club:
            visible |= Q(scope_type="club", scope_key__in=_scope_keys(Organisation.objects.clubs_visible_to(scope)))
        if scope.is_prefecture or scope.is_club or scope.is_company:
            visible |= Q(scope_type="convention", scope_key__in=_scope_keys(Convention.objects.visible_to(scope)))
            visible |= Q(scope_type="company", scope_key__in=_scope_keys(Company.objects.visible_to(scope)))
        return self.filter(visible)

    def published(self):
        """The rows of the published set of each year: its latest succeeded national run, one coherent set in
        which every roll-up agrees with its parts (docs/methodologie.md §10).

        The runs are read first and given as values, with their years (a run's rows all carry its year): the
        planner then knows which run and which years it reads, and uses the indexes that start with the year
        (`result_year_scope_run`) or the run. Given as a subquery, it planned for an unknown run and walked the
        whole table (4 to 12 s for a préfecture, a company or a partner on the national benchmark)."""
        if self.query.is_empty():
            return self  # nothing visible (and nothing to read: the API schema is generated without a database)
        latest = EvaluationRun.objects.published_by_year()
        return self.filter(year__in=sorted(latest), run_id__in=sorted(latest.values()))

    def for_scope(self, year, scope_type, scope_key=""):
        """The published rows of one scope (all its families and indicators) for the year."""
        return self.published().filter(year=year, scope_type=scope_type, scope_key=str(scope_key))


class AnnualResult(models.Model):
    """The compiled figures of one scope x family x indicator for a year, with the same figures for N-1.

    `family` empty: all families; `indicator` empty: figures that are not about one indicator (actions,
    beneficiaries, companies). Values are in the indicator's unit; summed only on indicator rows, never
    across units. Rates are fractions (0.5 = 50 %). Written in bulk by `evaluation.engine.compile`, never updated."""

    # No index of their own and no database constraint on these three keys: a compile inserts hundreds of
    # thousands of rows and each checked key costs a lookup at commit. The rows are derived and written only by
    # the engine from existing ids; deleting a run cascades in Django, the catalogue is protected in Django.
    run = models.ForeignKey(
        EvaluationRun,
        on_delete=models.CASCADE,
        related_name="results",
        verbose_name="compilation",
        db_index=False,
        db_constraint=False,
    )
    # Which unit of work wrote the row: a retried unit deletes its own rows before writing them again.
    unit = models.CharField("unité de calcul", max_length=20)
    year = models.PositiveSmallIntegerField("année")
    scope_type = models.CharField("périmètre", max_length=12, choices=ScopeType.choices)
    # Region, département or QPV code; club, convention or company id; empty for national.
    scope_key = models.CharField("clé du périmètre", max_length=20, blank=True)
    family = models.ForeignKey(
        "catalogue.Family",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="famille",
        db_index=False,
        db_constraint=False,
    )
    indicator = models.ForeignKey(
        Indicator,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="indicateur",
        db_index=False,
        db_constraint=False,
    )

    declared_value = models.DecimalField("valeur déclarée", max_digits=18, decimal_places=2, null=True)
    declared_validated_value = models.DecimalField("valeur déclarée validée", max_digits=18, decimal_places=2, null=True)
    computed_value = models.DecimalField("valeur calculée depuis les actions", max_digits=18, decimal_places=2, null=True)
    target_value = models.DecimalField("objectif", max_digits=18, decimal_places=2, null=True)
    attainment_rate = models.FloatField("taux d'atteinte", null=True)
    offered_value = models.DecimalField("valeur offerte", max_digits=18, decimal_places=2, null=True)
    realised_value = models.DecimalField("valeur réalisée", max_digits=18, decimal_places=2, null=True)
    companies_expected = models.PositiveIntegerField("entreprises attendues", null=True)
    companies_reporting = models.PositiveIntegerField("entreprises ayant déclaré", null=True)
    actions_count = models.BigIntegerField("actions", null=True)
    beneficiaries = models.BigIntegerField("bénéficiaires", null=True)
    beneficiaries_qpv = models.BigIntegerField("bénéficiaires résidant en QPV", null=True)
    qpv_share = models.FloatField("part des bénéficiaires résidant en QPV", null=True)
    # Survey indicator rows only (methodology §14): responses, positive ones, people asked, and the two rates.
    respondents = models.BigIntegerField("répondants", null=True)
    positive_answers = models.BigIntegerField("réponses positives", null=True)
    people_reached = models.BigIntegerField("personnes sollicitées", null=True)
    positive_share = models.FloatField("part de réponses positives", null=True)
    response_rate = models.FloatField("taux de réponse", null=True)

    prev_declared_value = models.DecimalField("valeur déclarée N-1", max_digits=18, decimal_places=2, null=True)
    prev_declared_validated_value = models.DecimalField("valeur déclarée validée N-1", max_digits=18, decimal_places=2, null=True)
    prev_computed_value = models.DecimalField("valeur calculée N-1", max_digits=18, decimal_places=2, null=True)
    prev_target_value = models.DecimalField("objectif N-1", max_digits=18, decimal_places=2, null=True)
    prev_attainment_rate = models.FloatField("taux d'atteinte N-1", null=True)
    prev_companies_expected = models.PositiveIntegerField("entreprises attendues N-1", null=True)
    prev_companies_reporting = models.PositiveIntegerField("entreprises ayant déclaré N-1", null=True)
    prev_actions_count = models.BigIntegerField("actions N-1", null=True)
    prev_beneficiaries = models.BigIntegerField("bénéficiaires N-1", null=True)
    prev_beneficiaries_qpv = models.BigIntegerField("bénéficiaires résidant en QPV N-1", null=True)
    prev_qpv_share = models.FloatField("part des bénéficiaires résidant en QPV N-1", null=True)
    prev_respondents = models.BigIntegerField("répondants N-1", null=True)
    prev_positive_answers = models.BigIntegerField("réponses positives N-1", null=True)
    prev_people_reached = models.BigIntegerField("personnes sollicitées N-1", null=True)
    prev_positive_share = models.FloatField("part de réponses positives N-1", null=True)
    prev_response_rate = models.FloatField("taux de réponse N-1", null=True)

    objects = AnnualResultQuerySet.as_manager()

    class Meta:
        ordering = ["run", "scope_type", "scope_key", "family", "indicator"]
        verbose_name = "résultat annuel"
        verbose_name_plural = "résultats annuels"
        indexes = [
            # The published set is read by run id (`published()`), then by year and scope (reports, API filters):
            # with the year second, a filter on one year skips the other years' published runs in the index.
            models.Index(fields=["run", "year", "scope_type", "scope_key"], name="result_run_year_scope"),
            # The API lists the published rows in this order (newest year first, then scope): read along this index,
            # page 1 stops after a few hundred entries instead of sorting a year's million rows (9 s measured on the
            # national benchmark). The run is in the index so that rows of superseded runs are skipped without
            # reading the table; the remaining keys (family position, indicator code) are sorted per scope.
            models.Index(fields=["-year", "scope_type", "scope_key", "run"], name="result_year_scope_run"),
            models.Index(fields=["run", "unit"], name="result_run_unit"),
        ]

    def __str__(self):
        return f"{self.year} {self.scope_type} {self.scope_key or '—'} {self.family_id or '*'} {self.indicator_id or '*'}"

    @staticmethod
    def _change(current, previous):
        if current is None or previous is None:
            return None
        return current - previous

    @property
    def declared_change(self):
        return self._change(self.declared_value, self.prev_declared_value)

    @property
    def computed_change(self):
        return self._change(self.computed_value, self.prev_computed_value)

    @property
    def actions_change(self):
        return self._change(self.actions_count, self.prev_actions_count)

    @property
    def beneficiaries_change(self):
        return self._change(self.beneficiaries, self.prev_beneficiaries)

    @property
    def declared_change_rate(self):
        """N vs N-1 as a fraction (0.1 = +10 %); none when N-1 is empty or zero."""
        if self.declared_value is None or not self.prev_declared_value:
            return None
        return float((self.declared_value - self.prev_declared_value) / self.prev_declared_value)


class ExportJobQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """The jobs asked under the person's current membership, whatever the role: an export holds the rows of
        its requester's scope, so nobody else reads it, not even the national level (404 to everyone else)."""
        if scope.kind is None or not scope.membership_id:
            return self.none()
        return self.filter(membership_id=scope.membership_id)


def _export_storage():
    from django.core.files.storage import storages

    return storages["exports"]


class ExportJob(models.Model):
    """A large CSV export built by a Celery task (evaluation.exports.jobs) into private storage, downloaded by
    its requester when ready, deleted after EXPORT_RETENTION_DAYS. The filters are the list's query string; the
    scope is rebuilt from `membership` when the task runs, so a job never reads more than its requester may."""

    class Kind(models.TextChoices):
        ACTIONS = "actions", "Actions"
        CONVENTIONS = "conventions", "Conventions"
        COMPANIES = "entreprises", "Entreprises"

    class Status(models.TextChoices):
        PENDING = "pending", "En attente"
        RUNNING = "running", "En cours"
        DONE = "done", "Prêt"
        FAILED = "failed", "Échoué"
        EXPIRED = "expired", "Expiré"

    kind = models.CharField("liste", max_length=20, choices=Kind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs", verbose_name="demandé par"
    )
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+", verbose_name="adhésion")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", verbose_name="organisation")
    query = models.CharField("filtres", max_length=2000, blank=True, help_text="La chaîne de requête de la liste.")
    status = models.CharField("état", max_length=20, choices=Status.choices, default=Status.PENDING)
    message = models.TextField("message", blank=True)
    rows_total = models.PositiveIntegerField("lignes prévues", default=0)
    rows_done = models.PositiveIntegerField("lignes écrites", default=0)
    file = models.FileField("fichier", storage=_export_storage, upload_to="%Y/%m/", blank=True)
    file_size = models.PositiveBigIntegerField("taille (octets)", default=0)
    created_at = models.DateTimeField("demandé le", auto_now_add=True)
    started_at = models.DateTimeField("commencé le", null=True, blank=True)
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)
    expires_at = models.DateTimeField("expire le", null=True, blank=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "export"
        indexes = [
            models.Index(fields=["membership", "-created_at"], name="exportjob_membership_created"),
            models.Index(fields=["status", "expires_at"], name="exportjob_status_expires"),
        ]

    def __str__(self):
        return f"Export {self.get_kind_display().lower()} du {self.created_at:%d/%m/%Y %H:%M}"

    @property
    def is_running(self):
        return self.status in (self.Status.PENDING, self.Status.RUNNING)

    @property
    def progress_percent(self):
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(100 * self.rows_done / self.rows_total)) if self.rows_total else 0
