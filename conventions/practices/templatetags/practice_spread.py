"""`{% practice_spread sheet %}`: the spread of a sheet on its page (where it is reproduced, who wants to
reproduce it) and the "je veux reproduire" form, so that the sheet's page needs no more than this line."""

from django import template

from ..catalogue import InterestForm
from ..interests import spread

register = template.Library()


@register.inclusion_tag("practices/_spread.html", takes_context=True)
def practice_spread(context, sheet):
    request = context["request"]
    return {"sheet": sheet, "form": InterestForm(), "request": request, **spread(request.scope, sheet)}
