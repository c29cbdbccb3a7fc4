"""A company's commitments against what it realised, year by year.

This page belongs to `conventions` rather than to the company pages: it needs targets and actions, and
`entreprises` (a lower app) never imports `conventions`. The company's detail page links here.
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from entreprises.models import Company

from .models import Action, Commitment, Convention, Target
from .realised import measure_for, realised_by_target

# Targets of a draft are still being negotiated: only conventions that went through signature are followed.
FOLLOWED_STATUSES = (
    Convention.Status.SIGNED,
    Convention.Status.ACTIVE,
    Convention.Status.EXPIRED,
    Convention.Status.TERMINATED,
)


@require_GET
def company_commitments(request, company_pk):
    scope = request.scope
    company = get_object_or_404(Company.objects.visible_to(scope), pk=company_pk)
    conventions = list(
        Convention.objects.visible_to(scope)
        .filter(pk__in=company.conventions.values("pk"), status__in=FOLLOWED_STATUSES)
        .order_by("-start_date", "reference")
    )
    commitments = list(
        Commitment.objects.filter(convention__in=[c.pk for c in conventions])
        .select_related("family", "action_type")
        .prefetch_related(
            Prefetch("targets", queryset=Target.objects.select_related("indicator").order_by("year", "indicator__code"))
        )
        .order_by("family__position", "pk")
    )
    # The prefetch sets each target's commitment, so realised_by_target reads it without a query.
    targets = [target for commitment in commitments for target in commitment.targets.all()]
    actions = Action.objects.visible_to(scope).filter(pk__in=company.actions.values("pk"))
    realised = realised_by_target(targets, actions)

    by_convention = {c.pk: {"convention": c, "commitments": []} for c in conventions}
    for commitment in commitments:
        rows = []
        for target in commitment.targets.all():
            value = realised.get(target.pk)
            rows.append(
                {
                    "target": target,
                    "realised": value,
                    "measured": measure_for(target.indicator.code) is not None,
                    "rate": round(value * 100 / target.value) if value is not None and target.value else None,
                }
            )
        by_convention[commitment.convention_id]["commitments"].append({"commitment": commitment, "rows": rows})

    return render(
        request,
        "conventions/company_commitments.html",
        {
            "company": company,
            "groups": list(by_convention.values()),
            "breadcrumb_data": {
                "links": [
                    {"url": reverse("entreprises:list"), "title": "Entreprises"},
                    {"url": reverse("entreprises:detail", args=[company.pk]), "title": company.name},
                ],
                "current": "Engagements et réalisations",
            },
        },
    )
