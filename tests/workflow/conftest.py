"""Fixtures of the regional workflow tests."""

import pytest

# The exception queue admin is imported by promises/admin.py; import it here as well so
# these tests do not depend on the order admin modules are loaded in.
from promises import exceptions_admin  # noqa: F401


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the tasks enqueued on commit, as the django-q2 worker (sync in tests) would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
