"""The reports: published figures of a scope and year, open data, exports and charts, their pages.

May import `evaluation.engine` and `evaluation.campaigns` (tests/evaluation/test_layout.py).
"""
