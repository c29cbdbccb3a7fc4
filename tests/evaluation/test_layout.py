"""The three parts of `evaluation` import in one direction: campaigns <- engine <- reports, and without a cycle.

`campaigns` (the declarations workflow) imports neither the engine nor the reports; the `engine` does not import
the reports. Every import counts, inside a function too, absolute or relative: a lazy import that goes the
wrong way is the cycle it hides. Then each module is imported first in a fresh interpreter: none needs another
to be loaded before it.
"""

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("campaigns", "engine", "reports")
# What each part may not import.
FORBIDDEN = {"campaigns": {"engine", "reports"}, "engine": {"reports"}, "reports": set()}


def _module_name(path):
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _modules():
    return sorted(path for part in PARTS for path in (ROOT / "evaluation" / part).rglob("*.py"))


def _imported(path):
    """Every module an import of the file names (at any depth of the tree), absolute names."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            found.append((module, node.lineno))
            # `from evaluation import engine`, `from .. import reports`: the names may be modules.
            found += [(f"{module}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _part(module):
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[0] == "evaluation" and pieces[1] in PARTS else None


def test_the_three_parts_exist_as_packages():
    for part in PARTS:
        assert (ROOT / "evaluation" / part / "__init__.py").is_file()
    assert len(_modules()) > 20


@pytest.mark.parametrize("part", PARTS)
def test_each_part_imports_only_downwards(part):
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in (ROOT / "evaluation" / part).rglob("*.py")
        for module, line in _imported(path)
        if _part(module) in FORBIDDEN[part]
    ]
    assert wrong == []


def test_the_evaluation_modules_have_no_import_cycle():
    """The graph of imports between the modules of `evaluation` (function-level imports included) is acyclic."""
    modules = {_module_name(path): path for path in sorted((ROOT / "evaluation").rglob("*.py")) if "migrations" not in path.parts}
    graph = {
        name: {module for module, _ in _imported(path) if module in modules and module != name} for name, path in modules.items()
    }
    # A package's __init__ is imported before its modules: not an edge of a cycle by itself.
    for name in graph:
        graph[name] -= {other for other in graph[name] if name.startswith(other + ".")}
    seen, path_ = {}, []

    def visit(name):
        seen[name] = "open"
        path_.append(name)
        for other in sorted(graph[name]):
            if seen.get(other) == "open":
                pytest.fail("import cycle: " + " -> ".join(path_[path_.index(other) :] + [other]))
            if other not in seen:
                visit(other)
        path_.pop()
        seen[name] = "done"

    for name in sorted(graph):
        if name not in seen:
            visit(name)


FRESH_IMPORT = """
import importlib, sys
from evaluation.apps import EvaluationConfig
EvaluationConfig.ready = lambda self: None  # it imports every task module: the module under test must come first
import django
django.setup()
assert sys.argv[1] not in sys.modules, sys.argv[1]
importlib.import_module(sys.argv[1])
"""


def test_each_module_imports_first_in_a_fresh_interpreter():
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "charte.settings_test"
    names = [_module_name(path) for path in _modules()] + ["evaluation.tasks", "evaluation.api", "evaluation.demo"]

    def fresh_import(name):
        done = subprocess.run(
            [sys.executable, "-c", FRESH_IMPORT, name], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        return name, done.returncode, done.stderr[-2000:]

    # One interpreter per module, two at a time.
    with ThreadPoolExecutor(max_workers=2) as pool:
        failed = {name: error for name, code, error in pool.map(fresh_import, names) if code}
    assert failed == {}
