"""`manage.py workers` runs two real django-q2 clusters: re-promising and slip assessment on
the main one, notice sending on the notices one (a drain never holds up a re-promise)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres


def _env(name: str) -> dict:
    db = connection.settings_dict  # the test database: the clusters read and write it too
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    drop = ("DJANGO_SETTINGS_MODULE", "REDIS_URL", "NOTICES_CLUSTER", "Q_CLUSTER_NAME")
    return {**{k: v for k, v in os.environ.items() if k not in drop},
            "DATABASE_URL": url, "Q_NAME": name, "EMAIL_URL": "dummymail://"}


def _stop(workers: subprocess.Popen) -> None:
    """SIGTERM the whole group (the command and its qclusters), SIGKILL what lingers."""
    try:
        os.killpg(workers.pid, signal.SIGTERM)
        workers.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(workers.pid, signal.SIGKILL)
        workers.wait(timeout=10)
    except ProcessLookupError:
        pass
    time.sleep(0.5)
    try:
        os.killpg(workers.pid, signal.SIGKILL)  # a qcluster child still shutting down
    except ProcessLookupError:
        pass


HEARTBEAT = "core.health.heartbeat"


def test_each_task_runs_on_its_own_cluster(transactional_db, tmp_path):
    from django_q.models import Task

    name = f"test-workers-{os.getpid()}"
    env = _env(name)
    log = open(tmp_path / "workers.log", "w")  # noqa: SIM115 - closed below
    workers = subprocess.Popen([sys.executable, "manage.py", "workers"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        enqueue = ("from core.queue import enqueue_on_commit\n"
                   "enqueue_on_commit('promises.tasks.repromise_dirty_pools')\n"
                   "enqueue_on_commit('workflow.tasks.recorded_changes_assess', [])\n"
                   "enqueue_on_commit('notifications.tasks.notices_send_due')\n")
        done = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", enqueue],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 45
        work = Task.objects.exclude(func=HEARTBEAT)  # each cluster's own heartbeat (core.health)
        while time.monotonic() < deadline and work.count() < 3:
            time.sleep(0.2)
        ran = dict(work.values_list("func", "cluster"))
        heartbeats = set(Task.objects.filter(func=HEARTBEAT).values_list("cluster", flat=True))
    finally:
        _stop(workers)
        log.close()
    output = (tmp_path / "workers.log").read_text(errors="replace")
    assert ran == {
        "promises.tasks.repromise_dirty_pools": name,
        "workflow.tasks.recorded_changes_assess": name,
        "notifications.tasks.notices_send_due": f"{name}-notices",
    }, output[-3000:]
    assert work.filter(success=True).count() == 3
    assert heartbeats <= {name, f"{name}-notices"}, "a heartbeat proves its own cluster only"
