"""A portal in two départements, Hérault (34) and Aude (11), with one person per role, for the URL walk.

Each département has the same shape, so that every page can be opened on an object of the person's own
territory ("ici"), on its twin in the other département ("aude") and, in the Hérault, on a neighbour the
narrower roles (club, company) must not see ("voisin"):

- company A (member of the département's FACE club, with an establishment) and company B (no club);
- a draft local convention of A animated by the club, with a commitment and a target ("draft");
- an active local convention of A animated by the club, with a signatory and a signed PDF ("signed");
- a collective convention of B in negotiation, without club, with a document ("other");
- an active local convention of B without club ("signed_b");
- the préfecture's campaign of the current year, with the declarations of both active conventions, each
  with an evidence file;
- an action of A logged by the club's animator, reaching two QPV, and an action of B reaching one QPV;
- a diagnostic of A by the club and one of B without club;
- practice sheets: one of the club in review naming A (with an attachment), a draft of the club, a draft of the
  préfecture (the neighbour) and a published one, open to the public, that the préfecture wants to reproduce.
Plus two national conventions: one declined in the Hérault, the other in the Aude.

Names and references are distinct enough to be searched for as plain text in pages and CSV exports.
"""

import datetime
from types import SimpleNamespace

from django.core.files.base import ContentFile
from django.utils import timezone

from charte.comptes.models import Membership, OrganisationKind
from charte.territoires.models import EPCI
from conventions.models import Convention, ConventionDocument
from conventions.practices.models import PracticeAttachment, PracticeCompany, PracticeInterest, PracticeSheet
from entreprises.models import Diagnostic, DiagnosticItem
from evaluation.campaigns import services as evaluation_services
from evaluation.models import Evidence
from tests.factories import (
    ActionFactory,
    ClubMembershipFactory,
    CommitmentFactory,
    CommuneFactory,
    CompanyFactory,
    ConventionFactory,
    EstablishmentFactory,
    MembershipFactory,
    OrganisationFactory,
    PracticeSheetFactory,
    QPVFactory,
    SignatoryFactory,
    TargetFactory,
    UserFactory,
    action_type,
    departement,
)

ROLES = ("national", "prefecture", "club", "company", "partner", "nobody")

SIDES = {
    "34": {
        "departement": "Hérault",
        "commune": ("34172", "Montpellier"),
        "epci": ("243400017", "Montpellier Méditerranée Métropole"),
        "qpvs": (("QP034005", "Mosson"), ("QP034006", "Petit Bard Pergola")),
        "club": "FACE Hérault",
        "prefecture": "Préfecture de l'Hérault",
        "partner": "Montpellier Méditerranée Métropole",
        "company_a": "Garrigue Numérique",
        "company_b": "Vignes du Lez",
        "draft": ("034-2026-0001", "Engagements Garrigue en préparation"),
        "signed": ("034-2025-0002", "Engagements Garrigue signés"),
        "other": ("034-2026-0003", "Collectif du Lez en négociation"),
        "signed_b": ("034-2025-0005", "Engagements des Vignes du Lez"),
        "campaign": "Campagne annuelle Hérault",
        "action_a": "Stages de 3e chez Garrigue",
        "action_b": "Forum emploi du Lez",
        "sheet": "Fiche stages Garrigue en relecture",
        "sheet_draft": "Fiche parrainage du club en brouillon",
        "sheet_other": "Fiche préfecture Hérault en brouillon",
        "sheet_published": "Fiche publiée Tous en stage Hérault",
    },
    "11": {
        "departement": "Aude",
        "commune": ("11069", "Carcassonne"),
        "epci": ("200035715", "Carcassonne Agglo"),
        "qpvs": (("QP011002", "La Conte"), ("QP011003", "Ozanam")),
        "club": "FACE Aude",
        "prefecture": "Préfecture de l'Aude",
        "partner": "Carcassonne Agglo",
        "company_a": "Cers Bâtiment",
        "company_b": "Minervois Logistique",
        "draft": ("011-2026-0001", "Engagements Cers en préparation"),
        "signed": ("011-2025-0002", "Engagements Cers signés"),
        "other": ("011-2026-0003", "Collectif du Minervois en négociation"),
        "signed_b": ("011-2025-0005", "Engagements de Minervois Logistique"),
        "campaign": "Campagne annuelle Aude",
        "action_a": "Stages de 3e chez Cers",
        "action_b": "Forum emploi du Minervois",
        "sheet": "Fiche stages Cers en relecture",
        "sheet_draft": "Fiche parrainage Aude en brouillon",
        "sheet_other": "Fiche préfecture Aude en brouillon",
        "sheet_published": "Fiche publiée Tous en stage Aude",
    },
}

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _dates():
    """Conventions running around today, so that every lifecycle page has something sensible to show."""
    year = timezone.localdate().year
    return datetime.date(year, 1, 1), datetime.date(year + 2, 12, 31)


