"""Fixtures of the regional workflow tests."""

import pytest


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the tasks enqueued on commit, as the django-q2 worker (sync in tests) would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
