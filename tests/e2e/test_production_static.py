"""Production static files: after `collectstatic` with the manifest storage, served by gunicorn with DEBUG
off, a page is really styled by the DSFR in a browser.

Why in a browser (STACK.md, trap 4): the manifest storage rewrites the DSFR stylesheet, and if
django-dsfr still printed its integrity hashes the browser would refuse the CSS — the page would be
entirely unstyled while every HTTP status stays 200. pytest's live server (runserver path, plain storage)
cannot show it, so this test runs the production path for real, in a clean environment.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DSFR_BLUE = "rgb(0, 0, 145)"  # --background-action-high-blue-france
# Variables the test process sets for itself (charte/settings_test.py, CI, pytest-django) and that the
# production processes must not inherit: above all STATICFILES_STORAGE, which would swap the manifest
# storage for the plain one and hide the very problem this test is here to catch.
INHERITED_OUT = {
    "DJANGO_SETTINGS_MODULE",
    "STATICFILES_STORAGE",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "EMAIL_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in INHERITED_OUT}
    env.update(
        DEBUG="0",
        SECRET_KEY="prod-like-" + "x7#Lq9!vR2pW4mZ8nB1cT6yH3jK5sD0fG8aE2uI4oP6rQ9wZ1",
        ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'production.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "staticfiles"),
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    return env


def manage_all(env, *commands, timeout=600):
    """Run manage.py commands side by side (collectstatic compresses every file: it is the long one)."""
    running = [
        (
            command,
            subprocess.Popen(
                [sys.executable, "manage.py", *command],
                env=env,
                cwd=settings.BASE_DIR,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )
        for command in commands
    ]
    for command, process in running:
        output, _ = process.communicate(timeout=timeout)
        assert process.returncode == 0, f"manage.py {' '.join(command)} a échoué :\n{output}"


def wait_until_served(url, server, log_path, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn s'est arrêté (code {server.returncode}) :\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    pytest.fail(f"gunicorn ne répond pas sur {url} après {timeout} s :\n{log_path.read_text()}")


def stop(server):
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def test_collectstatic_and_gunicorn_serve_a_styled_page(browser, tmp_path, screenshot):
    env = production_env(tmp_path)
    manage_all(env, ("collectstatic", "--noinput"), ("migrate", "--noinput"))
    # The manifest storage really ran: hashed names are recorded.
    assert (tmp_path / "staticfiles" / "staticfiles.json").is_file()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "charte.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            env=env,
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it stops its worker too
        )
    context = None
    try:
        wait_until_served(f"{base_url}/compte/connexion/", server, log_path)
        context = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
        page = context.new_page()
        stylesheets = {}

        def record(response):
            if ".css" in response.url:
                stylesheets[response.url] = response.status

        page.on("response", record)
        page.goto(f"{base_url}/compte/connexion/", wait_until="load")

        dsfr_css = [url for url in stylesheets if re.search(r"/static/dsfr/.*dsfr\.min\.[0-9a-f]{12}\.css$", url)]
        assert dsfr_css, f"La feuille de style du DSFR (nom haché par le manifeste) n'a pas été demandée : {stylesheets}"
        assert all(stylesheets[url] == 200 for url in dsfr_css), stylesheets
        # Styled for real: the browser applied the DSFR (a refused integrity check would leave defaults).
        button = page.locator("main").get_by_role("button", name="Se connecter")
        assert button.evaluate("element => getComputedStyle(element).backgroundColor") == DSFR_BLUE
        assert "Marianne" in page.locator("header.fr-header").evaluate("element => getComputedStyle(element).fontFamily")
        screenshot(page, "production-connexion")
    finally:
        if context is not None:
            context.close()
        stop(server)
    assert server.returncode is not None
