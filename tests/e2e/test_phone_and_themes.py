"""The report's charts and the declaration's values as people see them: on a 390 px phone, in the light and
dark DSFR themes (issue 13). Screenshots of each go to test-artifacts/ (report, declaration form and
validation view, at 1280 px, at 390 px and in the dark theme)."""

import pytest

from evaluation.campaigns import services
from evaluation.engine import runs
from tests.e2e.conftest import PASSWORD, expect
from tests.evaluation.test_oracle import YEAR, build_territory
from tests.evaluation.test_pages_support import line_field, make_world
from tests.factories import MembershipFactory, OrganisationFactory, departement, indicator

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 1000}

# WCAG 2.1 relative luminance and contrast ratio, computed in the page from the colours the browser resolved
# (currentColor and the DSFR variables included). The background is the first opaque one up the tree.
CHART_COLOURS_JS = """
(chartId) => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const ratio = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((m, n) => n - m);
    return (x + 0.05) / (y + 0.05);
  };
  const svg = document.getElementById(chartId);
  let node = svg, background = null;
  while (node && node.nodeType === 1) {
    const colour = rgb(getComputedStyle(node).backgroundColor);
    if (colour.length === 3 || (colour.length === 4 && colour[3] === 1)) { background = colour.slice(0, 3); break; }
    node = node.parentElement;
  }
  background = background || [255, 255, 255];
  const box = svg.getBoundingClientRect();
  const scale = svg.getScreenCTM().a;
  const texts = [...svg.querySelectorAll("text")].map((t) => {
    const r = t.getBoundingClientRect();
    return {
      text: t.textContent,
      contrast: ratio(rgb(getComputedStyle(t).fill), background),
      effectiveSize: parseFloat(getComputedStyle(t).fontSize) * scale,
      left: r.left - box.left, right: box.right - r.right,
    };
  });
  const bars = [...svg.querySelectorAll("rect")].filter((r) => r.getBoundingClientRect().width > 2)
    .map((r) => ratio(rgb(getComputedStyle(r).fill), background));
  return {
    theme: document.documentElement.getAttribute("data-fr-theme"),
    background, texts, bars, width: box.width,
  };
}
"""


def _report_world():
    build_territory(3)
    runs.start_run(YEAR, sync=True)
    prefecture = OrganisationFactory(name="Préfecture des Bouches-du-Rhône", departements=[departement("13")])
    return MembershipFactory(organisation=prefecture).user


def _report_url():
    return f"/rapports/departement/13/?annee={YEAR}"


def _check_charts(page, theme):
    chart_ids = page.locator("svg.rapport-graphique").evaluate_all("(svgs) => svgs.map((s) => s.id)")
    assert len(chart_ids) == 4
    for chart_id in chart_ids:
        found = page.evaluate(CHART_COLOURS_JS, chart_id)
        assert found["theme"] == theme
        assert found["texts"], chart_id
        for text in found["texts"]:
            assert text["contrast"] >= 4.5, (theme, chart_id, text)
            assert text["effectiveSize"] >= 12, (chart_id, text)
            assert text["left"] >= -0.5 and text["right"] >= -0.5, (chart_id, text)  # no label cut at an edge
            assert "…" not in text["text"]
        for contrast in found["bars"]:
            assert contrast >= 3, (theme, chart_id, contrast)  # WCAG 1.4.11, graphical objects
    return chart_ids


def _no_horizontal_scroll(page, width):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, scroll_width


def test_report_charts_contrast_in_light_and_dark_themes_and_fit_a_phone(page, live_server, login, screenshot):
    user = _report_world()
    login(page, live_server, user.email, PASSWORD)

    page.goto(_report_url())
    page.wait_for_function("document.documentElement.getAttribute('data-fr-theme') === 'light'")
    _check_charts(page, "light")
    screenshot(page, "rapport-1280-clair")

    # The portal follows the system setting: a phone set to dark.
    page.set_viewport_size(PHONE)
    page.emulate_media(color_scheme="dark")
    page.reload()
    page.wait_for_function("document.documentElement.getAttribute('data-fr-theme') === 'dark'")
    _check_charts(page, "dark")
    _no_horizontal_scroll(page, PHONE["width"])
    screenshot(page, "rapport-390-sombre")

    # The theme chosen in the display settings (data-fr-theme), whatever the system says.
    page.emulate_media(color_scheme="light")
    page.reload()
    page.evaluate("document.documentElement.setAttribute('data-fr-theme', 'dark')")
    _check_charts(page, "dark")
    page.evaluate("document.documentElement.setAttribute('data-fr-theme', 'light')")
    _check_charts(page, "light")
    _no_horizontal_scroll(page, PHONE["width"])
    screenshot(page, "rapport-390-clair")

    page.set_viewport_size(DESKTOP)
    page.emulate_media(color_scheme="dark")
    page.reload()
    page.wait_for_function("document.documentElement.getAttribute('data-fr-theme') === 'dark'")
    screenshot(page, "rapport-1280-sombre")


