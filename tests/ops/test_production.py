"""The production shape seen from outside: settings with DEBUG off, and the worker commands."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from config.settings_test import redis_db_url

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"DEBUG": "False", "SECRET_KEY": "x" * 30 + "-production-secret-" + "y" * 30,
              "ALLOWED_HOSTS": "desk.example.com", "DATABASE_URL": "sqlite:///:memory:"}


def run(args, **env):
    drop = ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "Q_CLUSTER_NAME",
            "REDIS_URL")
    clean = {k: v for k, v in os.environ.items() if k not in drop}
    return subprocess.run(args, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True,
                          timeout=120)


def test_load_balancers_reach_healthz_over_plain_http_while_pages_redirect_to_https():
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; django.setup(); "
            "from django.test import Client; c = Client(SERVER_NAME='desk.example.com'); "
            "h = c.get('/healthz'); a = c.get('/admin/login/'); "
            "print(h.status_code, h.json()['checks']['database']['ok'], a.status_code, "
            "'default-src' in h.headers.get('Content-Security-Policy', ''))")
    done = run([sys.executable, "-c", code], **PRODUCTION)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-4:] == ["200", "True", "301", "True"]


def test_qcluster_alone_refuses_to_serve_one_queue_of_two_and_says_what_to_run():
    done = run([sys.executable, "manage.py", "qcluster"], DATABASE_URL="sqlite:///:memory:")
    assert done.returncode != 0
    assert "manage.py workers" in done.stderr
    assert "Q_CLUSTER_NAME=backorder-desk-notices manage.py qcluster" in done.stderr
    assert "Q Cluster" not in done.stderr  # nothing was started


def test_qcluster_refuses_a_cluster_the_project_does_not_run():
    done = run([sys.executable, "manage.py", "qcluster"], DATABASE_URL="sqlite:///:memory:",
               Q_CLUSTER_NAME="someone-else")
    assert done.returncode != 0
    assert "Unknown cluster 'someone-else'" in done.stderr


def test_the_procfile_runs_gunicorn_every_cluster_and_migrations():
    procfile = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines()
                    if line.strip() and not line.startswith("#"))
    assert "gunicorn config.wsgi" in procfile["web"]
    assert "manage.py migrate" in procfile["release"]
    workers = " ".join(v for k, v in procfile.items() if k not in ("web", "release"))
    assert "Q_CLUSTER_NAME=backorder-desk " in workers + " "
    assert "Q_CLUSTER_NAME=backorder-desk-notices" in workers


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_manage_py_workers_starts_both_clusters_and_each_is_seen_by_its_heartbeat():
    from django.conf import settings
    from django.db import connection

    from core.health import cluster_names, health_report

    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{connection.settings_dict['NAME']}"
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "Q_CLUSTER_NAME")}
    env.update(DATABASE_URL=url, REDIS_URL=redis_db_url("clusters"))
    workers = subprocess.Popen([sys.executable, "manage.py", "workers"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            clusters = health_report().check("clusters")
            if clusters.ok:
                break
            time.sleep(1)
    finally:
        workers.send_signal(signal.SIGTERM)  # as a supervisor stops it: it stops its clusters
        try:
            workers.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(workers.pid, signal.SIGKILL)
            workers.wait()
    assert clusters.ok, clusters.summary
    assert set(clusters.detail["clusters"]) == set(cluster_names())
