"""The demo territory: Occitanie 2015-2017, after the seminars of Carcassonne and Montpellier (2017).

Built by `manage.py seed_demo` (the command lives in `evaluation`, which then adds the 2017 campaign from
`evaluation/demo.py`). This part lives in `conventions` because it touches every lower app (territories,
accounts, companies, conventions) and a lower app never imports a higher one.

Idempotent: everything is looked up by its natural key (codes, SIREN, SIRET, references, e-mails) and only
what is missing is created; existing rows, including anything people changed, are left alone and nothing
is ever deleted. Children (signatories, commitments, targets, diagnostic lines) are created with their
parent. The ~2,000 actions have no natural key: they carry a marker in their description, and when demo
actions already exist they are not created again.

Every random choice comes from generators seeded with constants, and the plan is computed before looking
at the database, so a fresh run always builds the same territory. Statuses are set directly on the
conventions (seed data may bypass the lifecycle service) while respecting every database constraint.
"""

import datetime
import random
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from charte.catalogue.models import ActionType, Family, Indicator
from charte.comptes.models import Membership, Organisation, OrganisationKind, PartnerCategory, User
from charte.territoires.importers import import_qpv
from charte.territoires.models import EPCI, QPV, Commune, Departement
from entreprises.models import ClubMembership, Company, Contact, Diagnostic, DiagnosticItem, Establishment, Label
from entreprises.validators import luhn_ok

from .models import Action, ActionPartner, Commitment, Convention, Signatory, Target

DEMO_PASSWORD = "demo-charte-2017"
DEMO_MARKER = "Donnée de démonstration : chiffres inventés."
INVENTED_NOTICE = (
    "Les chiffres de démonstration sont inventés : les entreprises et collectivités citées dans la synthèse des "
    "séminaires de 2017 (Engie, SNCF, Suez, BRL, 18 printemps, Services You, Le Grand Narbonne…) y figurent, "
    "mais leurs conventions, engagements, actions et résultats, comme toutes les autres entreprises, sont fictifs."
)
QPV_FILE = Path(__file__).resolve().parent.parent / "charte" / "territoires" / "data" / "qpv_occitanie_2015.csv"
ACTION_COUNT = 2000
ACTIONS_PER_YEAR = {2015: 560, 2016: 660, 2017: 780}
# Statuses are those of the end of 2017, the demo's "today".
DEMO_TODAY = datetime.date(2017, 12, 31)

DEPARTEMENTS = ("11", "30", "31", "34", "66")
# "de l'Hérault", "du Gard"...: titles and préfet names read naturally.
DEP_OF = {
    "11": "de l'Aude",
    "30": "du Gard",
    "31": "de la Haute-Garonne",
    "34": "de l'Hérault",
    "66": "des Pyrénées-Orientales",
}
CLUB_NAMES = {"11": "FACE Aude", "30": "FACE Gard", "34": "FACE Hérault", "66": "FACE Pyrénées-Orientales"}
# Departmental framework charters: Hérault signed in July 2015 with the Métropole, Haute-Garonne three
# years before the seminar, Gard on the DIRECCTE's initiative in September 2016.
FRAMEWORKS = {
    "34": (datetime.date(2015, 7, 9), datetime.date(2018, 7, 8)),
    "31": (datetime.date(2014, 10, 1), datetime.date(2018, 12, 31)),
    "66": (datetime.date(2016, 3, 1), datetime.date(2019, 2, 28)),
    "11": (datetime.date(2016, 6, 15), datetime.date(2019, 6, 14)),
    "30": (datetime.date(2016, 9, 20), datetime.date(2019, 9, 19)),
}

ANCT_NAME = "ANCT (ex-CGET)"
REGION_NAME = "Région Occitanie"
# Real SIREN of the three EPCI (Luhn checked); the communes of the demo that belong to them.
COLLECTIVITES = {
    "carcassonne": ("Carcassonne Agglo", "200035715", "11", ("11069",)),
    "narbonne": ("Le Grand Narbonne", "241100593", "11", ("11262",)),
    "montpellier": ("Montpellier Méditerranée Métropole", "243400017", "34", ("34172",)),
}
PRESIDENTS = {
    "carcassonne": "Le président de Carcassonne Agglo",
    "narbonne": "Le président du Grand Narbonne",
    "montpellier": "Le président de Montpellier Méditerranée Métropole",
}

# key, name, legal form, size, NAF, head-office commune (None: outside the region), other sites, action types
NAMED_COMPANIES = [
    (
        "engie",
        "Engie",
        "SA",
        "ge",
        "35.23Z",
        None,
        ("34172", "31555", "30189"),
        ("STAGE_3E", "ALTERNANCE", "INTERVENTION_CLASSE"),
    ),
    (
        "sncf",
        "SNCF",
        "SA",
        "ge",
        "49.10Z",
        None,
        ("31555", "34172", "11262", "11069"),
        ("TUTORAT", "DECOUVERTE_METIERS_FILLES", "STAGE_INSERTION"),
    ),
    ("suez", "Suez", "SA", "ge", "37.00Z", None, ("11069", "66136"), ("MECENAT_COMPETENCES", "COACHING_EMPLOI", "ALTERNANCE")),
    ("18printemps", "18 printemps", "SAS", "tpe", "70.22Z", "11069", (), ("LABEL_RSE", "STAGE_3E")),
    ("servicesyou", "Services You", "SAS", "tpe", "62.01Z", "34172", (), ("SERVICE_CIVIQUE", "SOUTIEN_CREATION")),
    ("brl", "BRL", "SA", "eti", "36.00Z", "30189", ("34172", "11069", "11262"), ("STAGE_3E", "SOUTIEN_CREATION", "DECROCHAGE")),
    (
        "grandnarbonne",
        "Le Grand Narbonne (employeur)",
        "Communauté d'agglomération",
        "eti",
        "84.11Z",
        "11262",
        (),
        ("SERVICE_CIVIQUE", "NON_DISCRIMINATION"),
    ),
]
REAL_SIRENS = {"engie": "542107651", "sncf": "552049447", "suez": "433466570", "grandnarbonne": "241100593"}
NATIONAL_SIGNATORIES = ("engie", "sncf", "suez")