def _side(code):
    spec = SIDES[code]
    dep = departement(code)
    start, end = _dates()
    today = timezone.localdate()
    side = SimpleNamespace(code=code, departement=dep, spec=spec)

    side.epci = EPCI.objects.create(siren=spec["epci"][0], name=spec["epci"][1])
    side.commune = CommuneFactory(code=spec["commune"][0], name=spec["commune"][1], departement=dep, epci=side.epci)
    side.qpvs = [QPVFactory(code=qpv_code, name=name, departement=dep) for qpv_code, name in spec["qpvs"]]
    side.club = OrganisationFactory(kind=OrganisationKind.CLUB, name=spec["club"], departements=[dep])
    side.prefecture = OrganisationFactory(kind=OrganisationKind.PREFECTURE, name=spec["prefecture"], departements=[dep])
    side.partner = OrganisationFactory(kind=OrganisationKind.PARTNER, name=spec["partner"], departements=[dep])
    side.animator = MembershipFactory(organisation=side.club, role=Membership.Role.ADMIN).user

    side.company_a = CompanyFactory(name=spec["company_a"], commune=side.commune)
    side.company_b = CompanyFactory(name=spec["company_b"], commune=side.commune)
    EstablishmentFactory(company=side.company_a, commune=side.commune, is_head_office=True)
    EstablishmentFactory(company=side.company_b, commune=side.commune, is_head_office=True)
    ClubMembershipFactory(company=side.company_a, club=side.club)

    def convention(key, **fields):
        reference, title = spec[key]
        return ConventionFactory(reference=reference, title=title, departement=dep, start_date=start, end_date=end, **fields)

    side.draft = convention("draft", club=side.club)
    side.draft.companies.add(side.company_a)
    TargetFactory(commitment=CommitmentFactory(convention=side.draft), year=start.year, value=12)

    side.signed = convention("signed", club=side.club)
    side.signed.companies.add(side.company_a)
    TargetFactory(commitment=CommitmentFactory(convention=side.signed), year=start.year, value=8)
    SignatoryFactory(convention=side.signed, name=f"Préfet {spec['departement']}", signed_on=start)
    side.signed_document = ConventionDocument.objects.create(
        convention=side.signed, title=f"Convention {spec['signed'][0]} signée", file=ContentFile(PDF, name="signee.pdf")
    )

    side.other = convention("other", kind=Convention.Kind.COLLECTIVE)
    side.other.companies.add(side.company_b)
    side.other_document = ConventionDocument.objects.create(
        convention=side.other, title="Projet de convention collective", file=ContentFile(PDF, name="projet.pdf")
    )
    side.signed_b = convention("signed_b")
    side.signed_b.companies.add(side.company_b)
    # The status is the services' business in the portal; here the rows are only a backdrop for the walk.
    Convention.objects.filter(pk__in=[side.signed.pk, side.signed_b.pk]).update(status=Convention.Status.ACTIVE)
    Convention.objects.filter(pk=side.other.pk).update(status=Convention.Status.NEGOTIATION)

    side.action_a = ActionFactory(
        title=spec["action_a"],
        departement=dep,
        club=side.club,
        convention=side.signed,
        logged_by=side.animator,
        start_date=today.replace(day=1),
    )
    side.action_a.companies.add(side.company_a)
    side.action_a.qpvs.add(*side.qpvs)
    side.action_b = ActionFactory(title=spec["action_b"], departement=dep, start_date=today.replace(day=1))
    side.action_b.companies.add(side.company_b)
    side.action_b.qpvs.add(side.qpvs[0])

    side.diagnostic_a = Diagnostic.objects.create(company=side.company_a, club=side.club, date=today)
    DiagnosticItem.objects.create(
        diagnostic=side.diagnostic_a, action_type=action_type("STAGE_3E"), status=DiagnosticItem.Status.DOING
    )
    side.diagnostic_b = Diagnostic.objects.create(company=side.company_b, date=today)

    # Practice sheets: the statuses are the services' business; here they are set as a backdrop for the walk.
    side.sheet = PracticeSheetFactory(
        title=spec["sheet"], departement=dep, author_organisation=side.club, status=PracticeSheet.Status.SUBMITTED
    )
    PracticeCompany.objects.create(sheet=side.sheet, company=side.company_a)
    side.sheet.actions.add(side.action_a)
    side.sheet_attachment = PracticeAttachment.objects.create(
        sheet=side.sheet,
        kind=PracticeAttachment.Kind.DOCUMENT,
        title="Bilan des stages",
        file=ContentFile(PDF, name="bilan.pdf"),
        original_name="bilan.pdf",
        content_type="application/pdf",
        size=len(PDF),
    )
    side.sheet_draft = PracticeSheetFactory(title=spec["sheet_draft"], departement=dep, author_organisation=side.club)
    side.sheet_other = PracticeSheetFactory(title=spec["sheet_other"], departement=dep, author_organisation=side.prefecture)
    side.sheet_published = PracticeSheetFactory(
        title=spec["sheet_published"],
        departement=dep,
        author_organisation=side.club,
        status=PracticeSheet.Status.PUBLISHED,
        published_at=timezone.now(),
        public=True,
    )
    # The préfecture wants to reproduce the club's published sheet (its authors and the national level see who).
    side.sheet_interest = PracticeInterest.objects.create(
        sheet=side.sheet_published, organisation=side.prefecture, message=f"Intérêt de la préfecture {code}"
    )

    # Open from January 1st to the next spring: whatever today is, the campaign of this year is running.
    side.campaign = evaluation_services.open_campaign(
        side.prefecture, None, start.year, spec["campaign"], start, max(start, today), datetime.date(start.year + 1, 3, 31)
    )
    side.declaration_a = side.campaign.declarations.get(company=side.company_a)
    side.declaration_b = side.campaign.declarations.get(company=side.company_b)
    side.evidence_a, side.evidence_b = (
        Evidence.objects.create(
            declaration=declaration,
            file=ContentFile(PDF, name="emargement.pdf"),
            original_name="emargement.pdf",
            content_type="application/pdf",
            size=len(PDF),
        )
        for declaration in (side.declaration_a, side.declaration_b)
    )
    return side


