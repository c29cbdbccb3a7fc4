"""The admin pages of the campaigns render in French for a superuser, the declaration with its history."""

import pytest
from django.urls import reverse

from charte.comptes.models import User
from evaluation import services
from evaluation.models import Campaign, Declaration, Notification
from tests.evaluation.conftest import DURING, key


@pytest.fixture
def admin_client(client, world, django_capture_on_commit_callbacks):
    w = world
    services.save_draft(w.declaration, w.company_user, {key(w.commitment, "STAGE3_ACCUEILLIS"): ("8", "")}, 1, today=DURING)
    services.submit(w.declaration, w.company_user, today=DURING)
    with django_capture_on_commit_callbacks(execute=True):
        services.validate(w.declaration, w.animator, w.club_scope, today=DURING)
    client.force_login(User.objects.create_superuser("admin@example.org", "motdepasse-solide-1"))
    return client


@pytest.mark.parametrize("model", [Campaign, Declaration, Notification], ids=lambda m: m.__name__)
def test_changelist_and_change_pages_render(admin_client, model):
    obj = model.objects.get()
    info = model._meta.app_label, model._meta.model_name
    changelist = admin_client.get(reverse("admin:{}_{}_changelist".format(*info)), {"q": "BRL"})
    assert changelist.status_code == 200 and 'lang="fr"' in changelist.content.decode()
    change = admin_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
    assert change.status_code == 200


def test_declaration_history_page_lists_who_changed_it(admin_client, world):
    page = admin_client.get(reverse("admin:evaluation_declaration_history", args=[world.declaration.pk]))
    assert page.status_code == 200
    assert str(world.animator) in page.content.decode()
