"""The standard catalogue of questionnaire models (issue 16), loaded by a data migration and by the tests that
empty the tables. Idempotent: only missing models and questions are created, since the national level edits
them afterwards. Plain French, one idea per question, "vous" everywhere (FALC-friendly)."""

SATISFACTION = "satisfaction"
RECOMMANDE = "recommande"
STAGE = "stage_trouve"
EMPLOI = "emploi_trouve"
FORMATION = "formation_trouvee"

OPEN_QUESTION = "Voulez-vous nous dire autre chose ?"

PARTICIPANT_TYPES = [
    "INTERVENTION_CLASSE",
    "VISITE_ENTREPRISE",
    "DECROCHAGE",
    "DECOUVERTE_METIERS_FILLES",
    "ALTERNANCE",
    "STAGE_INSERTION",
    "COACHING_EMPLOI",
    "RECRUTEMENT",
    "SERVICE_CIVIQUE",
    "SOUTIEN_CREATION",
    "MOBILITE_SERVICES",
]
ASSOCIATION_TYPES = ["MECENAT_COMPETENCES", "MECENAT_FINANCIER", "MOBILITE_SERVICES", "DECROCHAGE", "COACHING_EMPLOI"]

# code, title, respondent group, action types, waves, intro, questions (text, kind, indicator)
QUESTIONNAIRES = [
    (
        "stage-3e-eleve",
        "Stage de 3e : l'avis de l'élève",
        "eleve",
        ["STAGE_3E"],
        [0],
        "Vous avez fait votre stage de 3e dans une entreprise. Donnez-nous votre avis. "
        "C'est anonyme : on ne vous demande pas votre nom.",
        [
            ("Votre stage vous a plu ?", "scale", SATISFACTION),
            ("Vous avez découvert un métier qui vous intéresse ?", "yes_no", ""),
            ("On vous a bien expliqué ce que vous deviez faire ?", "scale", ""),
            ("Vous conseillez ce stage à un ami ou une amie ?", "yes_no", RECOMMANDE),
            (OPEN_QUESTION, "open", ""),
        ],
    ),
    (
        "stage-3e-etablissement",
        "Stage de 3e : l'avis du collège",
        "etablissement",
        ["STAGE_3E"],
        [0],
        "Des élèves de votre établissement ont fait leur stage de 3e avec une entreprise de la Charte. "
        "Donnez-nous votre avis sur l'accueil des élèves.",
        [
            ("L'accueil des élèves s'est bien passé ?", "scale", SATISFACTION),
            ("Les élèves ont découvert le monde du travail ?", "scale", ""),
            ("Vous recommandez cette entreprise à d'autres établissements ?", "yes_no", RECOMMANDE),
            (OPEN_QUESTION, "open", ""),
        ],
    ),
    (
        "stage-3e-entreprise",
        "Stage de 3e : l'avis de l'entreprise d'accueil",
        "entreprise_accueil",
        ["STAGE_3E"],
        [0],
        "Votre entreprise a accueilli des élèves de 3e. Donnez-nous votre avis sur l'organisation du stage.",
        [
            ("L'organisation du stage vous a convenu ?", "scale", SATISFACTION),
            ("Vous conseillez à d'autres entreprises d'accueillir des élèves de 3e ?", "yes_no", RECOMMANDE),
            (OPEN_QUESTION, "open", ""),
        ],
    ),
    (
        "job-dating-candidat",
        "Job dating : l'avis du candidat ou de la candidate",
        "candidat",
        ["JOB_DATING"],
        [0, 3, 6],
        "Vous êtes venu ou venue à un job dating. Dites-nous ce qu'il vous a apporté. "
        "C'est anonyme : on ne vous demande pas votre nom.",
        [
            ("Ce job dating vous a été utile ?", "scale", SATISFACTION),
            ("Vous avez trouvé un emploi depuis le job dating ?", "yes_no", EMPLOI),
            ("Vous avez trouvé une formation depuis le job dating ?", "yes_no", FORMATION),
            ("Vous avez trouvé un stage depuis le job dating ?", "yes_no", STAGE),
            ("Vous conseillez ce job dating à une autre personne ?", "yes_no", RECOMMANDE),
            (OPEN_QUESTION, "open", ""),
        ],
    ),
    (
        "parrainage-filleul",
        "Parrainage : l'avis du filleul ou de la filleule",
        "filleul",
        ["TUTORAT"],
        [0, 6],
        "Une personne d'une entreprise vous accompagne (parrainage ou tutorat). Donnez-nous votre avis.",
        [
            ("Le parrainage vous aide ?", "scale", SATISFACTION),
            ("Vous avez trouvé un stage grâce au parrainage ?", "yes_no", STAGE),
            ("Vous avez trouvé un emploi grâce au parrainage ?", "yes_no", EMPLOI),
            ("Vous avez trouvé une formation grâce au parrainage ?", "yes_no", FORMATION),
            ("Vous conseillez le parrainage à une autre personne ?", "yes_no", RECOMMANDE),
            (OPEN_QUESTION, "open", ""),
        ],
    ),
    (
        "participant",
        "L'avis des participants et participantes",
        "participant",
        PARTICIPANT_TYPES,
        [0, 3, 6],
        "Vous avez participé à une action d'une entreprise de la Charte. Donnez-nous votre avis. "
        "C'est anonyme : on ne vous demande pas votre nom.",
        [
            ("Cette action vous a été utile ?", "scale", SATISFACTION),
            ("Vous avez trouvé un emploi depuis ?", "yes_no", EMPLOI),
            ("Vous avez trouvé une formation depuis ?", "yes_no", FORMATION),
            ("Vous conseillez cette action à une autre personne ?", "yes_no", RECOMMANDE),
            (OPEN_QUESTION, "open", ""),
        ],
    ),
    (
        "association",
        "L'avis de l'association partenaire",
        "association",
        ASSOCIATION_TYPES,
        [0],
        "Votre association a travaillé avec une entreprise de la Charte. Donnez-nous votre avis sur ce partenariat.",
        [
            ("Le partenariat avec l'entreprise vous a convenu ?", "scale", SATISFACTION),
            ("L'action a aidé les habitants et habitantes du quartier ?", "scale", ""),
            ("Vous conseillez ce partenariat à une autre association ?", "yes_no", RECOMMANDE),
            ("Qu'est-ce qui pourrait être mieux ?", "open", ""),
        ],
    ),
]


def load_questionnaires(QuestionnaireModel, Question, ActionType):
    """Create the missing models of the catalogue and their questions. Returns the number of models created."""
    created = 0
    types = {t.code: t for t in ActionType.objects.all()}
    for code, title, group, action_types, waves, intro, questions in QUESTIONNAIRES:
        model, was_created = QuestionnaireModel.objects.get_or_create(
            code=code, defaults={"title": title, "respondent_group": group, "waves": waves, "intro": intro}
        )
        if not was_created:
            continue
        created += 1
        model.action_types.set([types[c] for c in action_types if c in types])
        for position, (text, kind, indicator) in enumerate(questions, start=1):
            Question.objects.create(questionnaire=model, position=position, text=text, kind=kind, indicator=indicator)
    return created