def _national(reference, title, company_name, side):
    """A national convention of a large group, declined locally (signed) in one département only."""
    start, end = _dates()
    group = CompanyFactory(name=company_name)
    national = ConventionFactory(
        reference=reference, title=title, kind=Convention.Kind.NATIONAL, departement=None, start_date=start, end_date=end
    )
    national.companies.add(group)
    declination = ConventionFactory(
        reference=f"{side.code.zfill(3)}-2026-0004",
        title=f"Déclinaison {company_name} {side.spec['departement']}",
        parent=national,
        # Signed (imported, without author): a concluded declination opens its national parent to the préfecture.
        status=Convention.Status.SIGNED,
        departement=side.departement,
        start_date=start,
        end_date=end,
    )
    declination.companies.add(group)
    return SimpleNamespace(group=group, convention=national, declination=declination)


def build_world():
    """Create the whole dataset and the people of each role (acting for the Hérault side)."""
    national_org = OrganisationFactory(kind=OrganisationKind.NATIONAL, name="Agence nationale de la cohésion des territoires")
    herault = _side("34")
    aude = _side("11")
    hexagone = _national("NAT-2026-0001", "Convention nationale Hexagone", "Groupe Hexagone", herault)
    atlantique = _national("NAT-2026-0002", "Convention nationale Atlantique", "Réseau Atlantique", aude)

    company_org = OrganisationFactory(kind=OrganisationKind.COMPANY, name=f"Compte {herault.company_a.name}")
    herault.company_a.organisation = company_org
    herault.company_a.save(update_fields=["organisation"])

    def admin_of(organisation, email):
        return MembershipFactory(user=UserFactory(email=email), organisation=organisation, role=Membership.Role.ADMIN).user

    users = {
        "national": admin_of(national_org, "national@anct.example.org"),
        "prefecture": admin_of(herault.prefecture, "agent@herault.example.org"),
        # The club's animator logged the Hérault's action A: the walk acts as the author.
        "club": herault.animator,
        "company": admin_of(company_org, "rse@garrigue.example.org"),
        "partner": admin_of(herault.partner, "politique-ville@metropole.example.org"),
    }
    nobody = UserFactory(email="ancien-agent@herault.example.org")
    MembershipFactory(user=nobody, organisation=herault.prefecture, is_active=False)
    users["nobody"] = nobody
    organisations = {
        "national": national_org,
        "prefecture": herault.prefecture,
        "club": herault.club,
        "company": company_org,
        "partner": herault.partner,
        "nobody": herault.prefecture,
    }
    return SimpleNamespace(
        herault=herault, aude=aude, hexagone=hexagone, atlantique=atlantique, users=users, organisations=organisations
    )
