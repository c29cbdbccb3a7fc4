from django.contrib import admin
from django.urls import include, path

from charte import legal, views
from charte.ops.health import HealthView
from charte.ops.metrics import metrics_view
from evaluation.reports import methodology

admin.site.site_header = "Charte Entreprises et Quartiers — administration"
admin.site.site_title = "Charte Entreprises et Quartiers"
admin.site.index_title = "Administration du portail"

urlpatterns = [
    path("", views.home, name="home"),
    path("tableau-de-bord/", views.dashboard, name="dashboard"),
    path("compte/notifications/", include("evaluation.campaigns.inbox")),
    path("compte/", include("charte.comptes.urls")),
    path("entreprises/importer/", include("conventions.imports.company_urls")),
    path("entreprises/", include("entreprises.urls")),
    path("conventions/", include("conventions.urls")),
    path("actions/", include("conventions.action_urls")),
    path("bonnes-pratiques/", include("conventions.practices.urls")),
    path("territoires/", include("charte.territoires.urls")),
    path("catalogue/", include("charte.catalogue.urls")),
    path("campagnes/", include("evaluation.campaigns.urls")),
    path("rapports/", include("evaluation.reports.urls")),
    path("enquetes/", include("evaluation.surveys.urls")),
    # Public: the answer pages of the surveys (no account).
    path("enquete/", include("evaluation.surveys.public_urls")),
    path("exports/", include("evaluation.exports.urls")),
    path("methodologie/", methodology.page, name="methodologie"),
    path("accessibilite/", legal.accessibility, name="accessibilite"),
    path("mentions-legales/", legal.legal_notice, name="mentions_legales"),
    path("donnees-personnelles/", legal.personal_data, name="donnees_personnelles"),
    path("plan-du-site/", legal.sitemap, name="plan_du_site"),
    path("api/", include("charte.api.urls")),
    path("admin/", admin.site.urls),
    # Operations: public health probe (names each part, reveals nothing else) and Prometheus metrics (off by default).
    path("sante/", HealthView.as_view(), name="sante"),
    path("metriques/", metrics_view, name="metriques"),
]

# Uploaded files (signed conventions, evidence) are never served from MEDIA_URL, even in development:
# they are downloaded through views that check the scope.
