"""The publics a practice reaches: a fixed list the catalogue filters on. Loaded by migration 0001 (and put
back by the tests after a transactional test empties the tables); a new public is added here and by a migration."""

PUBLICS = [
    ("eleves_3e", "Élèves de 3e"),
    ("lyceens_etudiants", "Lycéens et étudiants"),
    ("jeunes_26", "Jeunes de moins de 26 ans"),
    ("demandeurs_emploi", "Demandeurs d'emploi"),
    ("femmes", "Femmes"),
    ("createurs", "Créateurs d'entreprise"),
    ("associations", "Associations"),
    ("habitants", "Habitants des quartiers"),
    ("salaries", "Salariés des entreprises"),
]


def load_publics(PracticePublic):
    for position, (code, label) in enumerate(PUBLICS, start=1):
        PracticePublic.objects.update_or_create(code=code, defaults={"label": label, "position": position})