# Invented local companies: name, legal form, size, NAF, commune. Names are made up for the demo.
INVENTED_COMPANIES = {
    "34": [
        ("Garrigues Numérique", "SAS", "pme", "62.01Z", "34172"),
        ("Transports Méditerranée Lez", "SAS", "pme", "49.41A", "34172"),
        ("Hôtellerie du Peyrou", "SARL", "pme", "55.10Z", "34172"),
        ("BTP Biterrois", "SAS", "pme", "41.20A", "34032"),
        ("Thau Maritime Logistique", "SAS", "pme", "52.24A", "34301"),
        ("Propreté Languedoc Services", "SAS", "eti", "81.21Z", "34172"),
        ("Boulangerie de Celleneuve", "SARL", "tpe", "10.71C", "34172"),
        ("Cabinet comptable agathois", "SARL", "tpe", "69.20Z", "34003"),
        ("Énergies solaires du Lunellois", "SAS", "pme", "35.11Z", "34145"),
        ("Imprimerie frontignanaise", "SARL", "tpe", "18.12Z", "34108"),
    ],
    "30": [
        ("Costières Viticulture", "Société coopérative agricole", "pme", "11.02A", "30341"),
        ("Mécanique alésienne", "SAS", "pme", "25.62B", "30007"),
        ("Nîmes Sécurité Gardiennage", "SAS", "pme", "80.10Z", "30189"),
        ("Garrigue Aide à domicile", "SAS", "pme", "88.10A", "30189"),
        ("Cévennes Bois Construction", "SARL", "pme", "16.23Z", "30132"),
        ("Rhône Chimie Services", "SAS", "eti", "20.59Z", "30028"),
        ("Beaucaire Logistique fluviale", "SAS", "pme", "52.10B", "30032"),
        ("Céramiques d'Uzès", "SARL", "tpe", "23.41Z", "30334"),
    ],
    "11": [
        ("Hôtellerie de la Cité", "SAS", "pme", "55.10Z", "11069"),
        ("Minervois Transports", "SARL", "pme", "49.41A", "11203"),
        ("Narbonne Plaisance Services", "SAS", "pme", "33.15Z", "11262"),
        ("Blanquette Distribution limouxine", "SAS", "pme", "46.34Z", "11206"),
        ("Garage du Razès", "SARL", "tpe", "45.20A", "11206"),
        ("Atelier numérique audois", "SAS", "tpe", "62.02A", "11069"),
        ("Corbières Bâtiment", "SARL", "pme", "43.21A", "11262"),
    ],
    "66": [
        ("Catalogne Fruits Export", "SAS", "pme", "46.31Z", "66136"),
        ("Propreté perpignanaise", "SAS", "pme", "81.21Z", "66136"),
        ("Roussillon Énergies", "SAS", "pme", "43.22B", "66136"),
        ("Maraîchage bio d'Elne", "Société civile d'exploitation agricole", "tpe", "01.13Z", "66065"),
        ("Transports Têt Méditerranée", "SAS", "pme", "49.41A", "66136"),
    ],
    "31": [
        ("Aéro Composites Blagnac", "SAS", "eti", "30.30Z", "31069"),
        ("Garonne Ingénierie", "SAS", "pme", "71.12B", "31555"),
        ("Restauration collective toulousaine", "SAS", "pme", "56.29A", "31555"),
        ("Mirail Informatique Services", "SAS", "pme", "62.02A", "31555"),
        ("Mécanique de précision columérine", "SAS", "pme", "25.62B", "31149"),
        ("Intérim solidaire d'Occitanie", "SAS", "pme", "78.20Z", "31555"),
        ("Muret Bâtiment Rénovation", "SARL", "pme", "43.39Z", "31395"),
        ("Pharmacie d'Empalot", "SELARL", "tpe", "47.73Z", "31555"),
        ("Paysages de Cugnaux", "SARL", "tpe", "81.30Z", "31157"),
        ("Comminges Bois", "SAS", "pme", "16.10A", "31483"),
        ("Garonne Assurances Conseil", "SAS", "pme", "66.22Z", "31555"),
        ("Hôtel du Capitole Services", "SAS", "pme", "55.10Z", "31555"),
        ("Télécoms Pyrénées Réseaux", "SAS", "eti", "61.10Z", "31555"),
        ("Logistique du Sud toulousain", "SAS", "pme", "52.29A", "31395"),
        ("Propreté urbaine toulousaine", "SAS", "eti", "81.21Z", "31555"),
    ],
}

# Local conventions of the named companies: (company, département, scenario).
NAMED_CONVENTIONS = [
    ("engie", "34", "active_g2"),
    ("engie", "31", "expired_renewed"),
    ("sncf", "34", "active_g1"),
    ("sncf", "11", "active_g2"),
    ("sncf", "31", "expired_renewed"),
    ("suez", "11", "active_g1"),
    ("suez", "66", "signed"),
    ("18printemps", "11", "active_g1"),
    ("servicesyou", "34", "active_g2"),
    ("brl", "34", "expired_renewed"),
    ("brl", "11", "active_g1"),
    ("brl", "30", "active_g2"),
    ("grandnarbonne", "11", "active_g1"),
]
# Club memberships of the named companies (the Grand Narbonne created FACE Aude's local branch).
NAMED_CLUBS = {
    "engie": ("34",),
    "sncf": ("34", "11"),
    "suez": ("11", "66"),
    "18printemps": ("11",),
    "servicesyou": ("34",),
    "brl": ("34", "11", "30"),
    "grandnarbonne": ("11",),
}
# Cycled over the invented companies of each département so every status shows up.
SCENARIO_PATTERN = (
    "active_g1",
    "expired_renewed",
    "active_g2",
    "expired",
    "active_g1",
    "signed",
    "expired_renewed",
    "active_g2",
    "negotiation",
    "active_g1",
    "draft",
    "expired_renewed",
    "active_g2",
)
# Limoux: the charter was to be launched there with FACE in 2017; its companies are still negotiating.
FORCED_SCENARIOS = {
    "Transports Méditerranée Lez": "terminated",
    "Blanquette Distribution limouxine": "negotiation",
    "Garage du Razès": "draft",
}
TERMINATION_REASON = (
    "Cession de l'activité de transport urbain à un groupe national : l'entreprise ne peut plus tenir ses "
    "engagements locaux. Résiliation d'un commun accord avec la préfecture."
)
COLLECTIVE_MEMBERS = (
    "engie",
    "servicesyou",
    "Garrigues Numérique",
    "Hôtellerie du Peyrou",
    "Propreté Languedoc Services",
    "Boulangerie de Celleneuve",
)

