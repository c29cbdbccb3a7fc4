"""/api/: the v1 endpoints, the OpenAPI schema and its two documentation pages (served from the sidecar
package, no CDN). The version is in the path: a v2 would live beside v1, never replace it silently."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from charte.catalogue.api import ActionTypeViewSet, FamilyViewSet, IndicatorViewSet
from charte.territoires.api import (
    CommuneViewSet,
    DepartementViewSet,
    EPCIViewSet,
    QPVCorrespondenceViewSet,
    QPVViewSet,
    RegionViewSet,
)
from conventions.api import ActionViewSet, ConventionViewSet
from entreprises.api import CompanyViewSet
from evaluation.api import AnnualResultViewSet, CampaignViewSet, DeclarationViewSet

from .exceptions import error_body


class Router(DefaultRouter):
    include_root_view = False
    # One address per resource, with its trailing slash (as the rest of the site).
    include_format_suffixes = False


router = Router()
router.register("regions", RegionViewSet, basename="region")
router.register("departements", DepartementViewSet, basename="departement")
router.register("epci", EPCIViewSet, basename="epci")
router.register("communes", CommuneViewSet, basename="commune")
router.register("qpv", QPVViewSet, basename="qpv")
router.register("qpv-correspondances", QPVCorrespondenceViewSet, basename="qpv-correspondance")
router.register("familles", FamilyViewSet, basename="famille")
router.register("types-action", ActionTypeViewSet, basename="type-action")
router.register("indicateurs", IndicatorViewSet, basename="indicateur")
router.register("entreprises", CompanyViewSet, basename="entreprise")
router.register("conventions", ConventionViewSet, basename="convention")
router.register("actions", ActionViewSet, basename="action")
router.register("campagnes", CampaignViewSet, basename="campagne")
router.register("declarations", DeclarationViewSet, basename="declaration")
router.register("resultats", AnnualResultViewSet, basename="resultat")


@csrf_exempt  # a PUT to an unknown address is a 404 in JSON, not the CSRF middleware's HTML 403
@login_not_required
def not_found(request, *args, **kwargs):
    """Any other address under /api/v1/: the API's JSON 404, not the portal's HTML page."""
    body = error_body("introuvable", "Aucune ressource à cette adresse de l'API.")
    return JsonResponse(body, status=404, json_dumps_params={"ensure_ascii": False})


app_name = "api"

urlpatterns = [
    path("v1/", include(router.urls)),
    re_path(r"^v1/", not_found),
    path("schema/", login_not_required(SpectacularAPIView.as_view(api_version="v1")), name="schema"),
    path("docs/", login_not_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs"),
    path("redoc/", login_not_required(SpectacularRedocView.as_view(url_name="api:schema")), name="redoc"),
]
