"""Start the test provider: `python -m tests.oidc_provider.serve` with, in the environment, OP_DATA_DIR (an
empty temporary folder), OP_PORT, OP_CLIENT_ID, OP_CLIENT_SECRET, OP_REDIRECT_URI, OP_POST_LOGOUT_URI and
the people it knows, OP_USERS: a JSON list of {username, password, email, given_name, usual_name}.

It writes an RSA key, migrates its SQLite file, creates the people and registers the portal as a confidential
client (authorisation code, RS256, no consent screen), then serves on 127.0.0.1 until it is terminated."""

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def write_key(folder):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (folder / "rsa.pem").write_bytes(pem)


def main():
    env = os.environ
    write_key(Path(env["OP_DATA_DIR"]))
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0, interactive=False)
    users = [
        get_user_model().objects.create_user(
            person["username"],
            email=person["email"],
            password=person["password"],
            first_name=person["given_name"],
            last_name=person["usual_name"],
        )
        for person in json.loads(env["OP_USERS"])
    ]
    Application.objects.create(
        name="Portail Charte Entreprises et Quartiers",
        user=users[0],
        client_id=env["OP_CLIENT_ID"],
        client_secret=env["OP_CLIENT_SECRET"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=env["OP_REDIRECT_URI"],
        post_logout_redirect_uris=env["OP_POST_LOGOUT_URI"],
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=True,
    )
    call_command("runserver", f"127.0.0.1:{env['OP_PORT']}", use_reloader=False, use_threading=True)


if __name__ == "__main__":
    main()
