import pytest
from django.test import Client


@pytest.mark.django_db
def test_a_csrf_failure_shows_a_french_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/compte/connexion/", {"username": "a@example.org", "password": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Le formulaire a expiré" in html
    assert '<html lang="fr"' in html
