"""Practice sheets (fiches de bonnes pratiques, issue 15): what a territory did that another could reproduce.

A sheet is written by a club, a company or a préfecture, reviewed by the préfecture of its département or the
national level, and published; companies it names consent before publication. Its figures are never typed: they
are computed from the actions it is linked to. State changes go through `conventions.practices.services`.

The app lives inside `conventions` (it links actions) and imports nothing of `evaluation`.
"""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Q

from charte.catalogue.models import ActionType, Family
from charte.comptes.models import Organisation
from charte.territoires.models import QPV, Departement
from charte.validators import validate_long_text, validate_plausible_year
from conventions.models import Action
from entreprises.models import Company


class PracticeStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    SUBMITTED = "submitted", "En relecture"
    RETURNED = "returned", "Renvoyée"
    PUBLISHED = "published", "Publiée"
    WITHDRAWN = "withdrawn", "Retirée"


class PracticePublic(models.Model):
    """A public a practice reached (élèves de 3e, demandeurs d'emploi...): a small table rather than a JSON list,
    so that the catalogue filters on it the same way on SQLite and PostgreSQL. Filled by migration 0001."""

    code = models.CharField("code", max_length=30, unique=True)
    label = models.CharField("libellé", max_length=120)
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = "public touché"
        verbose_name_plural = "publics touchés"

    def __str__(self):
        return self.label


class PracticeSheetQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=PracticeStatus.PUBLISHED)

    def published_public(self):
        """What an anonymous visitor may read: published sheets whose authors chose "visible sans connexion"."""
        return self.filter(status=PracticeStatus.PUBLISHED, public=True)

    def visible_to(self, scope):
        """Published sheets: every signed-in scope (partners included: a practice is meant to travel). The
        others (draft, submitted, returned, withdrawn): the authoring organisation, its reviewers (the
        préfecture of the sheet's département, the national level) and the companies the sheet names (they
        must read it to consent). Nobody acting for no organisation sees anything here."""
        if scope.is_national:
            return self.all()
        if scope.kind is None:
            return self.none()
        visible = Q(status=PracticeStatus.PUBLISHED)
        if scope.organisation_id:
            visible |= Q(author_organisation_id=scope.organisation_id)
        if scope.is_prefecture:
            visible |= Q(departement_id__in=scope.departement_ids)
        if scope.is_company and scope.company_id:
            named = PracticeCompany.objects.filter(company_id=scope.company_id).values("sheet_id")
            visible |= Q(pk__in=named)
        return self.filter(visible)

    def authored_by(self, scope):
        """The sheets of the organisation a person acts for ("mes fiches")."""
        if scope.kind is None or not scope.organisation_id:
            return self.none()
        return self.filter(author_organisation_id=scope.organisation_id)

    def reviewable_by(self, scope):
        """The sheets a person may review: national, all; préfecture, those of its départements."""
        if scope.is_national:
            return self.all()
        if scope.is_prefecture:
            return self.filter(departement_id__in=scope.departement_ids)
        return self.none()