def test_each_chart_has_its_data_table_and_a_name(page, live_server, login):
    user = _report_world()
    login(page, live_server, user.email, PASSWORD)
    page.set_viewport_size(PHONE)
    page.goto(_report_url())
    chart = page.get_by_role("img", name=f"Actions par famille en {YEAR}")
    expect(chart).to_be_visible()
    figure = page.locator("#graphique-familles-figure")
    table = figure.get_by_role("table", name=f"Données : Actions par famille en {YEAR}")
    expect(table).to_be_hidden()
    figure.get_by_text("Voir les données du graphique").click()
    expect(table).to_be_visible()
    expect(table.get_by_role("columnheader", name="Actions")).to_be_visible()
    assert table.locator("tbody tr").count() >= 5  # one line per family
    assert page.locator("details.rapport-donnees").count() == 4


def _first_line_is_readable(page, selector):
    """The first line's label, target and input (or declared value) are on screen, side by side with nothing
    to scroll sideways."""
    _no_horizontal_scroll(page, PHONE["width"])
    target = page.locator(selector).first
    target.scroll_into_view_if_needed()
    expect(target).to_be_in_viewport()
    box = target.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    label = page.locator(".declaration-line th").first
    expect(label).to_be_in_viewport()


def test_declaration_form_on_a_phone_and_in_the_dark_theme(page, live_server, login, screenshot):
    w = make_world()
    first_input = "#id_" + line_field(w.commitment, "STAGE3_ACCUEILLIS")
    login(page, live_server, w.company_user.email, PASSWORD)
    url = f"/campagnes/declarations/{w.declaration.pk}/"
    page.goto(url)
    screenshot(page, "declaration-1280-clair")

    expect(page.locator("#declaration-scroll-hint")).to_be_hidden()  # the table fits: nothing to say

    # A tablet: the six columns scroll sideways inside the table, and the page says so.
    page.set_viewport_size({"width": 700, "height": 900})
    expect(page.locator("#declaration-scroll-hint")).to_be_visible()
    _no_horizontal_scroll(page, 700)

    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator("#declaration-scroll-hint")).to_be_hidden()  # stacked lines: nothing to scroll
    _first_line_is_readable(page, first_input)
    page.locator(first_input).fill("8")
    # Every column's name is written beside its value in the stacked line.
    line = page.locator(".declaration-line").filter(has=page.locator(first_input))
    expect(line.get_by_text("Objectif 2017", exact=False)).to_be_visible()
    screenshot(page, "declaration-390-clair")

    page.emulate_media(color_scheme="dark")
    page.reload()
    page.wait_for_function("document.documentElement.getAttribute('data-fr-theme') === 'dark'")
    _first_line_is_readable(page, first_input)
    screenshot(page, "declaration-390-sombre")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "declaration-1280-sombre")


def test_the_validator_sees_the_values_above_the_validate_button_on_a_phone(page, live_server, login, screenshot):
    w = make_world()
    key = (w.commitment.pk, indicator("STAGE3_ACCUEILLIS").pk)
    services.save_draft(w.declaration, w.company_user, {key: ("8", "Collège Las Cazes")}, 1)
    services.submit(w.declaration, w.company_user)
    login(page, live_server, w.prefecture_user.email, PASSWORD)
    url = f"/campagnes/declarations/{w.declaration.pk}/"
    page.goto(url)
    screenshot(page, "validation-1280-clair")

    page.set_viewport_size(PHONE)
    page.reload()
    _first_line_is_readable(page, ".declared-value")
    values = page.locator(".declared-value")
    expect(values.first).to_have_text("8")
    validate = page.get_by_role("button", name="Valider")
    assert values.last.bounding_box()["y"] < validate.bounding_box()["y"]
    # The history keeps its four columns and scrolls inside its frame: the page says so.
    expect(page.locator("#historique").get_by_text("faites défiler horizontalement")).to_be_visible()
    screenshot(page, "validation-390-clair")

    page.emulate_media(color_scheme="dark")
    page.reload()
    page.wait_for_function("document.documentElement.getAttribute('data-fr-theme') === 'dark'")
    _first_line_is_readable(page, ".declared-value")
    screenshot(page, "validation-390-sombre")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "validation-1280-sombre")
