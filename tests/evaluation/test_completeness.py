"""Completeness of a campaign: expected / draft / submitted / validated / returned / missing, in total, by
club and by company, limited to what the reader may see, in a fixed number of queries."""

from evaluation.campaigns import services
from evaluation.models import Declaration
from tests.evaluation.conftest import DURING, active_convention, company_with_members, key
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
