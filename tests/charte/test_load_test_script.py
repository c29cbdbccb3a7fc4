"""scripts/load_test.py (issue 14): its percentiles, and its refusal to touch any database but a benchmark one."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "load_test.py"


@pytest.fixture(scope="module")
def load_test():
    spec = importlib.util.spec_from_file_location("load_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_percentiles_are_nearest_rank(load_test):
    values = list(range(1, 101))  # 1..100 ms
    assert load_test.percentile(values, 0.5) == 50
    assert load_test.percentile(values, 0.95) == 95
    assert load_test.percentile(values, 0.99) == 99
    assert load_test.percentile([7], 0.99) == 7
    assert load_test.percentile([30, 10, 20], 0.5) == 20


def test_it_refuses_the_portal_database(load_test, db):
    # The test database is not a benchmark one: no account is created, nothing is requested.
    with pytest.raises(SystemExit, match="banc d'essai"):
        load_test.guard()
