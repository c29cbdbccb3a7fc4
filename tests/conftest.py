import os

import pytest


@pytest.fixture
def in_ci():
    return bool(os.environ.get("CI"))
