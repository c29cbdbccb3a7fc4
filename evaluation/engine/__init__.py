"""The evaluation engine: compile runs of a year into `AnnualResult` rows, their Celery tasks, retention.

May import `evaluation.campaigns`, never `evaluation.reports` (tests/evaluation/test_layout.py).
"""
