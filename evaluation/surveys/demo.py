"""360° surveys of the demo territory (built after `conventions.demo`): invented answers to the surveys of a few
2017 actions of FACE Hérault, so that the demo reports show impact indicators (methodology §15): most surveys
have 5 responses or more, one has 3 and shows the share hidden. Drawn by `random.Random(2016)`; the actions
carry the demo marker, and the few open answers say they are invented."""

import random

from django.db import transaction

from charte.comptes.models import Organisation, OrganisationKind
from conventions.demo import DEMO_MARKER
from conventions.models import Action

from .models import Answer, Moderation, Question, QuestionKind, QuestionnaireModel, Response, Survey

YEAR = 2017
CLUB = "FACE Hérault"
# (action type, questionnaire model, responses of each surveyed action, in start date order).
PLAN = (
    ("STAGE_3E", "stage-3e-eleve", (14, 9)),
    ("JOB_DATING", "job-dating-candidat", (8,)),
    ("INTERVENTION_CLASSE", "participant", (6,)),
    # Alone in its family (solidarity) in the club's report: 3 responses, the share shows hidden.
    ("MECENAT_COMPETENCES", "association", (3,)),
)
# Invented shares of the answers: mostly satisfied, a job or an internship found by a third or so.
SCALE_WEIGHTS = {1: 6, 2: 12, 3: 45, 4: 37}
YES_SHARE = {"recommande": 0.8, "stage_trouve": 0.35, "emploi_trouve": 0.3, "formation_trouvee": 0.25, "": 0.6}
OPEN_TEXTS = (
    "Les salariés ont pris le temps de tout m'expliquer. (réponse inventée pour la démonstration)",
    "C'était trop court, j'aurais aimé rester une semaine de plus. (réponse inventée pour la démonstration)",
)


def _choice(rng, question):
    if question.kind == QuestionKind.SCALE:
        return rng.choices(list(SCALE_WEIGHTS), weights=list(SCALE_WEIGHTS.values()))[0]
    return 1 if rng.random() < YES_SHARE.get(question.indicator, 0.6) else 0


@transaction.atomic
def seed_surveys():
    """Create the demo surveys and their responses once; returns the number of responses created (0 when the demo
    surveys exist already, or without the demo club)."""
    demo_actions = Action.objects.filter(description__endswith=DEMO_MARKER)
    if Survey.objects.filter(action__in=demo_actions).exists():
        return 0
    club = Organisation.objects.filter(kind=OrganisationKind.CLUB, name=CLUB).first()
    if club is None:
        return 0
    rng = random.Random(2016)
    created = 0
    for type_code, questionnaire_code, sizes in PLAN:
        questionnaire = QuestionnaireModel.objects.get(code=questionnaire_code)
        questions = list(Question.objects.filter(questionnaire=questionnaire, club__isnull=True).order_by("position", "pk"))
        actions = demo_actions.filter(club=club, action_type__code=type_code, start_date__year=YEAR).order_by("start_date", "pk")
        for action, size in zip(actions, sizes, strict=False):
            # The club says how many it asked: a few more than answered, never more than the action reached.
            asked = min(max(action.beneficiaries_total, size), size + rng.randint(1, 8))
            survey = Survey.objects.create(action=action, questionnaire=questionnaire, expected_respondents=asked)
            responses = Response.objects.bulk_create([Response(survey=survey) for _ in range(size)])
            answers = []
            for n, response in enumerate(responses):
                for question in questions:
                    if question.kind == QuestionKind.OPEN:
                        if n < len(OPEN_TEXTS):
                            answers.append(
                                Answer(response=response, question=question, text=OPEN_TEXTS[n], moderation=Moderation.APPROVED)
                            )
                        continue
                    answers.append(Answer(response=response, question=question, choice=_choice(rng, question)))
            Answer.objects.bulk_create(answers)
            created += size
    return created
