import pytest


@pytest.fixture(autouse=True)
def tasks_run_in_place():
    """The invitation e-mails leave through a Celery task enqueued after commit; these tests read them in-process,
    so the tasks run eagerly even when CI provides a broker."""
    from charte.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved
