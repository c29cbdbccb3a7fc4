"""Values computed from the logged actions, shown beside the declared ones so that gaps are visible.

The mapping from an indicator to what an action records, and the aggregate over the actions, are the ones
of the convention pages (`conventions.realised`): the declaration and the convention page must show the
same realised figure. An indicator the mapping does not know (offers made, euros, permanent contracts...)
is never computed: offered figures in particular are not derived from what happened.
"""

from django.db.models import Q

from conventions import realised
from conventions.models import Action, Target


def declaration_actions(declaration):
    """The company's actions that count for this declaration: those implementing its convention and those
    attached to no convention. An action implementing another convention of the company counts there,
    not twice."""
    return Action.objects.filter(companies=declaration.company_id).filter(
        Q(convention_id=declaration.convention_id) | Q(convention__isnull=True)
    )


def computed_values(declaration, commitment_indicators):
    """{(commitment_id, indicator_id): Decimal} for the declaration's company and year, in one aggregate query.

    `commitment_indicators`: [(commitment, [indicator, ...]), ...] as given by
    `evaluation.campaigns.lines.commitment_indicators`. A commitment with an action type counts the actions of that
    type; one made for a whole family counts the actions of every type of the family.
    """
    # realised_by_target reads a target's commitment, indicator and year: unsaved probes, numbered so that
    # its result (keyed by target pk) maps back to the lines, carry exactly that.
    probes = {}
    for commitment, indicators in commitment_indicators:
        for indicator in indicators:
            if realised.measure_for(indicator.code):
                number = len(probes) + 1
                probes[number] = Target(pk=number, commitment=commitment, indicator=indicator, year=declaration.year)
    if not probes:
        return {}
    values = realised.realised_by_target(probes.values(), declaration_actions(declaration))
    return {(probe.commitment.pk, probe.indicator.pk): values[number] for number, probe in probes.items()}
