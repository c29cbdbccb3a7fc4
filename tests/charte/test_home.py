import pytest

from tests.factories import CompanyFactory


@pytest.mark.django_db
def test_home_page_shows_figures_and_demo_warning(client):
    CompanyFactory.create_batch(3)
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr"' in html
    assert "Charte Entreprises et Quartiers" in html
    assert "inventés" in html
    # The DSFR stylesheet comes from the installed package, not from a CDN.
    assert "/static/dsfr/dist/dsfr.min.css" in html or "/static/dsfr/dist/dsfr/dsfr.min.css" in html
    assert "https://" not in html.split("<body")[0]
