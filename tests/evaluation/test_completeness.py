"""Completeness of a campaign: expected / draft / submitted / validated / returned / missing, in total, by
club and by company, limited to what the reader may see, in a fixed number of queries."""

from django.urls import reverse

from entreprises.models import Contact
from evaluation.campaigns import services
from evaluation.models import Declaration, Notification
from tests.evaluation.conftest import CLOSES, DURING, OPENS, REMINDER, active_convention, company_with_members, key
from tests.factories import CommitmentFactory

COUNTED = ("expected", "draft", "submitted", "validated", "returned", "missing")


def counts(row):
    return {name: getattr(row, name) for name in COUNTED}


def declare(w, declaration, commitment, user, value="5"):
    declaration.refresh_from_db()
    services.save_draft(declaration, user, {key(commitment, "STAGE3_OFFERTS"): (value, "")}, declaration.version, today=DURING)


def test_counts_by_status_club_and_company(world, django_assert_num_queries):
    w = world
    # Four more companies of the Hérault club, one company without club.
    companies = [company_with_members(f"Entreprise {n}", f"contact{n}@example.org", club=w.club) for n in range(4)]
    lonely, ((lonely_user, _),) = company_with_members("Solo", "solo@example.org")
    declarations = {}
    for company, ((user, _),) in [*companies, (lonely, ((lonely_user, None),))]:
        convention = active_convention(company, club=w.club if company != lonely else None)
        commitment = CommitmentFactory(convention=convention)
        declarations[company.name] = (convention, commitment, user)
    services.sync_expected_declarations(w.campaign)

    def d(name):
        return Declaration.objects.get(convention=declarations[name][0])

    # BRL (fixture): missing. Entreprise 0: draft with a value. 1: submitted. 2: validated. 3: returned. Solo: draft.
    for name in ("Entreprise 0", "Entreprise 1", "Entreprise 2", "Entreprise 3", "Solo"):
        declare(w, d(name), declarations[name][1], declarations[name][2])
    for name in ("Entreprise 1", "Entreprise 2", "Entreprise 3"):
        services.submit(d(name), declarations[name][2], today=DURING)
    services.validate(d("Entreprise 2"), w.animator, w.club_scope, today=DURING)
    services.return_declaration(d("Entreprise 3"), w.animator, w.club_scope, "Préciser", today=DURING)
    # An empty line saved (value None) does not make a declaration less missing.
    services.save_draft(w.declaration, w.company_user, {key(w.commitment, "STAGE3_OFFERTS"): ("", "à venir")}, 1, today=DURING)

    with django_assert_num_queries(3):
        result = services.completeness(w.campaign, w.prefecture_scope)

    assert counts(result["total"]) == dict(expected=6, draft=2, submitted=1, validated=1, returned=1, missing=1)
    assert [(row.name, counts(row)) for row in result["by_club"]] == [
        ("FACE Hérault", dict(expected=5, draft=1, submitted=1, validated=1, returned=1, missing=1)),
        ("Sans club animateur", dict(expected=1, draft=1, submitted=0, validated=0, returned=0, missing=0)),
    ]
    by_company = {row.name: counts(row) for row in result["by_company"]}
    assert by_company["BRL"]["missing"] == 1
    assert by_company["Entreprise 3"]["returned"] == 1
    assert len(by_company) == 6

    # The club sees its members and the conventions it animates: not "Solo".
    club_view = services.completeness(w.campaign, w.club_scope)
    assert club_view["total"].expected == 5
    assert services.completeness(w.campaign, w.gard_scope)["total"].expected == 0
    company_view = services.completeness(w.campaign, w.company_scope)
    assert [row.name for row in company_view["by_company"]] == ["BRL"]


# --- the reminder button of the completeness page ------------------------------------------------------


