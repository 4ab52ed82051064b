"""The health signals on the ops dashboard (the admin index), fresh at each view."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.test import TestCase
from django.utils import timezone

from core.health import cluster_names, heartbeat_enqueue
from tests.factories.notifications import NoticeFactory

pytestmark = pytest.mark.django_db
INDEX = "/admin/"


@pytest.fixture
def ops(django_user_model):
    from promises.roles import roles_setup

    roles_setup()
    user = django_user_model.objects.create_user("ops-health", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Ops"))
    return user


@pytest.fixture
def agent(django_user_model):
    from promises.roles import roles_setup

    roles_setup()
    user = django_user_model.objects.create_user("agent-health", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="CS agent"))
    return user


def _beat_all():
    with TestCase.captureOnCommitCallbacks(execute=True):
        for name in cluster_names():
            heartbeat_enqueue(name)


def test_ops_see_each_signal_and_a_warning_as_soon_as_it_is_raised(client, ops):
    _beat_all()
    client.force_login(ops)
    html = client.get(INDEX).content.decode()
    assert 'id="dashboard-health"' in html and "Health: ok" in html
    for label in ("Database", "Task broker", "Worker clusters: last heartbeat", "Notices due to send",
                  "API rate-limit counters"):
        assert label in html
    # A notice left unsent for ten minutes: the next view shows it, whatever the cache
    NoticeFactory(created_at=timezone.now() - timedelta(minutes=10))
    html = client.get(INDEX).content.decode()
    assert "Health: warning" in html and "A customer notice has waited 10 min" in html


def test_agents_do_not_see_the_health_panel(client, agent):
    client.force_login(agent)
    assert 'id="dashboard-health"' not in client.get(INDEX).content.decode()
