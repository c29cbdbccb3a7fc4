"""The OpenAPI schema: generated without warnings, every error documented; the docs pages are public and
served without any CDN."""

import re

import pytest
import yaml
from django.core.management import call_command
from rest_framework.test import APIClient

ERRORS = {"400", "401", "403", "404", "429"}
CDN = re.compile(r"cdn\.|jsdelivr|unpkg|googleapis|gstatic|cdnjs", re.IGNORECASE)


@pytest.fixture
def schema(db):
    response = APIClient().get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_generation_has_no_warning(tmp_path):
    # --fail-on-warn turns any warning (unresolvable type, enum collision...) into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


def test_every_operation_documents_its_errors(schema):
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert len(operations) >= 28
    for path, method, operation in operations:
        assert path.startswith("/api/v1/")
        responses = operation["responses"]
        assert ERRORS <= set(responses), (path, method)
        for code in ERRORS:
            assert responses[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert "Retry-After" in responses["429"]["headers"]
        if method in ("post", "put", "patch"):
            assert "415" in responses
        assert {"cleApi": []} in operation["security"]


def test_error_schema_and_key_scheme(schema):
    error = schema["components"]["schemas"]["Error"]
    assert error["properties"]["erreur"] == {"$ref": "#/components/schemas/ErrorDetail"}
    detail = schema["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "details"}
    assert schema["components"]["securitySchemes"]["cleApi"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "Clé d'API de votre organisation, sous la forme « Api-Key <préfixe>.<secret> ».",
    }


def test_the_schema_is_in_french(schema):
    list_operation = schema["paths"]["/api/v1/actions/"]["get"]
    assert list_operation["summary"] == "Actions du périmètre"
    assert "description" not in list_operation  # no English docstring leaks into the public documentation
    page = schema["components"]["schemas"]["PaginatedActionList"]
    assert set(page["properties"]) == {"total", "total_estime", "pages", "suivante", "precedente", "resultats"}


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_are_public_and_local(db, url):
    response = APIClient().get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert not CDN.search(html), CDN.search(html)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts and all(src.startswith(("/static/drf_spectacular_sidecar/", "/static/js/", "/api/docs/")) for src in scripts)
    assert "<style>" not in html  # nothing inline: a strict CSP needs no exception
    # Redoc's bundle loads its publisher's logo from a CDN: the page's own policy keeps images local.
    assert """<meta http-equiv="Content-Security-Policy" content="img-src 'self' data:">""" in html


def test_swagger_script_is_served_separately(db):
    response = APIClient().get("/api/docs/", {"script": ""})
    assert response.status_code == 200
    assert "/api/schema/" in response.content.decode()
    assert '"validatorUrl": null' in response.content.decode()  # no call to swagger.io's validator
    assert not CDN.search(response.content.decode())


def test_data_endpoints_are_not_public(db):
    assert APIClient().get("/api/v1/familles/").status_code == 401
