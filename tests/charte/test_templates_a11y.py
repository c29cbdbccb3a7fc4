"""Rules every template follows (RGAA): forms leave validation to the server's DSFR error pattern, and no
page reloads itself."""

import re
from pathlib import Path

from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
FORM_TAG = re.compile(r"<form\b(?:[^>{]|\{[^}]*\})*>", re.S)


def _templates():
    paths = sorted(TEMPLATES.rglob("*.html"))
    assert len(paths) > 50  # the walk really reads the project's templates
    return paths


def test_every_form_has_novalidate():
    # Native browser bubbles would replace the DSFR error summary and messages (and differ per browser).
    missing = []
    count = 0
    for path in _templates():
        for tag in FORM_TAG.findall(path.read_text()):
            count += 1
            if not re.search(r"\snovalidate\b", tag):
                missing.append(f"{path.relative_to(TEMPLATES)}: {tag}")
    assert count > 30
    assert missing == []


def test_no_template_refreshes_the_page():
    offenders = [str(p.relative_to(TEMPLATES)) for p in _templates() if re.search(r"http-equiv=.?refresh", p.read_text(), re.I)]
    assert offenders == []
