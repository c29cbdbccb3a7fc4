"""The catalogue: action families (editable, so a territory can relabel them), action types, and the
indicators they suggest.

Indicators live here rather than in `evaluation` because convention targets (in `conventions`, a lower
app) are set per indicator, and a lower app never imports a higher one.
"""

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Family(models.Model):
    code = models.CharField("code", max_length=10, unique=True)
    label = models.CharField("libellé", max_length=200)
    short_label = models.CharField("libellé court", max_length=60)
    position = models.PositiveSmallIntegerField("ordre", default=0)
    is_active = models.BooleanField("active", default=True)

    # Who changed what, when: the catalogue is edited in the portal by the national level (issue 11).
    history = HistoricalRecords(app="evaluation")

    class Meta:
        ordering = ["position", "code"]
        verbose_name = "famille d'actions"
        verbose_name_plural = "familles d'actions"

    def __str__(self):
        return self.label


class PaqteAxis(models.TextChoices):
    """The four axes of the PaQte (2018), onto which action types map one by one."""

    SENSIBILISER = "sensibiliser", "Sensibiliser"
    FORMER = "former", "Former"
    RECRUTER = "recruter", "Recruter"
    ACHETER = "acheter", "Acheter"


class Indicator(models.Model):
    class Type(models.TextChoices):
        MOYENS = "moyens", "Moyens"
        RESULTATS = "resultats", "Résultats"
        IMPACT = "impact", "Impact"

    class Nature(models.TextChoices):
        OFFERED = "offered", "Offert"
        REALISED = "realised", "Réalisé"

    class Aggregation(models.TextChoices):
        SUM = "sum", "Somme"
        RATIO = "ratio", "Ratio de deux sommes"
        # Compiled from the answers to the 360° surveys (methodology §14), never declared nor targeted.
        SURVEY = "survey", "Réponses aux enquêtes"

    code = models.CharField("code", max_length=50, unique=True)
    label = models.CharField("libellé", max_length=200)
    unit = models.CharField("unité", max_length=30)
    type = models.CharField("type", max_length=10, choices=Type.choices)
    nature = models.CharField("nature", max_length=10, choices=Nature.choices)
    aggregation = models.CharField("agrégation", max_length=10, choices=Aggregation.choices, default=Aggregation.SUM)
    # For a ratio: computed as sum(numerator) / sum(denominator), never declared by a company.
    numerator = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="numérateur"
    )
    denominator = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="dénominateur"
    )
    # For a survey indicator: the `indicator` its questions carry (evaluation.surveys.models.ImpactIndicator).
    survey_indicator = models.CharField("indicateur d'enquête", max_length=30, blank=True)
    is_active = models.BooleanField("actif", default=True)

    history = HistoricalRecords(app="evaluation")

    class Meta:
        ordering = ["code"]
        verbose_name = "indicateur"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(aggregation="ratio", numerator__isnull=False, denominator__isnull=False)
                    | Q(aggregation__in=["sum", "survey"], numerator__isnull=True, denominator__isnull=True)
                ),
                name="indicator_ratio_has_terms",
                violation_error_message="Un indicateur ratio a un numérateur et un dénominateur ; une somme n'en a pas.",
            ),
            models.CheckConstraint(
                condition=Q(aggregation="survey", survey_indicator__gt="") | (~Q(aggregation="survey") & Q(survey_indicator="")),
                name="indicator_survey_has_question_indicator",
                violation_error_message="Un indicateur d'enquête dit quelles questions l'alimentent ; les autres non.",
            ),
        ]

    def __str__(self):
        return f"{self.label} ({self.unit})"

    @property
    def is_declarable(self):
        """Ratios are computed from two sums and survey indicators from answers, never typed in by a company."""
        return self.aggregation == self.Aggregation.SUM


class ActionType(models.Model):
    code = models.CharField("code", max_length=50, unique=True)
    label = models.CharField("libellé", max_length=200)
    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="action_types", verbose_name="famille")
    paqte_axis = models.CharField("axe PaQte", max_length=20, choices=PaqteAxis.choices, blank=True)
    indicators = models.ManyToManyField(Indicator, blank=True, related_name="action_types", verbose_name="indicateurs suggérés")
    is_active = models.BooleanField("actif", default=True)

    history = HistoricalRecords(app="evaluation", m2m_fields=[indicators])

    class Meta:
        ordering = ["family__position", "label"]
        verbose_name = "type d'action"
        verbose_name_plural = "types d'actions"

    def __str__(self):
        return self.label
