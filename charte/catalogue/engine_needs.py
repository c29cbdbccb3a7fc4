"""What the evaluation engine needs of an indicator, so that the catalogue pages never take it away.

The engine lives in higher apps (`conventions.realised` measures indicators from logged actions,
`evaluation.engine.compile` loads the catalogue: `Catalogue.load`), which this low app never imports. They
declare the indicator codes they rely on here, when Django starts (their `AppConfig.ready`): an explicit
registry, read by the catalogue's forms.

An indicator is *locked* (its code, nature, aggregation and ratio terms read-only) when:
- a higher app declared its code (measured from actions, generic indicators of every family);
- it is a ratio: the engine computes every ratio from its two terms (`Catalogue.load`, `Ratio`);
- it is the numerator or denominator of a ratio;
- conventions set targets on it, or companies declared values for it (the compiled years read them again).
"""

from django.db.models import Q

_SOURCES = {}  # reason (French) -> frozenset of indicator codes

LOCKED_FIELDS = ("code", "nature", "aggregation", "numerator", "denominator")


def register(reason, codes):
    """Called by a higher app's `ready()`: these codes are read by the engine, for the given (French) reason."""
    _SOURCES[reason] = frozenset(codes)


def registered_codes():
    return frozenset().union(*_SOURCES.values()) if _SOURCES else frozenset()


def lock_reasons(indicator):
    """Why the engine needs this indicator as it is (French sentences), or [] when it may change freely."""
    if indicator is None or indicator.pk is None:
        return []
    reasons = [reason for reason, codes in _SOURCES.items() if indicator.code in codes]
    if indicator.aggregation == indicator.Aggregation.RATIO:
        reasons.append("le moteur calcule ce ratio à partir de son numérateur et de son dénominateur")
    model = type(indicator)
    if model.objects.filter(Q(numerator=indicator) | Q(denominator=indicator)).exists():
        reasons.append("il est le numérateur ou le dénominateur d'un ratio")
    # Reverse relations declared by higher apps (conventions.Target, evaluation.DeclarationValue): reached
    # through the instance, never imported.
    if getattr(indicator, "targets", None) is not None and indicator.targets.exists():
        reasons.append("des conventions lui fixent des objectifs")
    if getattr(indicator, "declared_values", None) is not None and indicator.declared_values.exists():
        reasons.append("des entreprises ont déclaré des valeurs pour lui")
    return reasons
