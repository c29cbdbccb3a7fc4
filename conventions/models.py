"""Conventions (national, local, collective, departmental framework), their signatories and documents,
the commitments they carry with targets per indicator and year, and the actions carried out.

State changes of a convention go through `conventions.services`, never through a bare `status = ...`.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from charte.catalogue.models import ActionType, Family, Indicator
from charte.comptes.models import Membership, Organisation, OrganisationKind
from charte.territoires.models import QPV, Departement
from charte.validators import validate_long_text, validate_plausible_date
from entreprises.models import Company, Establishment

# A declination grants its préfecture the view of its national parent only once concluded.
_CONCLUDED = ("signed", "active", "expired", "terminated")


def _national_conventions_of_prefecture(departement_ids):
    """The national conventions a préfecture sees, as a subquery of ids. The rule is one a préfecture cannot
    satisfy by writing something itself (issue 10: a draft declination opened its parent):

    - a company party to the national convention has its registered office or an establishment in one of
      the préfecture's départements (where a company is located is data on the company, not on a
      convention the préfecture writes); or
    - a declination of it in one of the préfecture's départements is concluded (signed, active, expired or
      terminated) and was created by the national level: a user with an active national membership, or no
      user at all (imports and demo data).

    A child convention written by the préfecture (or a club), draft or not, never grants the view of its
    parent; the convention form only offers as parents the national conventions already visible.
    """
    located = Company.objects.filter(
        Q(commune__departement_id__in=departement_ids)
        | Q(pk__in=Establishment.objects.filter(commune__departement_id__in=departement_ids).values("company_id"))
    ).values("pk")
    parties = Convention.companies.through.objects.filter(convention__kind="national", company_id__in=located).values(
        "convention_id"
    )
    national_users = Membership.objects.filter(is_active=True, organisation__kind=OrganisationKind.NATIONAL).values("user_id")
    declined = (
        Convention.objects.filter(departement_id__in=departement_ids, parent__isnull=False, status__in=_CONCLUDED)
        .filter(Q(created_by__isnull=True) | Q(created_by__in=national_users))
        .values("parent_id")
    )
    return Convention.objects.filter(kind="national").filter(Q(pk__in=parties) | Q(pk__in=declined)).values("pk")


class ConventionQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=Convention.Status.ACTIVE)

    def running_during(self, year):
        """Conventions whose dates overlap the calendar year."""
        return self.filter(start_date__year__lte=year, end_date__year__gte=year)

    def in_departements(self, departements):
        return self.filter(departement__in=departements)

    def visible_to(self, scope):
        """National: all. Préfecture: the conventions of its départements and the national conventions it may
        see (`_national_conventions_of_prefecture`). Club: those it animates. Company: those it is party to.
        Partner: none."""
        if scope.is_national:
            return self.all()
        if scope.is_prefecture:
            dep = scope.departement_ids
            return self.filter(Q(departement_id__in=dep) | Q(pk__in=_national_conventions_of_prefecture(dep)))
        if scope.is_club:
            return self.filter(club_id=scope.organisation_id)
        if scope.is_company and scope.company_id:
            parties = Convention.companies.through.objects.filter(company_id=scope.company_id)
            return self.filter(pk__in=parties.values("convention_id"))
        return self.none()

    def expected_to_report(self, year, departement_ids=None):
        """Conventions expected to report for year N: the rule of docs/methodologie.md §3, shared by the campaigns
        (which declarations they create) and the evaluation engine (which declarations, targets and companies it
        counts, as a subquery of this queryset).

        A convention is expected when all of these hold:

        1. it has at least one company and is not a departmental framework charter (its commitments live in the
           local conventions hanging from it);
        2. its dates overlap year N (start year <= N <= end year);
        3. it really ran during N: active or expired, or terminated on or after 1 January N. A terminated
           convention without a known termination date (`status_changed_at` empty) is never expected: nothing
           says it ran. Drafts, conventions under negotiation and signed ones not yet in force did not run;
        4. a campaign of year N covers it: the campaigns live in the evaluation app, which adds this condition
           (`Campaign.objects.expected_conventions(year)`). Here, `departement_ids` restricts the conventions to
           those départements (one préfecture campaign's coverage); empty or None: every convention, national
           ones included (a national campaign's coverage).
        """
        start_of_year = timezone.make_aware(datetime.datetime(year, 1, 1))
        Status = Convention.Status
        qs = (
            self.exclude(kind=Convention.Kind.FRAMEWORK)
            .running_during(year)
            .filter(
                Q(status__in=[Status.ACTIVE, Status.EXPIRED]) | Q(status=Status.TERMINATED, status_changed_at__gte=start_of_year)
            )
            .filter(models.Exists(Convention.companies.through.objects.filter(convention_id=models.OuterRef("pk"))))
        )
        if departement_ids:
            qs = qs.filter(departement_id__in=departement_ids)
        return qs


class Convention(models.Model):
    class Kind(models.TextChoices):
        NATIONAL = "national", "Nationale (ANCT × groupe)"
        LOCAL = "local", "Locale (préfecture × entreprise)"
        COLLECTIVE = "collective", "Collective (plusieurs entreprises)"
        FRAMEWORK = "framework", "Charte-cadre départementale"

    class Status(models.TextChoices):
        DRAFT = "draft", "Brouillon"
        NEGOTIATION = "negotiation", "En négociation"
        SIGNED = "signed", "Signée"
        ACTIVE = "active", "En vigueur"
        EXPIRED = "expired", "Échue"
        TERMINATED = "terminated", "Résiliée"

    class Generation(models.IntegerChoices):
        FIRST = 1, "1re génération (auto-évaluation)"
        SECOND = 2, "2e génération (objectifs co-construits)"

    reference = models.CharField("référence", max_length=40, unique=True)
    title = models.CharField("intitulé", max_length=250)
    kind = models.CharField("type", max_length=12, choices=Kind.choices)
    status = models.CharField("statut", max_length=12, choices=Status.choices, default=Status.DRAFT, editable=False)
    generation = models.PositiveSmallIntegerField("génération", choices=Generation.choices, default=Generation.FIRST)
    companies = models.ManyToManyField(Company, blank=True, related_name="conventions", verbose_name="entreprises")
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="declinations",
        limit_choices_to={"kind": "national"},
        verbose_name="convention nationale déclinée",
    )
    framework = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="framed_conventions",
        limit_choices_to={"kind": "framework"},
        verbose_name="charte-cadre départementale",
    )
    predecessor = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="successor",
        verbose_name="convention renouvelée",
    )
    start_date = models.DateField("date de début", validators=[validate_plausible_date])
    end_date = models.DateField("date de fin", validators=[validate_plausible_date])
    departement = models.ForeignKey(
        Departement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="conventions",
        verbose_name="département",
    )
    club = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="animated_conventions",
        limit_choices_to={"kind": "club"},
        verbose_name="club animateur",
    )
    termination_reason = models.TextField("motif de résiliation", blank=True, validators=[validate_long_text])
    status_changed_at = models.DateTimeField("changement de statut le", null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="créée par"
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("mise à jour le", auto_now=True)
    # Bumped by every save of the edit page: a save from a page showing an older version is refused
    # (charte.concurrency). Who saved last is in the history.
    version = models.PositiveIntegerField("version", default=1, editable=False)

    objects = ConventionQuerySet.as_manager()
    # Who changed what and when (issue 4). The history tables live in the evaluation app, so that this app's
    # tables and migrations (and its SQLite triggers, migration 0002) are left untouched.
    history = HistoricalRecords(app="evaluation", excluded_fields=["updated_at", "version"])

    class Meta:
        ordering = ["-start_date", "reference"]
        verbose_name = "convention"
        indexes = [
            # The list's order (ordering above): a page is read along the index and only its 25 rows are joined
            # to their parent, framework, département and club; without it the 30,000 national conventions were
            # joined then sorted on every page (69 ms -> 0.4 ms in EXPLAIN ANALYZE on the national benchmark).
            models.Index(fields=["-start_date", "reference"], name="convention_start_ref_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")),
                name="convention_dates_ordered",
                violation_error_message="La date de fin doit être postérieure à la date de début.",
            ),
            models.CheckConstraint(
                condition=Q(kind="national") | Q(departement__isnull=False),
                name="convention_local_has_departement",
                violation_error_message="Une convention non nationale est rattachée à un département.",
            ),
            models.CheckConstraint(
                condition=~Q(status="terminated") | ~Q(termination_reason=""),
                name="convention_termination_has_reason",
                violation_error_message="Une résiliation doit être motivée.",
            ),
        ]

    def __str__(self):
        return f"{self.reference} — {self.title}"

    @property
    def years(self):
        return range(self.start_date.year, self.end_date.year + 1)

    def clean(self):
        super().clean()
        if self.parent_id and self.parent_id == self.pk:
            raise ValidationError({"parent": "Une convention ne peut pas décliner elle-même."})
        if self.predecessor_id and self.predecessor_id == self.pk:
            raise ValidationError({"predecessor": "Une convention ne peut pas se renouveler elle-même."})


class Signatory(models.Model):
    class Role(models.TextChoices):
        PREFET = "prefet", "Préfet"
        SOUS_PREFET = "sous_prefet", "Sous-préfet"
        COMPANY_DIRECTOR = "company_director", "Dirigeant de l'entreprise"
        CLUB_PRESIDENT = "club_president", "Président du club"
        COLLECTIVITE = "collectivite", "Élu ou représentant de la collectivité"
        ANCT = "anct", "ANCT / ministère"
        OTHER = "other", "Autre"

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="signatories", verbose_name="convention")
    role = models.CharField("qualité", max_length=20, choices=Role.choices)
    name = models.CharField("nom", max_length=200)
    organisation_name = models.CharField("organisation", max_length=200)
    signed_on = models.DateField("signé le", null=True, blank=True, validators=[validate_plausible_date])

    class Meta:
        ordering = ["pk"]
        verbose_name = "signataire"

    def __str__(self):
        return f"{self.name} ({self.get_role_display()})"


def convention_document_path(instance, filename):
    return f"conventions/{instance.convention_id}/{filename}"


class ConventionDocument(models.Model):
    class Kind(models.TextChoices):
        SIGNED = "signed", "Convention signée"
        ANNEX = "annex", "Annexe"
        OTHER = "other", "Autre document"

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="documents", verbose_name="convention")
    kind = models.CharField("type", max_length=10, choices=Kind.choices, default=Kind.SIGNED)
    title = models.CharField("titre", max_length=200)
    file = models.FileField("fichier", upload_to=convention_document_path)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="déposé par"
    )
    uploaded_at = models.DateTimeField("déposé le", auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = "document de convention"
        verbose_name_plural = "documents de convention"

    def __str__(self):
        return self.title


class Commitment(models.Model):
    """What a company commits to in a convention, for a family and optionally one action type."""

    convention = models.ForeignKey(Convention, on_delete=models.CASCADE, related_name="commitments", verbose_name="convention")
    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="commitments", verbose_name="famille")
    action_type = models.ForeignKey(
        ActionType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="commitments",
        verbose_name="type d'action",
    )
    description = models.TextField("engagement", blank=True, validators=[validate_long_text])

    history = HistoricalRecords(app="evaluation")

    class Meta:
        ordering = ["family__position", "pk"]
        verbose_name = "engagement"

    def __str__(self):
        return f"{self.action_type or self.family}"

    def clean(self):
        super().clean()
        if self.action_type_id and self.family_id and self.action_type.family_id != self.family_id:
            raise ValidationError({"action_type": "Ce type d'action n'appartient pas à la famille choisie."})


class Target(models.Model):
    """A target for one indicator and one year of the convention ("10 stagiaires de 3e en 2017").

    The year must fall inside the convention's dates: checked by `clean()` and, so that no path around
    the forms can break it, by database triggers (migration conventions.0002).
    """

    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="targets", verbose_name="engagement")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="targets", verbose_name="indicateur")
    year = models.PositiveSmallIntegerField("année")
    value = models.DecimalField("objectif", max_digits=14, decimal_places=2)

    history = HistoricalRecords(app="evaluation")

    class Meta:
        ordering = ["year", "indicator__code"]
        verbose_name = "objectif"
        constraints = [
            models.UniqueConstraint(
                fields=["commitment", "indicator", "year"],
                name="unique_target_per_indicator_year",
                violation_error_message="Un objectif existe déjà pour cet indicateur et cette année.",
            ),
            models.CheckConstraint(
                condition=Q(value__gte=0),
                name="target_value_positive",
                violation_error_message="Un objectif ne peut pas être négatif.",
            ),
        ]

    def __str__(self):
        return f"{self.indicator.code} {self.year} : {self.value}"

    def clean(self):
        super().clean()
        if self.indicator_id and not self.indicator.is_declarable:
            raise ValidationError({"indicator": "Un indicateur calculé (ratio) ne porte pas d'objectif."})
        if self.commitment_id and self.year:
            convention = self.commitment.convention
            if not convention.start_date.year <= self.year <= convention.end_date.year:
                raise ValidationError(
                    {
                        "year": f"L'année {self.year} est hors de la période de la convention "
                        f"({convention.start_date.year}-{convention.end_date.year})."
                    }
                )


class ActionQuerySet(models.QuerySet):
    def in_year(self, year):
        return self.filter(start_date__year=year)

    def in_departements(self, departements):
        return self.filter(departement__in=departements)

    def visible_to(self, scope):
        """National: all. Préfecture: the actions of its départements. Club: those it logged. Company: those it
        took part in. Partner: none."""
        if scope.is_national:
            return self.all()
        if scope.is_prefecture:
            return self.filter(departement_id__in=scope.departement_ids)
        if scope.is_club:
            return self.filter(club_id=scope.organisation_id)
        if scope.is_company and scope.company_id:
            taken_part = Action.companies.through.objects.filter(company_id=scope.company_id)
            return self.filter(pk__in=taken_part.values("action_id"))
        return self.none()


class Action(models.Model):
    """Something carried out for the residents of the quartiers. Counts only: no personal data."""

    action_type = models.ForeignKey(ActionType, on_delete=models.PROTECT, related_name="actions", verbose_name="type d'action")
    title = models.CharField("intitulé", max_length=250)
    description = models.TextField("description", blank=True, validators=[validate_long_text])
    start_date = models.DateField("date de début", validators=[validate_plausible_date])
    end_date = models.DateField("date de fin", null=True, blank=True, validators=[validate_plausible_date])
    companies = models.ManyToManyField(Company, related_name="actions", verbose_name="entreprises")
    convention = models.ForeignKey(
        Convention,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="actions",
        verbose_name="convention mise en œuvre",
    )
    departement = models.ForeignKey(Departement, on_delete=models.PROTECT, related_name="actions", verbose_name="département")
    club = models.ForeignKey(
        Organisation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="actions",
        limit_choices_to={"kind": "club"},
        verbose_name="club",
    )
    qpvs = models.ManyToManyField(QPV, blank=True, related_name="actions", verbose_name="QPV concernés")
    beneficiaries_total = models.PositiveIntegerField("bénéficiaires", default=0)
    beneficiaries_women = models.PositiveIntegerField("dont femmes", default=0)
    beneficiaries_under_26 = models.PositiveIntegerField("dont moins de 26 ans", default=0)
    beneficiaries_qpv = models.PositiveIntegerField("dont résidents des QPV", default=0)
    employees_involved = models.PositiveIntegerField("salariés mobilisés", default=0)
    hours = models.DecimalField("heures", max_digits=10, decimal_places=1, default=0)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="logged_actions",
        verbose_name="saisie par",
    )
    created_at = models.DateTimeField("saisie le", auto_now_add=True)
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
    # Bumped by every save of the form or the API: a stale save is refused (charte.concurrency).
    version = models.PositiveIntegerField("version", default=1, editable=False)

    objects = ActionQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "-pk"]
        verbose_name = "action"
        indexes = [
            models.Index(fields=["departement", "start_date"], name="action_dep_date_idx"),
            # The list's order (Meta.ordering): a page is read from the index instead of sorting every visible
            # row (2 M national actions: a 250 MB sort spilled to disk on page 200, issue 17).
            models.Index(fields=["-start_date", "-id"], name="action_date_pk_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="action_dates_ordered",
                violation_error_message="La date de fin doit suivre la date de début.",
            ),
            models.CheckConstraint(
                condition=Q(beneficiaries_women__lte=F("beneficiaries_total"))
                & Q(beneficiaries_under_26__lte=F("beneficiaries_total"))
                & Q(beneficiaries_qpv__lte=F("beneficiaries_total")),
                name="action_sub_counts_within_total",
                violation_error_message="Les bénéficiaires femmes, de moins de 26 ans ou résidents des QPV "
                "ne peuvent dépasser le nombre total de bénéficiaires.",
            ),
            models.CheckConstraint(
                condition=Q(hours__gte=0),
                name="action_hours_positive",
                violation_error_message="Le nombre d'heures ne peut pas être négatif.",
            ),
        ]

    def __str__(self):
        return self.title


class ActionPartner(models.Model):
    class Kind(models.TextChoices):
        COLLEGE = "college", "Collège"
        LYCEE = "lycee", "Lycée"
        MISSION_LOCALE = "mission_locale", "Mission locale"
        E2C = "e2c", "École de la deuxième chance"
        FRANCE_TRAVAIL = "france_travail", "France Travail"
        ASSOCIATION = "association", "Association"
        COLLECTIVITE = "collectivite", "Collectivité"
        OTHER = "other", "Autre"

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="partners", verbose_name="action")
    kind = models.CharField("type de structure", max_length=20, choices=Kind.choices)
    name = models.CharField("nom de la structure", max_length=200)

    class Meta:
        ordering = ["pk"]
        verbose_name = "structure partenaire"
        verbose_name_plural = "structures partenaires"

    def __str__(self):
        return f"{self.name} ({self.get_kind_display()})"


class ImportBatchQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """National: all. Others: the batches of the organisation they act for (who imported what stays
        readable by colleagues, as the actions themselves are). No organisation: none."""
        if scope.is_national:
            return self.all()
        if scope.kind and scope.organisation_id:
            return self.filter(organisation_id=scope.organisation_id)
        return self.none()


class ImportBatch(models.Model):
    """One uploaded spreadsheet, kept server-side between the preview and the confirmation
    (conventions.imports): who, when, what kind, the file, where it stands, the counts and the errors."""

    class Kind(models.TextChoices):
        ACTIONS = "actions", "Actions"
        COMPANIES = "companies", "Entreprises"
        DECLARED_VALUES = "declared_values", "Valeurs déclarées"

    class Status(models.TextChoices):
        PENDING = "pending", "Analyse en attente"
        ANALYSING = "analysing", "Analyse en cours"
        READY = "ready", "Prêt à importer"
        REJECTED = "rejected", "Fichier refusé"
        IMPORTING = "importing", "Import en cours"
        DONE = "done", "Importé"
        FAILED = "failed", "Import refusé"

    kind = models.CharField("type de données", max_length=20, choices=Kind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_batches", verbose_name="importé par"
    )
    # The membership the person acted under: the background task rebuilds the same scope from it.
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+", verbose_name="adhésion")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="import_batches", verbose_name="organisation"
    )
    file = models.FileField("fichier", upload_to="imports/%Y/%m/")
    original_name = models.CharField("nom du fichier", max_length=255)
    status = models.CharField("état", max_length=20, choices=Status.choices, default=Status.PENDING)
    message = models.TextField("message", blank=True)
    rows_total = models.PositiveIntegerField("lignes", default=0)
    rows_done = models.PositiveIntegerField("lignes analysées", default=0)
    created_count = models.PositiveIntegerField("créées", default=0)
    updated_count = models.PositiveIntegerField("modifiées", default=0)
    unchanged_count = models.PositiveIntegerField("inchangées", default=0)
    rejected_count = models.PositiveIntegerField("refusées", default=0)
    # [{"row": 3, "column": "SIREN", "value": "123", "message": "..."}]: every error of the file, in French.
    errors = models.JSONField("erreurs", default=list, blank=True)
    # [{"row": 2, "operation": "create|update|unchanged|error", "action_id": 5, "label": "..."}]: the importer's
    # `preview_row` (companies: "company_id" instead of "action_id").
    preview = models.JSONField("aperçu", default=list, blank=True)
    created_at = models.DateTimeField("déposé le", auto_now_add=True)
    analysed_at = models.DateTimeField("analysé le", null=True, blank=True)
    imported_at = models.DateTimeField("importé le", null=True, blank=True)

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "import de fichier"
        verbose_name_plural = "imports de fichiers"

    def __str__(self):
        return f"{self.get_kind_display()} — {self.original_name}"

    @property
    def is_running(self):
        return self.status in (self.Status.PENDING, self.Status.ANALYSING, self.Status.IMPORTING)

    @property
    def progress_percent(self):
        return int(100 * self.rows_done / self.rows_total) if self.rows_total else 0