# Action types drawn for the ~2,000 actions, weighted as the clubs report them (invented weights).
ACTION_WEIGHTS = {
    "STAGE_3E": 18,
    "INTERVENTION_CLASSE": 14,
    "COACHING_EMPLOI": 9,
    "VISITE_ENTREPRISE": 7,
    "TUTORAT": 6,
    "ALTERNANCE": 6,
    "STAGE_INSERTION": 6,
    "JOB_DATING": 5,
    "RECRUTEMENT": 5,
    "MECENAT_COMPETENCES": 4,
    "DECROCHAGE": 3,
    "DECOUVERTE_METIERS_FILLES": 3,
    "SOUTIEN_CREATION": 3,
    "SERVICE_CIVIQUE": 2,
    "NON_DISCRIMINATION": 2,
    "ACHATS_INCLUSIFS": 2,
    "CLAUSE_SOCIALE": 2,
    "MECENAT_FINANCIER": 2,
    "MOBILITE_SERVICES": 1,
    "LABEL_RSE": 1,
}
# Per action type: beneficiaries (min, max), who they are (pupils, young, mixed, girls, none), employees
# (min, max), hours (min, max), duration in days (0: one day), partner kinds, school months only.
SCHOOL_MONTHS = (1, 2, 3, 4, 5, 6, 9, 10, 11, 12)
ALL_MONTHS = tuple(range(1, 13))
ACTION_PROFILES = {
    "STAGE_3E": ((1, 5), "pupils", (1, 3), (20, 70), 4, ("college",), (11, 12, 1, 2, 3)),
    "INTERVENTION_CLASSE": ((20, 90), "pupils", (1, 4), (2, 12), 0, ("college", "lycee"), SCHOOL_MONTHS),
    "VISITE_ENTREPRISE": ((10, 35), "pupils", (1, 5), (3, 15), 0, ("college", "lycee", "mission_locale"), SCHOOL_MONTHS),
    "TUTORAT": ((2, 12), "young", (2, 12), (20, 150), 180, ("lycee", "e2c", "association"), (9, 10, 11, 1)),
    "DECROCHAGE": ((5, 20), "pupils", (1, 5), (10, 60), 90, ("college", "association"), SCHOOL_MONTHS),
    "DECOUVERTE_METIERS_FILLES": ((10, 40), "girls", (2, 8), (4, 24), 0, ("college", "lycee"), SCHOOL_MONTHS),
    "ALTERNANCE": ((1, 4), "young", (1, 3), (100, 400), 364, ("mission_locale", "e2c"), (9, 10, 11)),
    "STAGE_INSERTION": ((1, 5), "mixed", (1, 3), (35, 140), 13, ("mission_locale", "e2c", "france_travail"), ALL_MONTHS),
    "COACHING_EMPLOI": ((6, 25), "mixed", (2, 8), (6, 40), 0, ("mission_locale", "france_travail", "association"), ALL_MONTHS),
    "JOB_DATING": ((20, 120), "mixed", (3, 15), (10, 60), 0, ("france_travail", "mission_locale", "collectivite"), ALL_MONTHS),
    "RECRUTEMENT": ((1, 6), "mixed", (1, 2), (4, 20), 0, ("france_travail", "mission_locale"), ALL_MONTHS),
    "SERVICE_CIVIQUE": ((1, 4), "young", (1, 2), (100, 400), 239, ("mission_locale", "association"), (9, 10, 11, 1)),
    "NON_DISCRIMINATION": ((0, 0), "none", (5, 30), (7, 70), 0, ("association", "other"), ALL_MONTHS),
    "ACHATS_INCLUSIFS": ((0, 0), "none", (1, 2), (0, 4), 0, ("association", "other"), ALL_MONTHS),
    "CLAUSE_SOCIALE": ((2, 12), "mixed", (1, 3), (200, 2500), 120, ("collectivite", "association"), ALL_MONTHS),
    "SOUTIEN_CREATION": ((3, 15), "mixed", (1, 6), (6, 60), 60, ("association", "other"), ALL_MONTHS),
    "MECENAT_COMPETENCES": ((0, 40), "mixed", (2, 12), (20, 300), 90, ("association", "lycee"), ALL_MONTHS),
    "MECENAT_FINANCIER": ((0, 80), "mixed", (0, 1), (0, 4), 0, ("association",), ALL_MONTHS),
    "MOBILITE_SERVICES": ((10, 100), "mixed", (1, 4), (5, 40), 30, ("association", "collectivite"), ALL_MONTHS),
    "LABEL_RSE": ((0, 0), "none", (3, 20), (10, 80), 180, ("other",), ALL_MONTHS),
}
# Share of the actions of each year per département: Gard starts late (September 2016).
DEP_WEIGHTS = {
    2015: {"34": 42, "31": 30, "11": 14, "66": 12, "30": 2},
    2016: {"34": 35, "31": 24, "11": 16, "66": 13, "30": 12},
    2017: {"34": 31, "31": 21, "11": 17, "66": 13, "30": 18},
}
PARTNER_NAMES = {
    "college": (
        "Collège Jean Moulin",
        "Collège Jules Ferry",
        "Collège Victor Hugo",
        "Collège Marie Curie",
        "Collège Jean Jaurès",
    ),
    "lycee": ("Lycée professionnel Louise Michel", "Lycée Jean Mermoz", "Lycée polyvalent Pierre Mendès France"),
    "mission_locale": ("Mission locale de {commune}",),
    "e2c": ("École de la deuxième chance de {commune}",),
    "france_travail": ("Pôle emploi {commune}",),
    "association": ("Association des habitants du quartier", "Régie de quartier de {commune}", "ADIE", "BGE", "CitésLab"),
    "collectivite": ("Ville de {commune}",),
    "other": ("Chambre de commerce et d'industrie", "FACE (fondation)", "GEIQ interprofessionnel"),
}
# Target base per indicator for a PME and one year; scaled by size and growing each year (invented).
TARGET_BASE = {
    "STAGE3_OFFERTS": 6,
    "STAGE3_ACCUEILLIS": 5,
    "INTERVENTIONS_CLASSE": 4,
    "ELEVES_SENSIBILISES": 80,
    "JEUNES_PARRAINES": 8,
    "ALTERNANCE_OFFERTES": 4,
    "ALTERNANTS_RECRUTES": 3,
    "STAGIAIRES_INSERTION": 5,
    "PERSONNES_COACHEES": 25,
    "OFFRES_EMPLOI": 20,
    "EMBAUCHES": 6,
    "EMBAUCHES_CDI": 3,
    "EMPLOI_DURABLE_6M": 3,
    "SERVICES_CIVIQUES": 3,
    "SALARIES_FORMES_NON_DISCRIMINATION": 10,
    "ACHATS_INCLUSIFS_EUR": 15000,
    "HEURES_INSERTION": 1500,
    "PORTEURS_ACCOMPAGNES": 8,
    "ENTREPRISES_CREEES": 3,
    "HEURES_MECENAT": 120,
    "MECENAT_EUR": 5000,
    "ASSOCIATIONS_SOUTENUES": 3,
    "SALARIES_MOBILISES": 10,
    "BENEFICIAIRES": 40,
    "BENEFICIAIRES_QPV": 20,
}
SIZE_FACTOR = {"tpe": 0.3, "pme": 1, "eti": 2.5, "ge": 5}
FIRST_NAMES = (
    "Camille", "Nadia", "Julien", "Sophie", "Karim", "Isabelle", "Thomas", "Claire", "Mehdi", "Laure",
    "Pierre", "Aïcha", "Nicolas", "Émilie", "Youssef", "Hélène", "Marc", "Inès", "Olivier", "Sarah",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Garcia", "Fabre", "Roux", "Benali", "Vidal", "Martinez", "Dumas", "Haddad", "Bonnet",
    "Lopez", "Mercier", "Ferrer", "Arnaud", "Castel", "Bousquet", "Sanchez", "Pujol", "Marty", "Durand",
)  # fmt: skip
JOB_TITLES = (
    "Responsable RSE",
    "Directrice des ressources humaines",
    "Gérant",
    "Chargée de mission diversité",
    "Directeur d'agence",
)

# email, first name, last name, organisation key, membership role, role label
DEMO_ACCOUNTS = [
    ("national@demo.charte.fr", "Claire", "Dumas", "anct", "admin", "Niveau national (ANCT)"),
    ("prefecture.herault@demo.charte.fr", "Julien", "Roux", "prefecture-34", "admin", "Préfecture de l'Hérault"),
    ("prefecture.aude@demo.charte.fr", "Sophie", "Martinez", "prefecture-11", "admin", "Préfecture de l'Aude"),
    ("animateur.face-herault@demo.charte.fr", "Karim", "Haddad", "club-34", "admin", "Animateur du club FACE Hérault"),
    ("entreprise.brl@demo.charte.fr", "Isabelle", "Vidal", "company-brl", "admin", "Entreprise BRL"),
    # A second BRL account, simple member: its administrator can try a role change or a deactivation.
    ("collaborateur.brl@demo.charte.fr", "Mehdi", "Benali", "company-brl", "member", "Entreprise BRL (membre)"),
    ("partenaire@demo.charte.fr", "Thomas", "Garcia", "montpellier", "admin", "Partenaire (Montpellier Méditerranée Métropole)"),
]


def is_seeded():
    """Whether the demo territory is loaded (its accounts exist): the reports then carry the invented-data
    warning. A lookup on the e-mail index, where a search of the actions' descriptions would scan the table."""
    return User.objects.filter(email__in=[account[0] for account in DEMO_ACCOUNTS]).exists()


ADMIN_ACCOUNT = ("admin@demo.charte.fr", "Admin", "Démo", "Superutilisateur (administration Django)")