class PracticeSheet(models.Model):
    Status = PracticeStatus

    title = models.CharField("titre", max_length=200)
    problem = models.TextField("le besoin, le problème", validators=[validate_long_text])
    what_was_done = models.TextField("ce qui a été fait", validators=[validate_long_text])
    actors = models.TextField(
        "les acteurs",
        blank=True,
        validators=[validate_long_text],
        help_text="Clubs, entreprises, associations, partenaires publics : qui a fait quoi.",
    )
    clubs = models.ManyToManyField(
        Organisation,
        blank=True,
        related_name="practice_sheets",
        limit_choices_to={"kind": "club"},
        verbose_name="clubs d'entreprises",
    )
    companies = models.ManyToManyField(
        Company, through="PracticeCompany", blank=True, related_name="practice_sheets", verbose_name="entreprises"
    )
    partners = models.TextField(
        "partenaires", blank=True, validators=[validate_long_text], help_text="Associations, partenaires publics."
    )
    departement = models.ForeignKey(
        Departement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="practice_sheets",
        verbose_name="département",
        help_text="Sa préfecture relit la fiche. Sans département, la relecture revient au niveau national.",
    )
    qpvs = models.ManyToManyField(QPV, blank=True, related_name="practice_sheets", verbose_name="QPV concernés")
    period_start = models.PositiveSmallIntegerField("depuis (année)", validators=[validate_plausible_year])
    period_end = models.PositiveSmallIntegerField(
        "jusqu'à (année)", null=True, blank=True, validators=[validate_plausible_year], help_text="Vide : toujours en cours."
    )
    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="practice_sheets", verbose_name="famille d'actions")
    action_types = models.ManyToManyField(ActionType, blank=True, related_name="practice_sheets", verbose_name="types d'actions")
    publics = models.ManyToManyField(PracticePublic, blank=True, related_name="sheets", verbose_name="publics touchés")
    means = models.TextField("les moyens", blank=True, validators=[validate_long_text])
    results_text = models.TextField("les résultats", blank=True, validators=[validate_long_text])
    actions = models.ManyToManyField(
        Action,
        blank=True,
        related_name="practice_sheets",
        verbose_name="actions liées",
        help_text="Les chiffres de la fiche sont calculés à partir de ces actions.",
    )
    success_factors = models.TextField("ce qui a fait réussir", blank=True, validators=[validate_long_text])
    difficulties = models.TextField("les difficultés", blank=True, validators=[validate_long_text])
    how_to_reproduce = models.TextField("comment la reproduire", blank=True, validators=[validate_long_text])
    contact_name = models.CharField("contact", max_length=200, blank=True)
    contact_email = models.EmailField("adresse du contact", blank=True, help_text="Montrée aux seules personnes connectées.")
    reproduces = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reproductions",
        verbose_name="reproduit la fiche",
    )
    status = models.CharField(
        "statut", max_length=12, choices=PracticeStatus.choices, default=PracticeStatus.DRAFT, editable=False
    )
    review_comment = models.TextField("commentaire de relecture", blank=True, validators=[validate_long_text], editable=False)
    public = models.BooleanField(
        "visible sans connexion",
        default=False,
        help_text="Une fois publiée, la fiche se lit aussi sans compte (sans le contact).",
    )
    author_organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="authored_practice_sheets", verbose_name="organisation autrice"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="créée par"
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("mise à jour le", auto_now=True)
    published_at = models.DateTimeField("publiée le", null=True, blank=True, editable=False)
    is_demo = models.BooleanField("contenu de démonstration", default=False)
    # What the catalogue searches (conventions.practices.search), rewritten by save(): a weighted French tsvector
    # on PostgreSQL (GIN index, migration 0002), the light-stemmed words on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)
    search_text = models.TextField(blank=True, editable=False)

    objects = PracticeSheetQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = "fiche de bonne pratique"
        verbose_name_plural = "fiches de bonnes pratiques"
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__isnull=True) | Q(period_end__gte=F("period_start")),
                name="practice_period_ordered",
                violation_error_message="L'année de fin doit suivre l'année de début.",
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="practice_published_has_date",
                violation_error_message="Une fiche publiée a une date de publication.",
            ),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        update_fields = kwargs.get("update_fields")
        from .search import SEARCHED_FIELDS, index_sheets

        if update_fields is None or set(update_fields) & set(SEARCHED_FIELDS):
            index_sheets(type(self), [self.pk])

    @property
    def is_editable(self):
        return self.status in (PracticeStatus.DRAFT, PracticeStatus.RETURNED)


class PracticeCompany(models.Model):
    """A company named in a sheet, and whether it consents to being named once the sheet is published."""

    class Consent(models.TextChoices):
        PENDING = "pending", "En attente"
        GIVEN = "given", "Donné"
        REFUSED = "refused", "Refusé"

    sheet = models.ForeignKey(PracticeSheet, on_delete=models.CASCADE, related_name="named_companies", verbose_name="fiche")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="practice_namings", verbose_name="entreprise")
    consent = models.CharField("accord", max_length=10, choices=Consent.choices, default=Consent.PENDING)
    consent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="accord donné par",
    )
    consent_at = models.DateTimeField("accord le", null=True, blank=True)
    consent_comment = models.TextField("commentaire de l'entreprise", blank=True, validators=[validate_long_text])

    class Meta:
        ordering = ["company__name", "pk"]
        verbose_name = "entreprise citée"
        verbose_name_plural = "entreprises citées"
        constraints = [
            models.UniqueConstraint(
                fields=["sheet", "company"],
                name="unique_practice_company",
                violation_error_message="Cette entreprise est déjà citée dans la fiche.",
            ),
        ]

    def __str__(self):
        return f"{self.company} ({self.get_consent_display()})"


