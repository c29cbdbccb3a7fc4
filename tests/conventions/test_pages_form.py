"""Creating and editing a convention with its commitments and targets in one form."""

from decimal import Decimal

import pytest

from conventions.models import Commitment, Convention, Target
from entreprises.models import Diagnostic, DiagnosticItem
from tests.conventions.test_pages_support import S, World, login
from tests.factories import CommitmentFactory, TargetFactory, action_type, family, indicator
from tests.html_checks import assert_error_pattern

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return World()


def payload(world, commitments=(), targets=(), initial_commitments=0, initial_targets=0, **fields):
    data = {
        "reference": "",
        "title": "Convention Engie 2017-2019",
        "kind": "local",
        "generation": "2",
        "start_date": "2017-01-01",
        "end_date": "2019-12-31",
        "departement": str(world.herault.pk),
        "club": str(world.club.pk),
        "companies": [str(world.company.pk)],
        "parent": "",
        "framework": "",
        "commitments-TOTAL_FORMS": str(len(commitments)),
        "commitments-INITIAL_FORMS": str(initial_commitments),
        "commitments-MIN_NUM_FORMS": "0",
        "commitments-MAX_NUM_FORMS": "1000",
        "targets-TOTAL_FORMS": str(len(targets)),
        "targets-INITIAL_FORMS": str(initial_targets),
        "targets-MIN_NUM_FORMS": "0",
        "targets-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(commitments):
        for key, value in row.items():
            data[f"commitments-{i}-{key}"] = value
    for i, row in enumerate(targets):
        for key, value in row.items():
            data[f"targets-{i}-{key}"] = value
    data.update(fields)
    return data


def stage():
    return {"family": str(family("EDU").pk), "action_type": str(action_type("STAGE_3E").pk), "description": "Stages de 3e"}


def blank():
    return {"family": "", "action_type": "", "description": ""}


def target(position, year, value, code="STAGE3_ACCUEILLIS"):
    return {"commitment": str(position), "indicator": str(indicator(code).pk), "year": str(year), "value": str(value)}


def test_create_with_commitments_and_targets(client, world):
    emploi = {"family": str(family("EMP").pk), "action_type": "", "description": "Recruter des alternants"}
    data = payload(
        world,
        commitments=[stage(), emploi, blank()],
        targets=[
            target(1, 2017, 10),
            target(1, 2018, 12),
            target(2, 2019, 3, "ALTERNANTS_RECRUTES"),
            {"commitment": "", "indicator": "", "year": "", "value": ""},
        ],
    )
    response = login(client, world.club_user).post("/conventions/nouvelle/", data)
    assert response.status_code == 302, response.context["editor"].targets.errors if response.context else response
    convention = Convention.objects.get(title="Convention Engie 2017-2019")
    assert response["Location"] == f"/conventions/{convention.pk}/"
    assert convention.status == S.DRAFT
    assert convention.reference == "034-2017-0001"
    assert convention.club == world.club
    assert list(convention.companies.all()) == [world.company]
    assert convention.created_by == world.club_user
    commitments = list(convention.commitments.order_by("pk"))
    assert [c.description for c in commitments] == ["Stages de 3e", "Recruter des alternants"]
    assert sorted(Target.objects.filter(commitment=commitments[0]).values_list("year", "value")) == [
        (2017, Decimal("10")),
        (2018, Decimal("12")),
    ]
    assert list(commitments[1].targets.values_list("indicator__code", "year")) == [("ALTERNANTS_RECRUTES", 2019)]


def test_status_is_never_posted(client, world):
    data = payload(world, status="active")
    login(client, world.prefecture).post("/conventions/nouvelle/", data)
    assert Convention.objects.get(title="Convention Engie 2017-2019").status == S.DRAFT


def errors_of(response):
    editor = response.context["editor"]
    return editor.form.errors, editor.commitments.errors, editor.targets.errors


REFUSALS = {
    "year outside the dates": (
        lambda: {"targets": [target(1, 2021, 5)]},
        ("targets", 0, "year"),
        "L'année 2021 est hors de la période de la convention (2017-2019).",
    ),
    "action type of another family": (
        lambda: {"commitments": [{**stage(), "family": str(family("EMP").pk)}, blank()]},
        ("commitments", 0, "action_type"),
        "Ce type d'action n'appartient pas à la famille choisie.",
    ),
    "ratio indicator": (
        lambda: {"targets": [target(1, 2017, 50, "PART_BENEFICIAIRES_QPV")]},
        ("targets", 0, "indicator"),
        "Un indicateur calculé (ratio) ne porte pas d'objectif",
    ),
    "target of an empty commitment": (
        lambda: {"targets": [target(2, 2017, 5)]},
        ("targets", 0, "commitment"),
        "L'engagement 2 est vide ou supprimé",
    ),
    "negative target": (lambda: {"targets": [target(1, 2017, -1)]}, ("targets", 0, "value"), "supérieure ou égale à 0"),
    "dates reversed": (
        lambda: {"end_date": "2016-12-31"},
        ("form", None, "end_date"),
        "La date de fin doit être postérieure à la date de début.",
    ),
    "no département": (
        lambda: {"departement": ""},
        ("form", None, "departement"),
        "Une convention non nationale est rattachée à un département.",
    ),
    "no company": (lambda: {"companies": []}, ("form", None, "companies"), "Choisissez au moins une entreprise signataire."),
    "kind not allowed to a club": (lambda: {"kind": "national", "departement": ""}, ("form", None, "kind"), "national"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_create_refusals_keep_what_was_typed(client, world, case):
    change, (part, index, field), message = REFUSALS[case]
    base = {"commitments": [stage(), blank()], "targets": [target(1, 2017, 10)]}
    base.update(change())
    commitments, targets = base.pop("commitments"), base.pop("targets")
    data = payload(world, commitments=commitments, targets=targets, title="Titre saisi à garder", **base)
    response = login(client, world.club_user).post("/conventions/nouvelle/", data)
    assert response.status_code == 200
    assert not Convention.objects.filter(title="Titre saisi à garder").exists()
    form_errors, commitment_errors, target_errors = errors_of(response)
    errors = {"form": form_errors}
    if index is not None:
        errors["commitments"], errors["targets"] = commitment_errors[index], target_errors[index]
    found = " ".join(errors[part][field])
    assert message in found, found
    page = response.content.decode()
    assert 'value="Titre saisi à garder"' in page
    assert "Le formulaire contient des erreurs" in page
    assert ">\nStages de 3e</textarea>" in page or ">Stages de 3e</textarea>" in page
    # The summary links the very field in error (a formset row's field by its row's id), which says why.
    field_id = f"id_{field}" if part == "form" else f"id_{part}-{index}-{field}"
    if field == "companies":  # a group of checkboxes: linked by its fieldset
        field_id = "fieldset-companies"
    links = assert_error_pattern(page, [])
    assert any(href == f"#{field_id}" or href.startswith(f"#{field_id}_") for href, _ in links), (field_id, links)
    assert any(message in text for _, text in links), links


def test_duplicate_target_is_refused(client, world):
    data = payload(world, commitments=[stage()], targets=[target(1, 2017, 10), target(1, 2017, 11)])
    response = login(client, world.prefecture).post("/conventions/nouvelle/", data)
    assert response.status_code == 200
    assert "Un objectif existe déjà" in " ".join(errors_of(response)[2][1]["year"])


def test_the_convention_form_speaks_plainly(client, world):
    # No Ctrl-click multi-select, no "---------" empty choice, no "Supprimer (Optionnel)" on the formset rows.
    html = login(client, world.prefecture).get("/conventions/nouvelle/").content.decode()
    assert "<select" in html and "---------" not in html and ">Choisir…</option>" in html
    assert "Ctrl" not in html and "multiple" not in html.split('id="fieldset-companies"')[0].split("<form")[-1]
    company = world.company
    assert f'<input type="checkbox" name="companies" value="{company.pk}" id="id_companies_{company.pk}">' in html
    assert f'for="id_companies_{company.pk}">{company.name} (SIREN {company.siren})</label>' in html
    assert "Retirer cet engagement" in html and "Retirer cet objectif" in html
    assert "Supprimer" not in html and "(Optionnel)</label>" not in html.split("Retirer cet engagement")[0][-300:]
    # A company typed then refused stays ticked, and the summary links the list of companies.
    data = payload(world, commitments=[stage()], targets=[], title="")
    refused = login(client, world.prefecture).post("/conventions/nouvelle/", data).content.decode()
    assert f'value="{company.pk}" id="id_companies_{company.pk}" checked' in refused


def test_create_choices_are_scoped(client, world):
    response = login(client, world.prefecture).get("/conventions/nouvelle/")
    form = response.context["form"]
    assert set(form.fields["companies"].queryset) == {world.company}
    assert list(form.fields["departement"].queryset) == [world.herault]
    assert list(form.fields["club"].queryset) == [world.club]
    assert [value for value, _ in form.fields["kind"].choices] == ["", "local", "collective", "framework"]
    response = login(client, world.club_user).get("/conventions/nouvelle/")
    assert list(response.context["form"].fields["club"].queryset) == [world.club]
    assert [value for value, _ in response.context["form"].fields["kind"].choices] == ["", "local", "collective"]


def test_a_foreign_company_cannot_be_posted(client, world):
    data = payload(world, companies=[str(world.other_company.pk)])
    response = login(client, world.prefecture).post("/conventions/nouvelle/", data)
    assert response.status_code == 200
    assert "companies" in response.context["form"].errors


def test_framework_of_another_departement_is_refused(client, world):
    from tests.factories import ConventionFactory, departement

    world.prefecture.memberships.get().organisation.departements.add(departement("11"))
    framework = ConventionFactory(kind=Convention.Kind.FRAMEWORK, departement=departement("11"), reference="011-CADRE")
    data = payload(world, framework=str(framework.pk))
    response = login(client, world.prefecture).post("/conventions/nouvelle/", data)
    assert "Cette charte-cadre est celle d'un autre département (11)" in " ".join(response.context["form"].errors["framework"])


def test_who_may_create(client, world):
    assert login(client, world.company_user).get("/conventions/nouvelle/").status_code == 403
    assert login(client, world.partner).get("/conventions/nouvelle/").status_code == 404
    for user in (world.national, world.prefecture, world.club_user):
        assert login(client, user).get("/conventions/nouvelle/").status_code == 200


def test_prefill_from_company_and_diagnostic(client, world):
    diagnostic = Diagnostic.objects.create(company=world.company, club=world.club, date="2016-11-02")
    DiagnosticItem.objects.create(diagnostic=diagnostic, action_type=action_type("STAGE_3E"), status="doing")
    DiagnosticItem.objects.create(diagnostic=diagnostic, action_type=action_type("ALTERNANCE"), status="wants")
    DiagnosticItem.objects.create(diagnostic=diagnostic, action_type=action_type("MECENAT_COMPETENCES"), status="not_concerned")
    url = f"/conventions/nouvelle/?entreprise={world.company.pk}&diagnostic={diagnostic.pk}"
    response = login(client, world.club_user).get(url)
    editor = response.context["editor"]
    assert editor.form.initial["companies"] == [world.company.pk]
    assert editor.form.initial["club"] == world.club.pk
    prefilled = [form.initial.get("action_type") for form in editor.commitments.forms if form.initial]
    assert {a.code for a in prefilled} == {"STAGE_3E", "ALTERNANCE"}

    # Posted untouched, the prefilled commitments are saved.
    forms = editor.commitments.forms
    rows = [
        {"family": str(f.initial["family"].pk), "action_type": str(f.initial["action_type"].pk), "description": ""}
        for f in forms
        if f.initial
    ]
    response = client.post(url, payload(world, commitments=[*rows, blank()]))
    assert response.status_code == 302
    convention = Convention.objects.get(title="Convention Engie 2017-2019")
    assert set(convention.commitments.values_list("action_type__code", flat=True)) == {"STAGE_3E", "ALTERNANCE"}


def test_prefill_ignores_objects_out_of_scope(client, world):
    diagnostic = Diagnostic.objects.create(company=world.other_company, club=world.other_club, date="2016-11-02")
    url = f"/conventions/nouvelle/?entreprise={world.other_company.pk}&diagnostic={diagnostic.pk}"
    response = login(client, world.club_user).get(url)
    assert not response.context["form"].initial.get("companies")
    assert not [form for form in response.context["editor"].commitments.forms if form.initial]


# --- edit ----------------------------------------------------------------------------------------------


def edit_payload(world, convention, **fields):
    commitment = convention.commitments.get()
    targets = list(commitment.targets.order_by("year"))
    data = payload(
        world,
        commitments=[
            {"id": str(commitment.pk), "convention": str(convention.pk), **stage()},
            blank(),
        ],
        targets=[target(1, t.year, t.value) for t in targets],
        initial_commitments=1,
        initial_targets=len(targets),
        reference=convention.reference,
        start_date="2016-01-01",
        end_date="2018-12-31",
    )
    data.update(fields)
    return data


def test_edit_updates_targets_in_place_and_keeps_commitments(client, world):
    convention = world.convention
    commitment = CommitmentFactory(convention=convention)
    TargetFactory(commitment=commitment, year=2016, value=5)
    kept = TargetFactory(commitment=commitment, year=2017, value=6)
    response = login(client, world.club_user).get(f"/conventions/{convention.pk}/modifier/")
    assert response.status_code == 200
    assert [f.initial for f in response.context["editor"].targets.forms[:2]] == [
        {"commitment": 1, "indicator": indicator().pk, "year": 2016, "value": Decimal("5")},
        {"commitment": 1, "indicator": indicator().pk, "year": 2017, "value": Decimal("6")},
    ]
    data = edit_payload(world, convention, title="Nouveau titre")
    data["targets-1-value"] = "9"
    data["targets-0-DELETE"] = "on"
    response = client.post(f"/conventions/{convention.pk}/modifier/", data)
    assert response.status_code == 302
    convention.refresh_from_db()
    assert convention.title == "Nouveau titre"
    assert convention.commitments.get().pk == commitment.pk
    # Updated in place (issue 10): the kept target keeps its id.
    assert list(Target.objects.filter(commitment=commitment).values_list("pk", "year", "value")) == [
        (kept.pk, 2017, Decimal("9"))
    ]
    # The history keeps the removal and the change, by the person who edited.
    changes = Target.history.filter(commitment=commitment, history_user=world.club_user)
    assert sorted((h.history_type, h.year, h.value) for h in changes) == [("-", 2016, Decimal("5")), ("~", 2017, Decimal("9"))]


def test_edit_can_delete_a_commitment(client, world):
    convention = world.convention
    CommitmentFactory(convention=convention)
    data = edit_payload(world, convention)
    data["commitments-0-DELETE"] = "on"
    assert login(client, world.prefecture).post(f"/conventions/{convention.pk}/modifier/", data).status_code == 302
    assert not Commitment.objects.filter(convention=convention).exists()


def test_edit_new_dates_must_cover_the_targets(client, world):
    convention = world.convention
    TargetFactory(commitment=CommitmentFactory(convention=convention), year=2016)
    data = edit_payload(world, convention, start_date="2017-01-01")
    response = login(client, world.prefecture).post(f"/conventions/{convention.pk}/modifier/", data)
    assert response.status_code == 200
    assert "hors de la période" in " ".join(response.context["editor"].targets.errors[0]["year"])
    assert Target.objects.filter(commitment__convention=convention, year=2016).exists()


@pytest.mark.parametrize("status", [S.SIGNED, S.ACTIVE, S.EXPIRED, S.TERMINATED])
def test_edit_refused_once_signed(client, world, status):
    world.set_status(world.convention, status)
    response = login(client, world.prefecture).get(f"/conventions/{world.convention.pk}/modifier/")
    assert response.status_code == 403
    assert "ne peut plus être modifiée" in response.content.decode()
    CommitmentFactory(convention=world.convention)
    response = client.post(f"/conventions/{world.convention.pk}/modifier/", edit_payload(world, world.convention, title="X"))
    assert response.status_code == 403
    assert Convention.objects.get(pk=world.convention.pk).title == "Convention Engie"


def test_who_may_edit(client, world):
    url = f"/conventions/{world.convention.pk}/modifier/"
    assert login(client, world.company_user).get(url).status_code == 403
    assert login(client, world.partner).get(url).status_code == 404
    assert login(client, world.prefecture).get(f"/conventions/{world.foreign.pk}/modifier/").status_code == 404
    for user in (world.national, world.prefecture, world.club_user):
        assert login(client, user).get(url).status_code == 200


def test_form_fields_have_labels_and_french_help(client, world):
    page = login(client, world.prefecture).get("/conventions/nouvelle/").content.decode()
    assert "Laissée vide, elle est attribuée automatiquement" in page
    assert "Obligatoire, sauf pour une convention nationale." in page
    for name in ("reference", "title", "kind", "start_date", "commitments-0-family", "targets-0-year"):
        assert f'for="id_{name}"' in page, name
    # The companies are a group of checkboxes named by its legend.
    assert 'aria-labelledby="companies-legend"' in page and 'id="companies-legend"' in page


def test_the_edit_page_reads_the_catalogue_once_whatever_the_number_of_rows(client, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    convention = world.convention
    login(client, world.club_user)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/conventions/{convention.pk}/modifier/").status_code == 200
        return len(captured)

    CommitmentFactory(convention=convention)
    one = queries()
    for _ in range(8):
        commitment = CommitmentFactory(convention=convention)
        TargetFactory(commitment=commitment, year=2016, value=5)
        TargetFactory(commitment=commitment, year=2017, value=6)
    assert queries() == one