COUNTED_MODELS = (
    ("QPV", QPV),
    ("Communes", Commune),
    ("EPCI", EPCI),
    ("Organisations", Organisation),
    ("Utilisateurs", User),
    ("Adhésions (comptes)", Membership),
    ("Entreprises", Company),
    ("Établissements", Establishment),
    ("Labels", Label),
    ("Adhésions aux clubs", ClubMembership),
    ("Contacts", Contact),
    ("Diagnostics", Diagnostic),
    ("Lignes de diagnostic", DiagnosticItem),
    ("Conventions", Convention),
    ("Signataires", Signatory),
    ("Engagements", Commitment),
    ("Objectifs", Target),
    ("Actions", Action),
    ("Structures partenaires", ActionPartner),
)


def with_luhn_key(prefix: str) -> str:
    """Append the digit that makes the number pass the Luhn check (SIREN, SIRET)."""
    return next(prefix + digit for digit in "0123456789" if luhn_ok(prefix + digit))


def slugify_ascii(value: str) -> str:
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    return "".join(char if char.isalnum() else "-" for char in value).strip("-").replace("--", "-")


def add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def noon(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, 12, tzinfo=datetime.UTC)


# --- The plan: pure data, computed before touching the database ------------------------------------


@dataclass
class CompanyPlan:
    key: str
    siren: str
    name: str
    legal_form: str
    size: str
    naf: str
    commune: str | None
    sites: tuple
    types: tuple
    contact: tuple  # first name, last name, job title
    director: str
    national: bool = False

    @property
    def communes(self):
        return ((self.commune,) if self.commune else ()) + tuple(self.sites)

    def departements(self):
        return {code[:2] for code in self.communes}


@dataclass
class ConventionPlan:
    reference: str
    title: str
    kind: str
    status: str
    generation: int
    start: datetime.date
    end: datetime.date
    departement: str | None
    companies: list
    types: tuple
    signed_on: datetime.date | None = None
    status_date: datetime.date | None = None
    termination_reason: str = ""
    parent: str | None = None
    predecessor: str | None = None
    framework: str | None = None
    club: bool = False
    size: str = "pme"
    extra_signatories: list = field(default_factory=list)


def person(rng):
    return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)


def plan_companies():
    rng = random.Random("entreprises-2017")
    companies = []
    for key, name, legal_form, size, naf, commune, sites, types in NAMED_COMPANIES:
        siren = REAL_SIRENS.get(key) or with_luhn_key(f"8{(commune or '00000')[:2]}{len(companies) + 1:05d}")
        first, last = person(rng)
        companies.append(
            CompanyPlan(
                key=key,
                siren=siren,
                name=name,
                legal_form=legal_form,
                size=size,
                naf=naf,
                commune=commune,
                sites=sites,
                types=types,
                contact=(first, last, rng.choice(JOB_TITLES)),
                director=" ".join(person(rng)),
                national=key in NATIONAL_SIGNATORIES,
            )
        )
    weighted_types = list(ACTION_WEIGHTS)
    weights = list(ACTION_WEIGHTS.values())
    for dep, rows in INVENTED_COMPANIES.items():
        for index, (name, legal_form, size, naf, commune) in enumerate(rows, start=1):
            types = []
            while len(types) < rng.choice((2, 3)):
                code = rng.choices(weighted_types, weights)[0]
                if code not in types:
                    types.append(code)
            first, last = person(rng)
            companies.append(
                CompanyPlan(
                    key=name,
                    siren=with_luhn_key(f"7{dep}{index:05d}"),
                    name=name,
                    legal_form=legal_form,
                    size=size,
                    naf=naf,
                    commune=commune,
                    sites=(),
                    types=tuple(types),
                    contact=(first, last, rng.choice(JOB_TITLES)),
                    director=" ".join(person(rng)),
                )
            )
    return companies


def scenario_dates(scenario, dep, rng):
    """[(generation, status, start, end, status_date)] for one company in one département; the second
    item, when there is one, renews the first."""
    framework_start = FRAMEWORKS[dep][0]
    first_year = max(framework_start.year, 2015)

    def start_in(year):
        return max(datetime.date(year, rng.randint(1, 10), 1), framework_start + datetime.timedelta(days=30))

    def term(start, years):
        return add_years(start, years) - datetime.timedelta(days=1)

    # A first convention needs time to run and expire before the second generation of 2017.
    if scenario == "expired_renewed" and framework_start >= datetime.date(2016, 6, 1):
        scenario = "active_g2"
    if scenario == "expired_renewed":
        start = start_in(first_year)
        first = (1, Convention.Status.EXPIRED, start, datetime.date(2016, 12, 31), datetime.date(2016, 12, 31))
        renewal_start = datetime.date(2017, 1, 1)
        return [first, (2, Convention.Status.ACTIVE, renewal_start, datetime.date(2019, 12, 31), renewal_start)]
    if scenario == "expired":
        start = start_in(first_year)
        end = min(term(start, 1), datetime.date(2016, 12, 31)) if first_year == 2015 else term(start, 1)
        return [(1, Convention.Status.EXPIRED, start, end, end)]
    if scenario == "active_g1":
        start = start_in(min(first_year + rng.randint(0, 1), 2017))
        return [(1, Convention.Status.ACTIVE, start, term(start, 3), start)]
    if scenario == "active_g2":
        start = start_in(2017)
        return [(2, Convention.Status.ACTIVE, start, term(start, 3), start)]
    if scenario == "terminated":
        start = start_in(first_year)
        return [(1, Convention.Status.TERMINATED, start, term(start, 3), datetime.date(2017, 6, 30))]
    if scenario == "signed":
        return [
            (2, Convention.Status.SIGNED, datetime.date(2018, 1, 1), datetime.date(2020, 12, 31), datetime.date(2017, 11, 20))
        ]
    if scenario == "negotiation":
        return [
            (2, Convention.Status.NEGOTIATION, datetime.date(2018, 1, 1), datetime.date(2020, 12, 31), datetime.date(2017, 10, 2))
        ]
    if scenario == "draft":
        return [(2, Convention.Status.DRAFT, datetime.date(2018, 3, 1), datetime.date(2021, 2, 28), None)]
    raise ValueError(scenario)


