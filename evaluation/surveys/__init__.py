"""360° surveys of the people an action reached (issue 16): questionnaire models, surveys per action and wave,
anonymous answers, moderation of open answers, follow-ups by e-mail with consent."""
