"""The « Enquête auprès des participants » block of an action's page. A template tag, so that the actions app
(lower in the layering) imports nothing of the surveys: the block reads `Survey.objects.visible_to(scope)`."""

from django import template
from django.db.models import Count

from ..models import Survey
from ..permissions import can_manage_surveys

register = template.Library()


@register.inclusion_tag("surveys/includes/action_block.html", takes_context=True)
def action_surveys(context, action):
    scope = context["request"].scope
    surveys = (
        Survey.objects.visible_to(scope)
        .filter(action=action)
        .select_related("questionnaire")
        .annotate(response_count=Count("responses"))
        .order_by("questionnaire__title", "wave_months")
    )
    shown = scope.is_national or scope.is_prefecture or scope.is_club
    return {
        "action": action,
        "surveys": list(surveys) if shown else [],
        "shown": shown,
        "can_manage": can_manage_surveys(scope, action),
    }
