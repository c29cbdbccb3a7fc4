"""The admin pages of the campaigns render in French for a superuser, the declaration with its history."""

import pytest
from django.urls import reverse

from charte.comptes.models import User
from evaluation.campaigns import services
from evaluation.engine import runs
from evaluation.models import AnnualResult, Campaign, Declaration, EvaluationRun, Notification
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


def test_runs_and_results_are_listed_read_only(admin_client):
    run = runs.start_run(2017, sync=True)
    row = AnnualResult.objects.filter(run=run, scope_type="national", family=None, indicator=None).get()
    for model, obj in ((EvaluationRun, run), (AnnualResult, row)):
        info = model._meta.app_label, model._meta.model_name
        changelist = admin_client.get(reverse("admin:{}_{}_changelist".format(*info)), {"q": "34"})
        assert changelist.status_code == 200 and 'lang="fr"' in changelist.content.decode()
        assert reverse("admin:{}_{}_add".format(*info)) not in changelist.content.decode()
        change = admin_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        assert change.status_code == 200 and "Enregistrer" not in change.content.decode()
        assert admin_client.post(reverse("admin:{}_{}_delete".format(*info), args=[obj.pk]), {"post": "yes"}).status_code == 403
    assert AnnualResult.objects.filter(pk=row.pk).exists()
