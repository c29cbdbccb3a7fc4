"""The campaigns and declarations workflow: open a campaign, declare, submit, return, validate, remind.

Imports neither `evaluation.engine` nor `evaluation.reports` (tests/evaluation/test_layout.py).
"""
