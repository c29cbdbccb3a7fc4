"""The catalogue in the portal (issue 11, point 2): the national level creates and edits families, action
types and indicators, with their history; everybody else reads it; an indicator the engine needs keeps its
code, nature, aggregation and ratio terms."""

import html

import pytest
from django.urls import reverse

from charte.catalogue.models import ActionType, Family, Indicator
from charte.comptes.models import Membership, OrganisationKind
from tests.factories import MembershipFactory, OrganisationFactory, TargetFactory, UserFactory, departement

pytestmark = pytest.mark.django_db


@pytest.fixture
def sign_in(client):
    def as_(kind, email=None):
        organisation = OrganisationFactory(
            kind=kind, departements=[] if kind == OrganisationKind.NATIONAL else [departement("34")]
        )
        user = UserFactory(email=email or f"{kind}@example.org", first_name="Claire", last_name="Dupont")
        MembershipFactory(user=user, organisation=organisation, role=Membership.Role.ADMIN)
        client.force_login(user)
        return user

    return as_


def text(response):
    return html.unescape(response.content.decode())


def indicator_data(indicator, **changes):
    data = {
        "code": indicator.code,
        "label": indicator.label,
        "unit": indicator.unit,
        "type": indicator.type,
        "nature": indicator.nature,
        "aggregation": indicator.aggregation,
        "numerator": indicator.numerator_id or "",
        "denominator": indicator.denominator_id or "",
        "is_active": "on" if indicator.is_active else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


# --- who reads, who writes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", [OrganisationKind.PREFECTURE, OrganisationKind.CLUB, OrganisationKind.COMPANY, OrganisationKind.PARTNER]
)
def test_everybody_else_reads_the_catalogue_and_changes_nothing(client, sign_in, kind):
    sign_in(kind)
    family = Family.objects.get(code="EDU")

    page = text(client.get(reverse("catalogue:index")))
    assert family.label in page and "PART_BENEFICIAIRES_QPV" in page
    assert "Créer une famille" not in page and reverse("catalogue:family_edit", args=[family.pk]) not in page

    for name, args in (("catalogue:family_edit", [family.pk]), ("catalogue:indicator_create", []), ("catalogue:history", [])):
        refused = client.get(reverse(name, args=args))
        assert refused.status_code == 403
        assert "Seul le niveau national (ANCT) peut modifier le catalogue" in text(refused)
    posted = client.post(
        reverse("catalogue:family_edit", args=[family.pk]), {"code": "EDU", "label": "Piraté", "short_label": "x"}
    )
    assert posted.status_code == 403
    family.refresh_from_db()
    assert family.label != "Piraté"


# --- creating and editing, with history --------------------------------------------------------------------


def test_the_national_level_creates_and_edits_a_family_and_the_history_says_who_changed_what(client, sign_in):
    user = sign_in(OrganisationKind.NATIONAL)
    response = client.post(
        reverse("catalogue:family_create"),
        {"code": "SPORT", "label": "Sport et insertion", "short_label": "Sport", "position": "6", "is_active": "on"},
    )
    assert response.status_code == 302
    family = Family.objects.get(code="SPORT")

    response = client.post(
        reverse("catalogue:family_edit", args=[family.pk]),
        # The code is read-only once created: what is posted for it is ignored.
        {"code": "AUTRE", "label": "Sport, culture et insertion", "short_label": "Sport", "position": "6", "is_active": "on"},
    )
    assert response.status_code == 302
    family.refresh_from_db()
    assert family.code == "SPORT" and family.label == "Sport, culture et insertion"

    history = list(family.history.order_by("history_date"))
    assert [record.history_type for record in history] == ["+", "~"]
    assert all(record.history_user == user for record in history)
    page = text(client.get(reverse("catalogue:family_edit", args=[family.pk])))
    assert "Libellé : Sport et insertion → Sport, culture et insertion" in page
    assert "Claire Dupont" in page
    journal = text(client.get(reverse("catalogue:history")))
    assert "Famille « Sport, culture et insertion »" in journal and "Création" in journal


def test_an_action_type_is_deactivated_not_deleted_and_its_indicators_are_tracked(client, sign_in):
    sign_in(OrganisationKind.NATIONAL)
    action_type = ActionType.objects.get(code="STAGE_3E")
    kept = list(action_type.indicators.values_list("pk", flat=True))
    mecenat = Indicator.objects.get(code="MECENAT_EUR")

    response = client.post(
        reverse("catalogue:action_type_edit", args=[action_type.pk]),
        {
            "code": action_type.code,
            "label": action_type.label,
            "family": action_type.family_id,
            "paqte_axis": action_type.paqte_axis,
            "indicators": [*kept, mecenat.pk],
        },
    )

    assert response.status_code == 302
    action_type.refresh_from_db()
    assert action_type.is_active is False
    assert mecenat in action_type.indicators.all()
    page = text(client.get(reverse("catalogue:action_type_edit", args=[action_type.pk])))
    assert "Actif : oui → non" in page
    assert "MECENAT_EUR" in page.split("Historique")[-1]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"code": "stage 3e"}, "Le code commence par une lettre et ne contient que des majuscules"),
        ({"code": "STAGE_3E"}, "existe déjà"),
        ({"label": ""}, "Ce champ est obligatoire."),
        ({"family": ""}, "Ce champ est obligatoire."),
    ],
)
def test_a_bad_action_type_gets_a_french_message_and_nothing_is_written(client, sign_in, data, message):
    sign_in(OrganisationKind.NATIONAL)
    before = (ActionType.objects.count(), ActionType.history.count())
    payload = {"code": "NOUVEAU_TYPE", "label": "Nouveau", "family": Family.objects.get(code="EDU").pk, "paqte_axis": "", **data}

    response = client.post(reverse("catalogue:action_type_create"), payload)

    assert response.status_code == 200
    assert message in text(response) and "Le formulaire contient des erreurs" in text(response)
    assert (ActionType.objects.count(), ActionType.history.count()) == before