def plan_conventions(companies):
    rng = random.Random("conventions-2017")
    by_key = {company.key: company for company in companies}
    plans = []
    for dep, (start, end) in FRAMEWORKS.items():
        plans.append(
            ConventionPlan(
                reference=f"CADRE-{dep:0>3}-{start.year}",
                title=f"Charte Entreprises et Quartiers — charte-cadre départementale {DEP_OF[dep]}",
                kind=Convention.Kind.FRAMEWORK,
                status=Convention.Status.ACTIVE,
                generation=1,
                start=start,
                end=end,
                departement=dep,
                companies=[],
                types=(),
                signed_on=start,
                status_date=start,
                club=dep in CLUB_NAMES,
            )
        )
    national_refs = {}
    for key in NATIONAL_SIGNATORIES:
        company = by_key[key]
        reference = f"NAT-2014-{key.upper()}"
        national_refs[key] = reference
        plans.append(
            ConventionPlan(
                reference=reference,
                title=f"Convention nationale Entreprises et Quartiers — {company.name}",
                kind=Convention.Kind.NATIONAL,
                status=Convention.Status.ACTIVE,
                generation=1,
                start=datetime.date(2014, 3, 1),
                end=datetime.date(2017, 12, 31),
                departement=None,
                companies=[key],
                types=company.types,
                signed_on=datetime.date(2014, 2, 12),
                status_date=datetime.date(2014, 3, 1),
                size=company.size,
            )
        )

    wanted = list(NAMED_CONVENTIONS)
    for dep, rows in INVENTED_COMPANIES.items():
        offset = DEPARTEMENTS.index(dep) * 3
        for index, row in enumerate(rows):
            name = row[0]
            wanted.append((name, dep, FORCED_SCENARIOS.get(name, SCENARIO_PATTERN[(index + offset) % len(SCENARIO_PATTERN)])))

    sequences = {}

    def next_reference(dep, year):
        sequences[dep, year] = sequences.get((dep, year), 0) + 1
        return f"{dep:0>3}-{year}-{sequences[dep, year]:04d}"

    for key, dep, scenario in wanted:
        company = by_key[key]
        previous = None
        for generation, status, start, end, status_date in scenario_dates(scenario, dep, rng):
            reference = next_reference(dep, start.year)
            title = f"Convention locale Entreprises et Quartiers — {company.name} ({DEP_OF[dep].split(' ', 1)[1]})"
            if previous:
                title += " — renouvellement"
            types = list(company.types)
            rng.shuffle(types)
            if status == Convention.Status.SIGNED:
                signed_on = status_date
            elif status in (Convention.Status.ACTIVE, Convention.Status.EXPIRED, Convention.Status.TERMINATED):
                signed_on = start - datetime.timedelta(days=rng.randint(10, 40))
            else:
                signed_on = None
            plans.append(
                ConventionPlan(
                    reference=reference,
                    title=title,
                    kind=Convention.Kind.LOCAL,
                    status=status,
                    generation=generation,
                    start=start,
                    end=end,
                    departement=dep,
                    companies=[key],
                    types=tuple(sorted(types[: rng.choice((2, 3))], key=company.types.index)),
                    signed_on=signed_on,
                    status_date=status_date,
                    termination_reason=TERMINATION_REASON if status == Convention.Status.TERMINATED else "",
                    parent=national_refs.get(key) if start <= DEMO_TODAY else None,
                    predecessor=previous,
                    framework=f"CADRE-{dep:0>3}-{FRAMEWORKS[dep][0].year}",
                    club=dep in CLUB_NAMES,
                    size=company.size,
                )
            )
            previous = reference

    plans.append(
        ConventionPlan(
            reference="COLL-034-2017-01",
            title="Stages de 3e partagés à Montpellier (sur le modèle de « Tous en stage »)",
            kind=Convention.Kind.COLLECTIVE,
            status=Convention.Status.ACTIVE,
            generation=2,
            start=datetime.date(2017, 1, 1),
            end=datetime.date(2019, 12, 31),
            departement="34",
            companies=list(COLLECTIVE_MEMBERS),
            types=("STAGE_3E",),
            signed_on=datetime.date(2016, 12, 8),
            status_date=datetime.date(2017, 1, 1),
            framework="CADRE-034-2015",
            club=True,
            size="ge",
            extra_signatories=[
                ("other", "Le président de l'association des stages partagés", "Association « Stages partagés 34 »")
            ],
        )
    )
    return plans


# --- Writing -----------------------------------------------------------------------------------------


@dataclass
class DemoReport:
    qpv_summary: str = ""
    actions_created: int = 0
    counts: dict = field(default_factory=dict)
    accounts: list = field(default_factory=list)