def _pending_world(w):
    """BRL (fixture, missing), two more pending companies (one in draft with a contact, one returned), one that
    transmitted, one validated, one pending without anybody to tell, one pending in the Gard (another scope)."""
    draft, ((draft_user, _),) = company_with_members("Alpha", "alpha@example.org", club=w.club)
    Contact.objects.create(company=draft, first_name="Inès", last_name="Contact", email="ines.contact@alpha.example")
    returned, ((returned_user, _),) = company_with_members("Bêta", "beta@example.org", club=w.club)
    done, ((done_user, _),) = company_with_members("Gamma", "gamma@example.org", club=w.club)
    valid, ((valid_user, _),) = company_with_members("Delta", "delta@example.org", club=w.club)
    nobody, () = company_with_members("Epsilon", club=w.club)
    gard, ((gard_user, _),) = company_with_members("Gardoise", "gard@example.org")
    made = {}
    for company, user in [(draft, draft_user), (returned, returned_user), (done, done_user), (valid, valid_user), (nobody, None)]:
        convention = active_convention(company, club=w.club)
        made[company.name] = (convention, CommitmentFactory(convention=convention), user)
    active_convention(gard, departement_code="30")
    services.sync_expected_declarations(w.campaign)
    other = services.open_campaign(w.prefecture_gard, w.gard_user, 2017, "Campagne Gard", OPENS, REMINDER, CLOSES)
    assert other.declarations.count() == 1

    def d(name):
        return Declaration.objects.get(convention=made[name][0])

    for name in ("Alpha", "Bêta", "Gamma", "Delta"):
        declare(w, d(name), made[name][1], made[name][2])
    for name in ("Bêta", "Gamma", "Delta"):
        services.submit(d(name), made[name][2], today=DURING)
    services.validate(d("Delta"), w.animator, w.club_scope, today=DURING)
    services.return_declaration(d("Bêta"), w.animator, w.club_scope, "Préciser", today=DURING)


PENDING_ADDRESSES = {
    "claire@brl.example",
    "paul@brl.example",
    "alpha@example.org",
    "ines.contact@alpha.example",
    "beta@example.org",
}


def test_the_reminder_button_reaches_every_missing_company_after_saying_how_many(
    client, world, mailoutbox, django_capture_on_commit_callbacks
):
    w = world
    _pending_world(w)
    client.force_login(w.prefecture_user)
    url = reverse("evaluation:completeness", args=[w.campaign.pk])
    remind = reverse("evaluation:completeness_remind", args=[w.campaign.pk])
    assert 'id="remind-form"' in client.get(url, {"show": "a_valider"}).content.decode()

    # First the confirmation page: how many people and companies, and who has nobody to tell.
    confirm = client.post(remind)
    html = " ".join(confirm.content.decode().split())
    assert confirm.status_code == 200 and not mailoutbox
    assert "<strong>5 destinataires</strong> de <strong>3 entreprises</strong>" in html
    assert "1 autre entreprise en attente n'a aucun destinataire." in html
    assert "Envoyer la relance à 3 entreprises" in html
    for name in ("BRL", "Alpha", "Bêta", "Epsilon"):
        assert f'<th scope="row">{name}</th>' in html
    for name in ("Gamma", "Delta", "Gardoise"):
        assert name not in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(remind, {"confirm": "1"}, follow=True)
    assert "Relance envoyée à 3 entreprises." in response.content.decode()
    # Every contact and member of every missing company, not only one: one e-mail each.
    assert sorted(to for m in mailoutbox for to in m.to) == sorted(PENDING_ADDRESSES)
    assert all("s'est close le" in m.body for m in mailoutbox)  # the campaign is over: the overdue e-mail
    assert Notification.objects.filter(event="overdue").count() == 3

    # A second press the same day sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(remind, {"confirm": "1"}, follow=True)
    assert "3 entreprises déjà relancées aujourd&#x27;hui" in again.content.decode()
    assert len(mailoutbox) == len(PENDING_ADDRESSES)


def test_the_reminder_follows_the_reader_s_scope(client, world, mailoutbox, django_capture_on_commit_callbacks):
    w = world
    _pending_world(w)
    remind = reverse("evaluation:completeness_remind", args=[w.campaign.pk])
    # The Gard's préfecture does not see the Hérault campaign; a company may not remind.
    client.force_login(w.gard_user)
    assert client.post(remind, {"confirm": "1"}).status_code == 404
    client.force_login(w.company_user)
    assert client.post(remind, {"confirm": "1"}).status_code == 403
    assert client.get(remind).status_code == 405
    assert not mailoutbox
