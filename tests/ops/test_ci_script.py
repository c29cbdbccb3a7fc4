"""CI hygiene (issue 14, item 6): `.ci/run` lints (ruff, missing migrations) before the suite, and the lint target
really runs both checks. A structural test: CI itself is what runs them."""

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def test_ci_runs_the_lint_before_the_suite():
    commands = [
        line.strip() for line in (ROOT / ".ci/run").read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    assert "make lint" in commands and "make test" in commands
    assert commands.index("make lint") < commands.index("make test")
    # The embedded smoke test still comes first, and the services are still started.
    assert any("smoke-embedded" in line for line in commands[: commands.index("make lint")])
    assert any("pg_ctlcluster" in line for line in commands) and any("redis-server" in line for line in commands)


def test_the_lint_target_runs_ruff_and_the_migrations_check():
    makefile = (ROOT / "Makefile").read_text()
    lint = re.search(r"^lint:.*?\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    assert "ruff check ." in lint
    assert "makemigrations --check --dry-run" in lint