class DemoBuilder:
    def __init__(self):
        self.report = DemoReport()
        self.deps = {}
        self.orgs = {}
        self.companies = {}
        self.conventions = {}
        self.users = {}
        self.company_plans = []
        self.convention_plans = []

    def run(self):
        with transaction.atomic():
            self.load_territory()
            self.create_organisations()
            self.create_accounts()
            self.create_companies()
            self.create_conventions()
            self.create_diagnostics()
            self.create_actions()
        self.report.counts = {label: model.objects.count() for label, model in COUNTED_MODELS}
        return self.report

    # Territory ---------------------------------------------------------------------------------------

    def load_territory(self):
        qpv_report = import_qpv(QPV_FILE, generation=2015)
        self.report.qpv_summary = qpv_report.summary()
        self.deps = {dep.code: dep for dep in Departement.objects.filter(code__in=DEPARTEMENTS)}
        self.communes = {commune.code: commune for commune in Commune.objects.filter(departement__code__in=DEPARTEMENTS)}
        self.epcis = {}
        for key, (name, siren, _dep, communes) in COLLECTIVITES.items():
            epci, _ = EPCI.objects.get_or_create(siren=siren, defaults={"name": name})
            self.epcis[key] = epci
            # Only fill a missing link: an imported referential knows better than the demo.
            Commune.objects.filter(code__in=communes, epci__isnull=True).update(epci=epci)
            # The QPV file names no EPCI: a QPV lying wholly in the EPCI's communes belongs to it.
            outside = QPV.communes.through.objects.exclude(commune__code__in=communes).values("qpv_id")
            QPV.objects.filter(epci__isnull=True, communes__code__in=communes).exclude(pk__in=outside).update(epci=epci)

    # Organisations and accounts ------------------------------------------------------------------------

    def organisation(self, key, kind, name, departements=(), **fields):
        org, created = Organisation.objects.get_or_create(kind=kind, name=name, defaults=fields)
        if created and departements:
            org.departements.set(departements)
        self.orgs[key] = org
        return org

    def create_organisations(self):
        self.organisation("anct", OrganisationKind.NATIONAL, ANCT_NAME)
        for dep in DEPARTEMENTS:
            self.organisation(f"prefecture-{dep}", OrganisationKind.PREFECTURE, f"Préfecture {DEP_OF[dep]}", [self.deps[dep]])
        for dep, name in CLUB_NAMES.items():
            self.organisation(f"club-{dep}", OrganisationKind.CLUB, name, [self.deps[dep]], network="face")
        for key, (name, _siren, dep, _communes) in COLLECTIVITES.items():
            self.organisation(
                key,
                OrganisationKind.PARTNER,
                name,
                [self.deps[dep]],
                partner_category=PartnerCategory.COLLECTIVITE,
                epci=self.epcis[key],
            )
            # A demo seeded before partners were scoped to their EPCI gets the link too (never replaced).
            Organisation.objects.filter(pk=self.orgs[key].pk, epci__isnull=True).update(epci=self.epcis[key])
        occitanie = Departement.objects.filter(region__code="76")
        self.organisation(
            "region", OrganisationKind.PARTNER, REGION_NAME, list(occitanie), partner_category=PartnerCategory.REGION
        )
        self.organisation("company-brl", OrganisationKind.COMPANY, "BRL", [self.deps["30"], self.deps["34"], self.deps["11"]])

    def create_accounts(self):
        for email, first_name, last_name, org_key, role, label in DEMO_ACCOUNTS:
            user = self.user(email, first_name, last_name)
            Membership.objects.get_or_create(user=user, organisation=self.orgs[org_key], defaults={"role": role})
            self.report.accounts.append((email, label, self.orgs[org_key].name))
        # Every demo organisation with accounts keeps an active administrator (a demo loaded by an older version
        # made the partner a simple member), so that its members and invitations pages can be tried.
        for email, _first, _last, org_key, role, _label in DEMO_ACCOUNTS:
            organisation = self.orgs[org_key]
            if role == "admin" and not organisation.memberships.filter(role="admin", is_active=True).exists():
                Membership.objects.filter(user__email=email, organisation=organisation).update(role="admin", is_active=True)
        email, first_name, last_name, label = ADMIN_ACCOUNT
        self.user(email, first_name, last_name, is_staff=True, is_superuser=True)
        self.report.accounts.append((email, label, "—"))

    def user(self, email, first_name, last_name, **flags):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            # Only a new account gets the demo password: someone may have changed theirs since.
            user = User(email=email, first_name=first_name, last_name=last_name, **flags)
            user.set_password(DEMO_PASSWORD)
            user.save()
        self.users[email.split("@")[0]] = user
        return user

    # Companies ------------------------------------------------------------------------------------------

    def create_companies(self):
        self.company_plans = plan_companies()
        lucie, _ = Label.objects.get_or_create(name="Lucie")
        rng = random.Random("adhesions-2017")
        for plan in self.company_plans:
            company, created = Company.objects.get_or_create(
                siren=plan.siren,
                defaults={
                    "name": plan.name,
                    "legal_form": plan.legal_form,
                    "size": plan.size,
                    "naf_code": plan.naf,
                    "commune": self.communes.get(plan.commune),
                    "is_national_signatory": plan.national,
                },
            )
            self.companies[plan.key] = company
            if plan.key == "18printemps":
                company.labels.add(lucie)
            if plan.key == "brl" and company.organisation_id is None:
                company.organisation = self.orgs["company-brl"]
                company.save(update_fields=["organisation", "updated_at"])
            # Drawn whether or not the company exists, so the later draws (and their natural keys) never shift.
            phone = f"04 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
            if created:
                self.create_establishments(company, plan)
                first, last, job_title = plan.contact
                Contact.objects.create(
                    company=company,
                    first_name=first,
                    last_name=last,
                    job_title=job_title,
                    email=f"{slugify_ascii(first)}.{slugify_ascii(last)}@{slugify_ascii(plan.name)}.example",
                    phone=phone,
                    is_main=True,
                )
            self.create_club_memberships(company, plan, rng)

    def create_establishments(self, company, plan):
        for index, code in enumerate(plan.communes, start=1):
            siret = with_luhn_key(f"{plan.siren}{index:04d}")
            commune = self.communes.get(code)
            is_head_office = code == plan.commune and index == 1
            Establishment.objects.get_or_create(
                siret=siret,
                defaults={
                    "company": company,
                    "name": f"{plan.name} — {'siège' if is_head_office else 'établissement'} de {commune.name}",
                    "commune": commune,
                    "is_head_office": is_head_office,
                },
            )

    def create_club_memberships(self, company, plan, rng):
        if plan.key in NAMED_CLUBS:
            deps = NAMED_CLUBS[plan.key]
        else:
            dep = plan.commune[:2]
            deps = (dep,) if dep in CLUB_NAMES else ()
        for dep in deps:
            earliest = max(FRAMEWORKS[dep][0] - datetime.timedelta(days=365), datetime.date(2013, 1, 1))
            start = earliest + datetime.timedelta(days=rng.randint(0, 300))
            if FORCED_SCENARIOS.get(plan.key) in ("negotiation", "draft"):
                start = datetime.date(2017, rng.randint(2, 9), 1)
            end = datetime.date(2017, 6, 30) if FORCED_SCENARIOS.get(plan.key) == "terminated" else None
            ClubMembership.objects.get_or_create(
                company=company, club=self.orgs[f"club-{dep}"], start_date=start, defaults={"end_date": end}
            )

    # Conventions ----------------------------------------------------------------------------------------

    def create_conventions(self):
        self.convention_plans = plan_conventions(self.company_plans)
        self.action_types = {t.code: t for t in ActionType.objects.select_related("family").prefetch_related("indicators")}
        self.families = {f.code: f for f in Family.objects.all()}
        self.indicators = {i.code: i for i in Indicator.objects.all()}
        plans_by_key = {plan.key: plan for plan in self.company_plans}
        rng = random.Random("signataires-2017")
        for plan in self.convention_plans:
            convention, created = Convention.objects.get_or_create(
                reference=plan.reference,
                defaults={
                    "title": plan.title,
                    "kind": plan.kind,
                    "status": plan.status,
                    "generation": plan.generation,
                    "start_date": plan.start,
                    "end_date": plan.end,
                    "departement": self.deps.get(plan.departement),
                    "club": self.orgs.get(f"club-{plan.departement}") if plan.club else None,
                    "termination_reason": plan.termination_reason,
                    "status_changed_at": noon(plan.status_date) if plan.status_date else None,
                    "parent": self.conventions.get(plan.parent),
                    "predecessor": self.conventions.get(plan.predecessor),
                    "framework": self.conventions.get(plan.framework),
                },
            )
            self.conventions[plan.reference] = convention
            convention.demo_plan = plan
            if not created:
                continue
            convention.companies.add(*(self.companies[key] for key in plan.companies))
            self.create_signatories(convention, plan, plans_by_key, rng)
            self.create_commitments(convention, plan)

    def create_signatories(self, convention, plan, plans_by_key, rng):
        if plan.status == Convention.Status.DRAFT:
            return
        signed_on = plan.signed_on if plan.status != Convention.Status.NEGOTIATION else None
        rows = []
        if plan.kind == Convention.Kind.NATIONAL:
            rows.append((Signatory.Role.ANCT, "Le commissaire général à l'égalité des territoires", "CGET (aujourd'hui ANCT)"))
            rows.append((Signatory.Role.OTHER, "Le ministre de la Ville", "Ministère de la Ville"))
        else:
            dep = plan.departement
            rows.append((Signatory.Role.PREFET, f"Le préfet {DEP_OF[dep]}", f"Préfecture {DEP_OF[dep]}"))
            if any(plans_by_key[key].commune == "11206" for key in plan.companies):
                rows.append((Signatory.Role.SOUS_PREFET, "La sous-préfète de Limoux", "Sous-préfecture de Limoux"))
            if plan.kind == Convention.Kind.FRAMEWORK and dep == "30":
                rows.append((Signatory.Role.OTHER, "La directrice de l'unité départementale", "DIRECCTE Occitanie — UD du Gard"))
        for key in plan.companies:
            company = plans_by_key[key]
            rows.append((Signatory.Role.COMPANY_DIRECTOR, company.director, company.name))
        if plan.club:
            rows.append((Signatory.Role.CLUB_PRESIDENT, " ".join(person(rng)), CLUB_NAMES[plan.departement]))
        for key, (name, _siren, dep, communes) in COLLECTIVITES.items():
            in_area = any(code in communes for c in plan.companies for code in plans_by_key[c].communes)
            if dep == plan.departement and (plan.kind == Convention.Kind.FRAMEWORK or in_area):
                rows.append((Signatory.Role.COLLECTIVITE, PRESIDENTS[key], name))
        rows += plan.extra_signatories
        Signatory.objects.bulk_create(
            Signatory(convention=convention, role=role, name=name, organisation_name=org, signed_on=signed_on)
            for role, name, org in rows
        )

    def create_commitments(self, convention, plan):
        targets = []
        for index, code in enumerate(plan.types):
            action_type = self.action_types[code]
            commitment = Commitment.objects.create(
                convention=convention,
                family=action_type.family,
                action_type=action_type,
                description=f"{action_type.label} au bénéfice des habitants des quartiers prioritaires.",
            )
            if plan.generation != Convention.Generation.SECOND:
                continue
            for indicator in action_type.indicators.all():
                if not indicator.is_declarable:
                    continue
                for offset, year in enumerate(range(plan.start.year, plan.end.year + 1)):
                    base = TARGET_BASE.get(indicator.code, 5) * SIZE_FACTOR[plan.size] * (1 + 0.15 * offset) * (1 + 0.1 * index)
                    targets.append(Target(commitment=commitment, indicator=indicator, year=year, value=max(1, round(base))))
        Target.objects.bulk_create(targets)

    # Diagnostics ----------------------------------------------------------------------------------------

    def create_diagnostics(self):
        rng = random.Random("diagnostics-2017")
        first_convention = {}
        for plan in self.convention_plans:
            if plan.kind == Convention.Kind.LOCAL:
                first_convention.setdefault(plan.companies[0], plan)
        codes = sorted(self.action_types)
        for plan in self.company_plans:
            convention = first_convention.get(plan.key)
            if convention is None or plan.national:
                continue
            # The Gard diagnosed every company before signing; elsewhere about half were.
            if convention.departement != "30" and rng.random() < 0.5:
                continue
            club = self.orgs.get(f"club-{convention.departement}")
            diagnostic, created = Diagnostic.objects.get_or_create(
                company=self.companies[plan.key],
                date=convention.start - datetime.timedelta(days=60),
                defaults={
                    "club": club,
                    "comment": "Diagnostic réalisé avant la signature de la convention.",
                    "author": self.users["animateur.face-herault"] if convention.departement == "34" else None,
                },
            )
            statuses = [self.diagnostic_status(code, plan, rng) for code in codes]
            if created:
                DiagnosticItem.objects.bulk_create(
                    DiagnosticItem(diagnostic=diagnostic, action_type=self.action_types[code], status=status)
                    for code, status in zip(codes, statuses, strict=True)
                    if status
                )

    @staticmethod
    def diagnostic_status(code, plan, rng):
        draw = rng.random()
        if code in plan.types:
            return DiagnosticItem.Status.DOING if draw < 0.7 else DiagnosticItem.Status.WANTS
        if draw < 0.2:
            return DiagnosticItem.Status.WANTS
        if draw < 0.5:
            return DiagnosticItem.Status.NOT_CONCERNED
        return None

    # Actions ----------------------------------------------------------------------------------------------

    def create_actions(self):
        if Action.objects.filter(description__endswith=DEMO_MARKER).exists():
            return
        generator = ActionGenerator(self)
        actions = generator.special_actions() + generator.random_actions(ACTION_COUNT - len(generator.specials_spec()))
        Action.objects.bulk_create([row.action for row in actions], batch_size=500)
        CompanyLink = Action.companies.through
        QPVLink = Action.qpvs.through
        CompanyLink.objects.bulk_create(
            [CompanyLink(action_id=row.action.pk, company_id=company.pk) for row in actions for company in row.companies],
            batch_size=1000,
        )
        QPVLink.objects.bulk_create(
            [QPVLink(action_id=row.action.pk, qpv_id=qpv.pk) for row in actions for qpv in row.qpvs], batch_size=1000
        )
        ActionPartner.objects.bulk_create(
            [ActionPartner(action_id=row.action.pk, kind=kind, name=name) for row in actions for kind, name in row.partners],
            batch_size=1000,
        )
        self.report.actions_created = len(actions)


