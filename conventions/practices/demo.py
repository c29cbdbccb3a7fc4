"""The demonstration practice sheets (`manage.py seed_demo`): a dozen sheets written from the practices the 2017
seminars described (Tous en stage, Civic dating, Opencité, girls' days, CitésLab, Osez l'entreprise...), marked
`is_demo` and shown as "contenu de démonstration". Most are published, some readable without an account, one is
in review and one returned with a comment.

Idempotent: a sheet is looked up by its title among the demo sheets; nothing existing is changed. Statuses are set
directly (seed data bypasses the workflow service) with a matching history; the named companies are those of the
linked action, their consent given for the sheets past review.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from charte.catalogue.models import ActionType, Family
from charte.comptes.models import Organisation, OrganisationKind
from charte.territoires.models import Departement
from conventions.models import Action

from .models import PracticeCompany, PracticePublic, PracticeSheet, PracticeStatus, PracticeTransition

S = PracticeStatus
CLUB, PREF = OrganisationKind.CLUB, OrganisationKind.PREFECTURE
FACE = {"11": "FACE Aude", "30": "FACE Gard", "34": "FACE Hérault"}
PREFECTURE = {
    "11": "Préfecture de l'Aude",
    "30": "Préfecture du Gard",
    "31": "Préfecture de la Haute-Garonne",
    "34": "Préfecture de l'Hérault",
}

# (title, département, author (kind, name), type code, status, public, publics, linked action title, years, texts)
SHEETS = [
    dict(
        title="Tous en stage : un stage de 3e dans plusieurs entreprises avec une seule convention",
        dep="34", author=(CLUB, FACE["34"]), type="STAGE_3E", status=S.PUBLISHED, public=True,
        publics=["eleves_3e"], action="Stages de 3e partagés : une convention, six entreprises", years=(2016, None),
        problem="Les élèves de 3e des quartiers trouvent difficilement un stage d'observation : leurs familles ont peu "
        "de réseau, et une petite entreprise hésite à accueillir un élève une semaine entière.",
        what_was_done="Un collectif d'entreprises s'est regroupé dans une association « Tous en stage » : chaque élève "
        "découvre plusieurs entreprises pendant sa semaine, avec une convention de stage unique signée par le collège.",
        means="Un animateur du club FACE, une convention type, un planning partagé entre les entreprises.",
        results_text="Chaque élève voit trois à cinq métiers ; des TPE qui n'auraient pas accueilli un élève seul y "
            "prennent part.",
        success_factors="Le travail interentreprises ; une seule convention pour le collège ; l'animation du club.",
        difficulties="Coordonner les plannings des entreprises ; trouver les entreprises en mai, pas en décembre.",
        how_to_reproduce="Réunir quatre à six entreprises proches d'un même collège, rédiger une convention commune "
        "avec le principal, confier l'organisation des plannings à l'animateur du club.",
        actors="Club FACE Hérault, six entreprises de Montpellier, collège Jules Ferry.",
    ),
    dict(
        title="Civic dating : recruter des volontaires du service civique en une matinée",
        dep="11", author=(PREF, PREFECTURE["11"]), type="SERVICE_CIVIQUE", status=S.PUBLISHED, public=True,
        publics=["jeunes_26"], action="Civic dating : 18 services civiques au Grand Narbonne", years=(2016, 2017),
        problem="Les missions de service civique des collectivités touchent peu les jeunes des quartiers prioritaires.",
        what_was_done="Le Grand Narbonne, employeur signataire de la charte, a organisé un « civic dating » : des "
        "rencontres courtes entre jeunes et tuteurs, sans CV, dans un quartier prioritaire.",
        means="Une salle, les tuteurs des services, la mission locale pour faire venir les jeunes.",
        results_text="18 contrats de service civique signés dans la collectivité.",
        success_factors="La collectivité montre l'exemple en tant qu'employeur ; la mission locale mobilise les jeunes.",
        difficulties="Préparer les tuteurs à un entretien sans CV.",
        how_to_reproduce="Lister les missions ouvertes, les présenter en une phrase, inviter les jeunes par la mission locale.",
        actors="Le Grand Narbonne, Mission locale du Narbonnais.",
    ),
    dict(
        title="Opencité : un concours pour les créateurs d'entreprise des quartiers",
        dep="30", author=(CLUB, FACE["30"]), type="SOUTIEN_CREATION", status=S.PUBLISHED, public=True,
        publics=["createurs", "habitants"], action="Opencité : coaching et jury des créateurs des quartiers de Nîmes",
        years=(2016, None),
        problem="Les porteurs de projet des quartiers manquent de réseau et de conseils pour lancer leur entreprise.",
        what_was_done="Un concours de création d'entreprises dans les quartiers de Narbonne, Nîmes, Montpellier et "
        "Perpignan : des collaborateurs d'entreprises signataires coachent les candidats et siègent au jury.",
        means="Des coachs bénévoles des entreprises, un jury, des prix.",
        results_text="Des entreprises créées, dont une start-up devenue elle-même signataire de la charte (Services You).",
        success_factors="L'engagement des collaborateurs ; la visibilité donnée aux lauréats.",
        difficulties="Suivre les créateurs après le concours.",
        how_to_reproduce="S'appuyer sur un réseau d'accompagnement (BGE, ADIE, CitésLab) et recruter des coachs dans les "
            "entreprises.",
        actors="BRL et d'autres entreprises signataires, l'association Opencité.",
    ),
    dict(
        title="Journées filles : faire découvrir les métiers du ferroviaire aux collégiennes",
        dep="34", author=(CLUB, FACE["34"]), type="DECOUVERTE_METIERS_FILLES", status=S.PUBLISHED, public=False,
        publics=["femmes", "eleves_3e"], action="Girls day : les métiers du ferroviaire présentés aux collégiennes",
        years=(2017, 2017),
        problem="Les jeunes filles des quartiers ne se projettent pas dans les métiers techniques.",
        what_was_done="Des cheminotes présentent leurs métiers aux collégiennes lors de « girls days ».",
        means="Des salariées volontaires, une demi-journée au collège puis une visite de site.",
        success_factors="Des modèles proches des élèves : des femmes qui exercent ces métiers.",
        how_to_reproduce="Identifier des salariées volontaires, préparer un court témoignage, inviter les élèves sur site.",
        actors="SNCF, collège Jean Moulin (Montpellier).",
    ),
    dict(
        title="CitésLab : détecter et accompagner les projets de création dans les quartiers",
        dep="11", author=(CLUB, FACE["11"]), type="SOUTIEN_CREATION", status=S.PUBLISHED, public=True,
        publics=["createurs", "habitants"], action=None, years=(2017, None),
        problem="Les envies d'entreprendre des habitants des quartiers restent souvent sans suite, faute d'être repérées.",
        what_was_done="Mise en place d'un CitésLab au Grand Narbonne : un chef de projet repère les porteurs de "
        "projet dans les quartiers et les oriente vers les réseaux d'accompagnement.",
        means="Un chef de projet CitésLab, les partenaires de la création (BGE, ADIE, chambres consulaires).",
        success_factors="Être présent dans les quartiers ; travailler avec les réseaux d'accompagnement.",
        how_to_reproduce="Solliciter le dispositif CitésLab auprès de Bpifrance et de la collectivité.",
        actors="Le Grand Narbonne, club FACE Aude, INESS.",
    ),
    dict(
        title="Osez l'entreprise : accompagner les créateurs en territoire rural",
        dep="11", author=(PREF, PREFECTURE["11"]), type="SOUTIEN_CREATION", status=S.PUBLISHED, public=True,
        publics=["createurs"], action="« Osez l'entreprise » — arrondissement de Limoux", years=(2016, 2016),
        problem="Hors des grandes villes, les entrepreneurs des quartiers ont peu d'accompagnement.",
        what_was_done="Un module théorique, un module d'immersion en entreprise et une boutique éphémère, avec les "
        "chambres consulaires et la SCIC SAPIE.",
        results_text="12 projets accompagnés et 6 entreprises créées.",
        success_factors="Une action volontaire de l'État et de ses partenaires, avant même la charte.",
        how_to_reproduce="Réunir chambres consulaires et structure d'accompagnement autour d'un parcours en trois temps.",
        actors="Sous-préfecture de Limoux, CCI et CMA de l'Aude, SCIC SAPIE.",
    ),
    dict(
        title="Job dating dans les quartiers : des recruteurs au pied des immeubles",
        dep="34", author=(CLUB, FACE["34"]), type="JOB_DATING", status=S.PUBLISHED, public=False,
        publics=["demandeurs_emploi", "jeunes_26"], action=None, years=(2016, None),
        problem="Les demandeurs d'emploi des quartiers vont peu vers les forums de centre-ville.",
        what_was_done="Des job datings organisés dans les quartiers, avec des offres réelles et des entretiens de dix minutes.",
        means="Les offres des entreprises du club, France Travail pour préparer les candidats.",
        success_factors="Des offres réelles ; une préparation des candidats la semaine avant.",
        difficulties="Tenir des entreprises présentes jusqu'au bout de la journée.",
        how_to_reproduce="Collecter les offres un mois avant, préparer les candidats avec France Travail, réserver un lieu du "
            "quartier.",
        actors="Club FACE Hérault, France Travail, entreprises adhérentes.",
    ),
    dict(
        title="Parrainage par des cheminots volontaires et partenariat avec l'E2C",
        dep="31", author=(PREF, PREFECTURE["31"]), type="TUTORAT", status=S.PUBLISHED, public=False,
        publics=["jeunes_26"], action="Tutorat par des cheminots volontaires et partenariat avec l'E2C", years=(2016, 2017),
        problem="Les jeunes de l'école de la deuxième chance manquent de contacts avec le monde de l'entreprise.",
        what_was_done="30 à 40 cheminots volontaires parrainent des jeunes et mènent des actions de prévention des risques "
            "ferroviaires.",
        success_factors="Une culture RSE ancienne du groupe ; des volontaires, pas des désignés.",
        how_to_reproduce="Commencer par les entreprises à culture RSE reconnue ; proposer le parrainage aux salariés "
            "volontaires.",
        actors="SNCF, École de la deuxième chance de Toulouse.",
    ),
    dict(
        title="Mécénat de compétences avec un lycée professionnel",
        dep="11", author=(CLUB, FACE["11"]), type="MECENAT_COMPETENCES", status=S.SUBMITTED, public=False,
        publics=["lyceens_etudiants"], action="Mécénat de compétences avec un lycée de Carcassonne", years=(2016, 2017),
        problem="Les lycéens professionnels connaissent mal les métiers qui recrutent près de chez eux.",
        what_was_done="Des salariés de Suez accompagnent les élèves d'un lycée professionnel de Carcassonne.",
        actors="Suez, lycée professionnel de Carcassonne.",
    ),
    dict(
        title="Des volontaires du service civique réalisent le site d'une start-up",
        dep="34", author=(CLUB, FACE["34"]), type="SERVICE_CIVIQUE", status=S.RETURNED, public=False,
        publics=["jeunes_26"], action="Services civiques : réalisation d'un site web par des jeunes des quartiers",
        years=(2016, 2017),
        problem="Les jeunes des quartiers ont peu d'occasions de se former au numérique en situation réelle.",
        what_was_done="Services You, start-up issue d'Opencité, accueille des volontaires qui réalisent un site web.",
        review_comment="Ajoutez ce que sont devenus les volontaires et comment une autre start-up peut s'y prendre.",
        actors="Services You, Kaïna TV.",
    ),
    dict(
        title="Une TPE s'engage dès sa création : label Lucie et charte",
        dep="11", author=(CLUB, FACE["11"]), type="LABEL_RSE", status=S.PUBLISHED, public=True,
        publics=["salaries"], action=None, years=(2016, None),
        problem="Les TPE pensent que la charte est réservée aux grands groupes.",
        what_was_done="L'entreprise 18 printemps, créée depuis un an, a été labellisée Lucie dès son démarrage et a "
        "signé la charte Entreprises et quartiers.",
        success_factors="La conviction des fondateurs ; un accompagnement du club pour choisir des engagements à sa taille.",
        how_to_reproduce="Proposer aux TPE des engagements simples (un stage de 3e par an, un achat inclusif).",
        actors="18 printemps, club FACE Aude.",
    ),
    dict(
        title="École régionale du numérique pour les jeunes et les femmes des quartiers",
        dep="11", author=(PREF, PREFECTURE["11"]), type="ALTERNANCE", status=S.DRAFT, public=False,
        publics=["jeunes_26", "femmes"], action=None, years=(2017, None),
        problem="Des jeunes en échec scolaire et des femmes éloignées de l'emploi, alors que les entreprises "
            "cherchent des développeurs.",
        what_was_done="Carcassonne Agglomération a ouvert une école régionale du numérique qui forme au métier de "
            "développeur web.",
        actors="Carcassonne Agglo.",
    ),
]  # fmt: skip

REPRODUCTION = dict(
    title="Tous en stage dans le Gard : stages de 3e partagés à Nîmes",
    dep="30", author=(CLUB, FACE["30"]), type="STAGE_3E", status=S.PUBLISHED, public=True,
    publics=["eleves_3e"], action=None, years=(2017, None),
    problem="Comme à Montpellier, les collégiens des quartiers de Nîmes manquaient de stages de 3e.",
    what_was_done="Le club FACE Gard a repris le modèle « Tous en stage » de l'Hérault avec quatre entreprises.",
    how_to_reproduce="Voir la fiche d'origine ; commencer avec peu d'entreprises proches du collège.",
    actors="Club FACE Gard, quatre entreprises nîmoises.",
)  # fmt: skip

DEMO_DAY = timezone.make_aware(datetime.datetime(2017, 11, 15, 12))


def _create(spec, reproduces=None):
    if PracticeSheet.objects.filter(is_demo=True, title=spec["title"]).exists():
        return None
    kind, name = spec["author"]
    author = Organisation.objects.filter(kind=kind, name=name).first()
    action_type = ActionType.objects.filter(code=spec["type"]).first()
    if author is None or action_type is None:
        return None
    action = Action.objects.filter(title=spec["action"]).first() if spec.get("action") else None
    status = spec["status"]
    start, end = spec["years"]
    sheet = PracticeSheet.objects.create(
        title=spec["title"],
        problem=spec["problem"],
        what_was_done=spec["what_was_done"],
        actors=spec.get("actors", ""),
        means=spec.get("means", ""),
        results_text=spec.get("results_text", ""),
        success_factors=spec.get("success_factors", ""),
        difficulties=spec.get("difficulties", ""),
        how_to_reproduce=spec.get("how_to_reproduce", ""),
        departement=Departement.objects.get(code=spec["dep"]),
        period_start=start,
        period_end=end,
        family=Family.objects.get(pk=action_type.family_id),
        status=status,
        review_comment=spec.get("review_comment", ""),
        public=spec["public"],
        author_organisation=author,
        published_at=DEMO_DAY if status == S.PUBLISHED else None,
        reproduces=reproduces,
        contact_name=f"Animation — {author.name}",
        is_demo=True,
    )
    sheet.action_types.set([action_type])
    sheet.publics.set(PracticePublic.objects.filter(code__in=spec["publics"]))
    if kind == CLUB:
        sheet.clubs.set([author])
    if action is not None:
        sheet.actions.set([action])
        sheet.qpvs.set(action.qpvs.all())
        consent = PracticeCompany.Consent.GIVEN if status in (S.PUBLISHED, S.SUBMITTED) else PracticeCompany.Consent.PENDING
        PracticeCompany.objects.bulk_create(
            PracticeCompany(sheet=sheet, company=company, consent=consent, consent_at=DEMO_DAY if consent == "given" else None)
            for company in action.companies.all()
        )
    steps = {
        S.DRAFT: [S.DRAFT],
        S.SUBMITTED: [S.DRAFT, S.SUBMITTED],
        S.RETURNED: [S.DRAFT, S.SUBMITTED, S.RETURNED],
        S.PUBLISHED: [S.DRAFT, S.SUBMITTED, S.PUBLISHED],
    }[status]
    PracticeTransition.objects.bulk_create(
        PracticeTransition(
            sheet=sheet,
            from_status=previous,
            to_status=step,
            organisation=author if step in (S.DRAFT, S.SUBMITTED) else None,
            comment=spec.get("review_comment", "") if step == S.RETURNED else "",
        )
        for previous, step in zip(["", *steps], steps, strict=False)
    )
    return sheet


@transaction.atomic
def seed_practices():
    """Create the demo sheets that are missing; returns how many were created."""
    created = [sheet for sheet in (_create(spec) for spec in SHEETS) if sheet is not None]
    original = PracticeSheet.objects.filter(is_demo=True, title=SHEETS[0]["title"]).first()
    copy = _create(REPRODUCTION, reproduces=original)
    return len(created) + (copy is not None)