class PracticeTransition(models.Model):
    """One step of a sheet's workflow (who, for which organisation, when, from which status to which, why):
    the history shown on the sheet. Written only by the services."""

    sheet = models.ForeignKey(PracticeSheet, on_delete=models.CASCADE, related_name="transitions", verbose_name="fiche")
    from_status = models.CharField("de", max_length=12, choices=PracticeStatus.choices, blank=True)
    to_status = models.CharField("vers", max_length=12, choices=PracticeStatus.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="par"
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="pour"
    )
    comment = models.TextField("commentaire", blank=True, validators=[validate_long_text])
    at = models.DateTimeField("le", auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = "étape de la fiche"
        verbose_name_plural = "étapes des fiches"

    def __str__(self):
        return f"{self.get_from_status_display() or '—'} → {self.get_to_status_display()}"


def attachment_path(instance, filename):
    return f"practices/{instance.sheet_id}/{filename}"


class PracticeAttachment(models.Model):
    """A document or an image of a sheet. Type and size are checked on upload (extension and first bytes,
    10 Mo at most); an image carries its text alternative."""

    class Kind(models.TextChoices):
        DOCUMENT = "document", "Document"
        IMAGE = "image", "Image"

    sheet = models.ForeignKey(PracticeSheet, on_delete=models.CASCADE, related_name="attachments", verbose_name="fiche")
    kind = models.CharField("type", max_length=10, choices=Kind.choices, editable=False)
    title = models.CharField("titre", max_length=200)
    alt_text = models.CharField(
        "texte alternatif",
        max_length=300,
        blank=True,
        help_text="Pour une image : ce qu'elle montre, lu par les lecteurs d'écran.",
    )
    file = models.FileField("fichier", upload_to=attachment_path, max_length=300)
    original_name = models.CharField("nom du fichier", max_length=255, editable=False)
    content_type = models.CharField("type de contenu", max_length=100, editable=False)
    size = models.PositiveIntegerField("taille (octets)", default=0, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="déposé par"
    )
    uploaded_at = models.DateTimeField("déposé le", auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = "pièce jointe"
        verbose_name_plural = "pièces jointes"
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="image") | ~Q(alt_text=""),
                name="practice_image_has_alt_text",
                violation_error_message="Une image a un texte alternatif.",
            ),
        ]

    def __str__(self):
        return self.title


class PracticeInterestQuerySet(models.QuerySet):
    def visible_to(self, scope):
        """Who wants to reproduce a sheet is the business of its authors and of the organisation that said so
        (the national level sees all); the other readers of the sheet see a count, not the rows."""
        if scope.is_national:
            return self.all()
        if scope.kind is None or not scope.organisation_id:
            return self.none()
        return self.filter(Q(organisation_id=scope.organisation_id) | Q(sheet__author_organisation_id=scope.organisation_id))


class PracticeInterest(models.Model):
    """ "Je veux reproduire": an organisation tells the authors of a published sheet it wants to do the same.
    Once per organisation and sheet; written by `conventions.practices.interests.record_interest`."""

    sheet = models.ForeignKey(PracticeSheet, on_delete=models.CASCADE, related_name="interests", verbose_name="fiche")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="practice_interests", verbose_name="organisation"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="par"
    )
    message = models.TextField("message aux auteurs", blank=True, validators=[validate_long_text])
    created_at = models.DateTimeField("le", auto_now_add=True)

    objects = PracticeInterestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "intérêt pour une fiche"
        verbose_name_plural = "intérêts pour les fiches"
        constraints = [
            models.UniqueConstraint(
                fields=["sheet", "organisation"],
                name="unique_practice_interest",
                violation_error_message="Votre organisation a déjà dit vouloir reproduire cette fiche.",
            ),
        ]

    def __str__(self):
        return f"{self.organisation} → {self.sheet}"