@dataclass
class ActionRow:
    action: Action
    companies: list
    qpvs: list
    partners: list


class ActionGenerator:
    """Draws the demo actions from `random.Random(2017)`, in an order that never depends on the database."""

    def __init__(self, builder):
        self.b = builder
        self.rng = random.Random(2017)
        self.qpvs_by_dep = {}
        self.qpvs_by_commune = {}
        links = QPV.communes.through.objects.filter(qpv__departement__code__in=DEPARTEMENTS, qpv__generation=2015).values_list(
            "qpv_id", "commune__code"
        )
        qpvs = {qpv.pk: qpv for qpv in QPV.objects.filter(departement__code__in=DEPARTEMENTS, generation=2015).order_by("code")}
        for qpv in qpvs.values():
            self.qpvs_by_dep.setdefault(qpv.code[3:5], []).append(qpv)
        for qpv_id, commune_code in sorted(links, key=lambda link: (qpvs[link[0]].code, link[1])):
            self.qpvs_by_commune.setdefault(commune_code, []).append(qpvs[qpv_id])
        self.companies_by_dep = {dep: [] for dep in DEPARTEMENTS}
        for plan in builder.company_plans:
            for dep in sorted(plan.departements()):
                self.companies_by_dep[dep].append(plan)
        self.conventions_by_company = {}
        for convention in builder.conventions.values():
            plan = convention.demo_plan
            if plan.kind not in (Convention.Kind.LOCAL, Convention.Kind.COLLECTIVE):
                continue
            if plan.status in (Convention.Status.DRAFT, Convention.Status.NEGOTIATION):
                continue
            last_day = plan.status_date if plan.status == Convention.Status.TERMINATED else plan.end
            for key in plan.companies:
                self.conventions_by_company.setdefault((key, plan.departement), []).append((plan.start, last_day, convention))
        self.animator = builder.users["animateur.face-herault"]
        self.brl_user = builder.users["entreprise.brl"]

    def pick_qpvs(self, dep, plans, count):
        """QPV of the communes where the companies are, completed by other QPV of the département."""
        nearby = []
        for plan in plans:
            for code in plan.communes:
                if code[:2] == dep:
                    nearby += [q for q in self.qpvs_by_commune.get(code, []) if q not in nearby]
        if len(nearby) >= count:
            return self.rng.sample(nearby, count)
        others = [q for q in self.qpvs_by_dep[dep] if q not in nearby]
        return nearby + self.rng.sample(others, count - len(nearby))

    def convention_for(self, plans, dep, day, type_code):
        if type_code == "STAGE_3E" and len(plans) > 1:
            collective = self.b.conventions["COLL-034-2017-01"]
            members = set(collective.demo_plan.companies)
            if dep == "34" and collective.start_date <= day <= collective.end_date and {p.key for p in plans} <= members:
                return collective
        for start, last_day, convention in self.conventions_by_company.get((plans[0].key, dep), []):
            if start <= day <= last_day and convention.demo_plan.kind == Convention.Kind.LOCAL:
                return convention
        return None

    def partners(self, type_code, dep, commune_name, count):
        kinds = ACTION_PROFILES[type_code][5]
        chosen = []
        for _ in range(count):
            kind = self.rng.choice(kinds)
            name = self.rng.choice(PARTNER_NAMES[kind]).format(commune=commune_name)
            if kind in ("college", "lycee"):
                name = f"{name} ({commune_name})"
            if (kind, name) not in chosen:
                chosen.append((kind, name))
        return chosen

    def counts(self, type_code):
        (low, high), public, employees, hours, *_ = ACTION_PROFILES[type_code]
        rng = self.rng
        total = rng.randint(low, high)
        if public == "girls":
            women = total
        elif public == "none":
            women = 0
        else:
            women = round(total * rng.uniform(0.3, 0.62))
        under_26 = {
            "pupils": total,
            "girls": total,
            "young": round(total * rng.uniform(0.8, 1)),
            "mixed": round(total * rng.uniform(0.2, 0.7)),
            "none": 0,
        }[public]
        # Some actions reach the quartiers badly: the question the seminar asked.
        qpv = round(total * (rng.uniform(0.15, 0.45) if rng.random() < 0.2 else rng.uniform(0.5, 0.95)))
        return {
            "beneficiaries_total": total,
            "beneficiaries_women": min(women, total),
            "beneficiaries_under_26": min(under_26, total),
            "beneficiaries_qpv": min(qpv, total),
            "employees_involved": rng.randint(*employees),
            "hours": rng.randint(*hours),
        }

    def build(
        self,
        type_code,
        dep,
        plans,
        day,
        *,
        title=None,
        description="",
        counts=None,
        qpvs=None,
        partners=None,
        end=None,
        with_club=True,
    ):
        action_type = self.b.action_types[type_code]
        duration = ACTION_PROFILES[type_code][4]
        if end is None and duration:
            end = day + datetime.timedelta(days=duration)
        home = next((code for plan in plans for code in plan.communes if code[:2] == dep), None)
        commune_name = self.b.communes[home].name if home else self.b.deps[dep].name
        qpvs = qpvs if qpvs is not None else self.pick_qpvs(dep, plans, 1 if self.rng.random() < 0.7 else 2)
        partners = (
            partners if partners is not None else self.partners(type_code, dep, commune_name, self.rng.choice((0, 1, 1, 2)))
        )
        counts = counts or self.counts(type_code)
        if plans[0].key == "brl" and dep != "34":
            logged_by = self.brl_user
        elif dep == "34":
            logged_by = self.animator
        else:
            logged_by = None
        action = Action(
            action_type=action_type,
            title=title or f"{action_type.label} — {plans[0].name} ({commune_name})",
            description=f"{description} {DEMO_MARKER}".strip(),
            start_date=day,
            end_date=end,
            convention=self.convention_for(plans, dep, day, type_code),
            departement=self.b.deps[dep],
            club=self.b.orgs.get(f"club-{dep}") if with_club else None,
            logged_by=logged_by,
            **counts,
        )
        return ActionRow(action, [self.b.companies[plan.key] for plan in plans], qpvs, partners)

    def specials_spec(self):
        def counts(total, women, under_26, qpv, employees, hours):
            return {
                "beneficiaries_total": total,
                "beneficiaries_women": women,
                "beneficiaries_under_26": under_26,
                "beneficiaries_qpv": qpv,
                "employees_involved": employees,
                "hours": hours,
            }

        def qpv(*codes):
            return [q for dep in DEPARTEMENTS for q in self.qpvs_by_dep[dep] if q.code in codes]

        return [
            dict(
                type_code="SERVICE_CIVIQUE", dep="11", keys=["grandnarbonne"], day=datetime.date(2016, 10, 3),
                title="Civic dating : 18 services civiques au Grand Narbonne",
                description="Le Grand Narbonne, employeur signataire, accueille 18 volontaires en service civique recrutés "
                "lors d'un « civic dating ».",
                counts=counts(18, 10, 18, 12, 18, 3600), qpvs=qpv("QP011007", "QP011009"),
                partners=[("mission_locale", "Mission locale du Narbonnais")], end=datetime.date(2017, 5, 31),
            ),
            dict(
                type_code="SOUTIEN_CREATION", dep="11", keys=["Blanquette Distribution limouxine", "Garage du Razès"],
                day=datetime.date(2016, 3, 1), title="« Osez l'entreprise » — arrondissement de Limoux",
                description="12 projets accompagnés et 6 entreprises créées : module théorique, immersion en entreprise "
                "et boutique éphémère, avec les chambres consulaires et la SCIC SAPIE.",
                counts=counts(12, 7, 5, 9, 6, 240), qpvs=qpv("QP011001"),
                partners=[
                    ("other", "Chambre de commerce et d'industrie de l'Aude"),
                    ("other", "Chambre de métiers et de l'artisanat de l'Aude"),
                    ("association", "SCIC SAPIE"),
                ],
                end=datetime.date(2016, 12, 15), with_club=False,
            ),
            dict(
                type_code="DECOUVERTE_METIERS_FILLES", dep="34", keys=["sncf"], day=datetime.date(2017, 3, 8),
                title="Girls day : les métiers du ferroviaire présentés aux collégiennes",
                description="Des cheminotes présentent leurs métiers aux jeunes filles des quartiers.",
                counts=counts(32, 32, 32, 24, 8, 32), qpvs=qpv("QP034005"),
                partners=[("college", "Collège Jean Moulin (Montpellier)")],
            ),
            dict(
                type_code="TUTORAT", dep="31", keys=["sncf"], day=datetime.date(2016, 9, 12),
                title="Tutorat par des cheminots volontaires et partenariat avec l'E2C",
                description="35 cheminots volontaires : tutorat et prévention des risques ferroviaires.",
                counts=counts(28, 11, 28, 22, 35, 420), qpvs=qpv("QP031007", "QP031010"),
                partners=[("e2c", "École de la deuxième chance de Toulouse")], end=datetime.date(2017, 6, 30),
            ),
            dict(
                type_code="MECENAT_COMPETENCES", dep="11", keys=["suez"], day=datetime.date(2016, 11, 7),
                title="Mécénat de compétences avec un lycée de Carcassonne",
                description="Des salariés de Suez accompagnent les élèves d'un lycée professionnel de Carcassonne.",
                counts=counts(24, 9, 24, 16, 6, 96), qpvs=qpv("QP011002"),
                partners=[("lycee", "Lycée professionnel de Carcassonne")], end=datetime.date(2017, 2, 4),
            ),
            dict(
                type_code="SOUTIEN_CREATION", dep="30", keys=["brl"], day=datetime.date(2017, 5, 16),
                title="Opencité : coaching et jury des créateurs des quartiers de Nîmes",
                description="Des collaborateurs de BRL coachent les candidats du concours Opencité et siègent au jury.",
                counts=counts(14, 6, 5, 11, 4, 48), qpvs=qpv("QP030003"),
                partners=[("association", "Opencité")], end=datetime.date(2017, 6, 30),
            ),
            dict(
                type_code="SERVICE_CIVIQUE", dep="34", keys=["servicesyou"], day=datetime.date(2016, 10, 10),
                title="Services civiques : réalisation d'un site web par des jeunes des quartiers",
                description="Start-up issue d'Opencité, Services You accueille des volontaires qui réalisent un site web.",
                counts=counts(3, 1, 3, 3, 2, 300), qpvs=qpv("QP034006"),
                partners=[("association", "Kaïna TV")], end=datetime.date(2017, 6, 9),
            ),
            dict(
                type_code="STAGE_3E", dep="34", keys=list(COLLECTIVE_MEMBERS), day=datetime.date(2017, 1, 23),
                title="Stages de 3e partagés : une convention, six entreprises",
                description="Chaque élève découvre plusieurs entreprises pendant sa semaine de stage, "
                "avec une convention unique.",
                counts=counts(18, 9, 18, 15, 12, 210), qpvs=qpv("QP034005", "QP034006"),
                partners=[("college", "Collège Jules Ferry (Montpellier)")],
            ),
        ]  # fmt: skip

    def special_actions(self):
        plans = {plan.key: plan for plan in self.b.company_plans}
        rows = []
        for spec in self.specials_spec():
            spec = dict(spec)
            type_code, dep, keys, day = spec.pop("type_code"), spec.pop("dep"), spec.pop("keys"), spec.pop("day")
            rows.append(self.build(type_code, dep, [plans[key] for key in keys], day, **spec))
        return rows

    def random_actions(self, count):
        rng = self.rng
        total = sum(ACTIONS_PER_YEAR.values())
        types, type_weights = list(ACTION_WEIGHTS), list(ACTION_WEIGHTS.values())
        rows = []
        for year, share in ACTIONS_PER_YEAR.items():
            deps, dep_weights = list(DEP_WEIGHTS[year]), list(DEP_WEIGHTS[year].values())
            for _ in range(round(count * share / total) if year != 2017 else count - len(rows)):
                dep = rng.choices(deps, dep_weights)[0]
                candidates = self.companies_by_dep[dep]
                first = rng.choice(candidates)
                if rng.random() < 0.6:
                    type_code = rng.choice(first.types)
                else:
                    type_code = rng.choices(types, type_weights)[0]
                plans = [first]
                extra = rng.choices((0, 1, 2), (80, 15, 5))[0]
                for other in rng.sample(candidates, min(extra, len(candidates) - 1) + 1):
                    if other is not first and len(plans) <= extra:
                        plans.append(other)
                months = ACTION_PROFILES[type_code][6]
                day = datetime.date(year, rng.choice(months), rng.randint(1, 28))
                rows.append(self.build(type_code, dep, plans, day))
        return rows


def seed_demo():
    """Build (or complete) the demo territory; returns a DemoReport."""
    return DemoBuilder().run()
