"""The scope module keeps only who acts, for which organisation, over which territory (issue 10): it references no
model of another app, not by an import (at any depth, absolute or relative), not by `apps.get_model` or a
"app_label.Model" string, not by a model's class name. Which rows a scope sees is each model's `visible_to`.
"""

import ast
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parents[2]
SCOPE_MODULE = ROOT / "charte" / "comptes" / "scoping.py"
OWN_APP = "comptes"
PORTAL_PACKAGES = ("charte", "entreprises", "conventions", "evaluation")


def _absolute(node, package="charte.comptes"):
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def _foreign_app_module(module):
    """Does a module path belong to a portal app other than the scope module's own?"""
    pieces = module.split(".")
    if pieces[0] not in PORTAL_PACKAGES:
        return False
    if pieces[0] == "charte":
        # charte.comptes is the own app; charte.territoires, charte.catalogue... are other apps.
        return (
            len(pieces) > 1
            and pieces[1] in {config.name.split(".")[-1] for config in apps.get_app_configs()}
            and (pieces[1] != OWN_APP)
        )
    return True


def foreign_references(source):
    """Each reference of the source to a model of another app, as "line: what"."""
    foreign_models = {model.__name__ for model in apps.get_models() if model._meta.app_label != OWN_APP}
    foreign_labels = {model._meta.label_lower for model in apps.get_models() if model._meta.app_label != OWN_APP}
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {alias.name}" for alias in node.names if _foreign_app_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node)
            if _foreign_app_module(module):
                found.append(f"{node.lineno}: from {module} import ...")
            found += [f"{node.lineno}: import {alias.name}" for alias in node.names if alias.name in foreign_models]
        elif isinstance(node, ast.Attribute) and node.attr == "get_model":
            found.append(f"{node.lineno}: get_model")
        elif isinstance(node, ast.Name) and node.id in foreign_models:
            found.append(f"{node.lineno}: {node.id}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() in foreign_labels:
            found.append(f"{node.lineno}: {node.value!r}")
    return found


def test_the_scope_module_references_no_model_of_another_app():
    assert foreign_references(SCOPE_MODULE.read_text()) == []


def test_the_check_sees_every_way_of_reaching_a_model():
    # Each line reaches a higher model in its own way; the check must see all of them.
    reaching = "\n".join(
        [
            "from entreprises.models import Company",
            "import conventions.models",
            "from evaluation import models",
            "from ..territoires.models import Departement",
            "from django.apps import apps",
            "Declaration = apps.get_model('evaluation.Declaration')",
            "def f():\n    return Company.objects.all()",
        ]
    )
    lines = {int(reference.split(":")[0]) for reference in foreign_references(reaching)}
    assert lines == {1, 2, 3, 4, 6, 8}


def test_every_model_of_a_territory_or_organisation_answers_visible_to():
    """The rules moved from the scope module to the querysets: each of their models answers `visible_to`."""
    from charte.comptes.models import Organisation, User
    from charte.territoires.models import EPCI, QPV, Commune, Departement, Region
    from conventions.models import Action, Convention
    from entreprises.models import ClubMembership, Company, Contact, Diagnostic, Establishment
    from evaluation.models import AnnualResult, Campaign, Declaration, EvaluationRun, Notification

    models = (Region, Departement, EPCI, Commune, QPV, Organisation, User, Company, Establishment, Contact, ClubMembership)
    models += (Diagnostic, Convention, Action)
    models += (Campaign, Declaration, Notification, EvaluationRun, AnnualResult)
    assert [model.__name__ for model in models if not callable(getattr(model.objects, "visible_to", None))] == []
