"""The lines of a declaration: for each commitment of the convention, the indicators to declare, with the
target of year N, the value declared for N-1, the value being declared and the value computed from the
logged actions. Built in a fixed number of queries whatever the number of commitments.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch

from charte.catalogue.models import Indicator
from conventions.models import Commitment, Target

from ..models import DeclarationValue
from .computed import computed_values


def commitment_indicators(convention):
    """[(commitment, [indicator, ...])]: the declarable (summed) indicators of each commitment.

    A commitment's indicators are those of its targets (any year: a target names what the company
    committed to measure) followed by the indicators its action type suggests. Ratios are computed from
    two sums, never declared.
    """
    return commitment_indicators_of([convention.pk]).get(convention.pk, [])


def commitment_indicators_of(convention_ids):
    """{convention_id: [(commitment, [indicator, ...])]} for many conventions in three queries (the export and
    the import of declared values read the lines of every declaration of a file at once)."""
    commitments = (
        Commitment.objects.filter(convention_id__in=convention_ids)
        .select_related("family", "action_type")
        .prefetch_related(
            Prefetch("targets", queryset=Target.objects.select_related("indicator").order_by("indicator__code", "year")),
            Prefetch(
                "action_type__indicators",
                queryset=Indicator.objects.filter(is_active=True, aggregation=Indicator.Aggregation.SUM).order_by("code"),
            ),
        )
    )
    result = {}
    for commitment in commitments:
        indicators = {}
        for target in commitment.targets.all():
            if target.indicator.is_declarable:
                indicators.setdefault(target.indicator.pk, target.indicator)
        if commitment.action_type_id:
            for indicator in commitment.action_type.indicators.all():
                indicators.setdefault(indicator.pk, indicator)
        result.setdefault(commitment.convention_id, []).append((commitment, list(indicators.values())))
    return result


@dataclass
class Line:
    commitment: object
    indicator: object
    target: Decimal | None
    previous_value: Decimal | None
    value: Decimal | None
    comment: str
    computed: Decimal | None

    @property
    def key(self):
        return (self.commitment.pk, self.indicator.pk)

    @property
    def is_offered(self):
        """The page labels the field « valeur offerte » or « valeur réalisée » from the indicator's nature."""
        return self.indicator.nature == Indicator.Nature.OFFERED


def declaration_lines(declaration):
    pairs = commitment_indicators(declaration.convention)
    values = {(v.commitment_id, v.indicator_id): v for v in declaration.values.all()}
    previous = {
        (v.commitment_id, v.indicator_id): v.value
        for v in DeclarationValue.objects.filter(
            declaration__convention_id=declaration.convention_id,
            declaration__company_id=declaration.company_id,
            declaration__year=declaration.year - 1,
        )
    }
    computed = computed_values(declaration, pairs)
    lines = []
    for commitment, indicators in pairs:
        targets = {t.indicator_id: t.value for t in commitment.targets.all() if t.year == declaration.year}
        for indicator in indicators:
            key = (commitment.pk, indicator.pk)
            declared = values.get(key)
            lines.append(
                Line(
                    commitment=commitment,
                    indicator=indicator,
                    target=targets.get(indicator.pk),
                    previous_value=previous.get(key),
                    value=declared.value if declared else None,
                    comment=declared.comment if declared else "",
                    computed=computed.get(key),
                )
            )
    return lines