# --- what the engine needs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, reason",
    [
        ("BENEFICIAIRES", "le moteur le mesure sur toutes les actions de chaque famille"),
        ("HEURES_MECENAT", "le moteur le mesure à partir des actions enregistrées"),
        ("PART_BENEFICIAIRES_QPV", "le moteur calcule ce ratio à partir de son numérateur et de son dénominateur"),
        ("BENEFICIAIRES_QPV", "il est le numérateur ou le dénominateur d'un ratio"),
    ],
)
def test_an_indicator_the_engine_relies_on_keeps_its_code_nature_aggregation_and_terms(client, sign_in, code, reason):
    sign_in(OrganisationKind.NATIONAL)
    indicator = Indicator.objects.get(code=code)
    before = (indicator.code, indicator.nature, indicator.aggregation, indicator.numerator_id, indicator.denominator_id)
    url = reverse("catalogue:indicator_edit", args=[indicator.pk])

    page = text(client.get(url))
    assert "Le moteur d'évaluation s'appuie sur cet indicateur" in page and reason in page
    assert page.count("disabled") >= 5

    other = Indicator.objects.get(code="MECENAT_EUR")
    response = client.post(
        url,
        indicator_data(
            indicator,
            code="RENOMME",
            nature="offered" if indicator.nature == "realised" else "realised",
            aggregation="ratio",
            numerator=other.pk,
            denominator=Indicator.objects.get(code="EMBAUCHES").pk,
            label="Libellé revu",
            unit="personnes",
        ),
    )

    assert response.status_code == 302
    indicator.refresh_from_db()
    assert (indicator.code, indicator.nature, indicator.aggregation, indicator.numerator_id, indicator.denominator_id) == before
    assert indicator.label == "Libellé revu"


def test_an_indicator_with_targets_is_locked_too(client, sign_in):
    sign_in(OrganisationKind.NATIONAL)
    indicator = Indicator.objects.get(code="EMBAUCHES_CDI")
    assert "Le moteur d'évaluation" not in text(client.get(reverse("catalogue:indicator_edit", args=[indicator.pk])))

    TargetFactory(indicator=indicator)

    page = text(client.get(reverse("catalogue:indicator_edit", args=[indicator.pk])))
    assert "des conventions lui fixent des objectifs" in page
    client.post(reverse("catalogue:indicator_edit", args=[indicator.pk]), indicator_data(indicator, nature="offered"))
    indicator.refresh_from_db()
    assert indicator.nature == "realised"


def test_a_free_indicator_may_change_and_a_ratio_is_checked_in_french(client, sign_in):
    sign_in(OrganisationKind.NATIONAL)
    indicator = Indicator.objects.get(code="MECENAT_EUR")
    url = reverse("catalogue:indicator_edit", args=[indicator.pk])
    euros = Indicator.objects.get(code="ACHATS_INCLUSIFS_EUR")

    missing = client.post(url, indicator_data(indicator, aggregation="ratio"))
    assert missing.status_code == 200
    assert "Un ratio a un numérateur." in text(missing) and "Un ratio a un dénominateur." in text(missing)
    same = client.post(url, indicator_data(indicator, aggregation="ratio", numerator=euros.pk, denominator=euros.pk))
    assert "Le dénominateur doit être un autre indicateur que le numérateur." in text(same)
    terms_on_a_sum = client.post(url, indicator_data(indicator, numerator=euros.pk))
    assert "Une somme n'a pas de numérateur" in text(terms_on_a_sum)
    indicator.refresh_from_db()
    assert indicator.aggregation == "sum" and indicator.numerator_id is None

    changed = client.post(url, indicator_data(indicator, nature="offered", unit="k€", is_active=""))
    assert changed.status_code == 302
    indicator.refresh_from_db()
    assert (indicator.nature, indicator.unit, indicator.is_active) == ("offered", "k€", False)
    assert "Nature : Réalisé → Offert" in text(client.get(url))


def test_a_new_ratio_indicator_is_created_with_its_terms(client, sign_in):
    sign_in(OrganisationKind.NATIONAL)
    numerator, denominator = Indicator.objects.get(code="EMBAUCHES_CDI"), Indicator.objects.get(code="EMBAUCHES")

    response = client.post(
        reverse("catalogue:indicator_create"),
        {
            "code": "PART_CDI",
            "label": "Part des embauches en CDI",
            "unit": "%",
            "type": "resultats",
            "nature": "realised",
            "aggregation": "ratio",
            "numerator": numerator.pk,
            "denominator": denominator.pk,
            "is_active": "on",
        },
    )

    assert response.status_code == 302
    created = Indicator.objects.get(code="PART_CDI")
    assert (created.numerator, created.denominator) == (numerator, denominator)
    # Now a term of a ratio, EMBAUCHES_CDI is locked.
    page = text(client.get(reverse("catalogue:indicator_edit", args=[numerator.pk])))
    assert "il est le numérateur ou le dénominateur d'un ratio" in page
