"""GET /healthz: what a load balancer asks, and the same signals on the ops dashboard."""

from datetime import timedelta

import pytest
import time_machine
from django.db import OperationalError, connection
from django.test import TestCase
from django.utils import timezone

from config.settings_test import redis_db_url
from core import health
from core.health import CLUSTER_SILENT_SECONDS, cluster_names, health_report, heartbeat_enqueue
from notifications.health import NOTICE_LATE_SECONDS
from tests.factories.notifications import NoticeFactory

pytestmark = pytest.mark.django_db


def _beat_all():
    for name in cluster_names():
        _beat(name)


def _beat(name):
    # Enqueued on commit; Q_SYNC in tests runs it at once and saves its result row
    with TestCase.captureOnCommitCallbacks(execute=True):
        heartbeat_enqueue(name)


@pytest.fixture(autouse=True)
def _fresh_brokers():
    health._broker.cache_clear()
    yield
    health._broker.cache_clear()


def test_healthz_answers_200_with_every_signal_when_all_is_well(client):
    _beat_all()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["warnings"] == []
    assert set(body["checks"]) == {"database", "broker", "clusters", "notices", "api_throttle"}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["broker"]["ok"] is True
    assert set(body["checks"]["broker"]["queued"]) == set(cluster_names())
    seen = body["checks"]["clusters"]["clusters"]
    assert set(seen) == set(cluster_names()) and all(s["seconds_ago"] <= 5 for s in seen.values())
    assert body["checks"]["notices"] == {"ok": True, "summary": "none due", "due": 0, "oldest_seconds": None}
    assert body["checks"]["api_throttle"]["ok"] is True
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_healthz_is_503_when_the_database_cannot_be_reached(client):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    with connection.execute_wrapper(refuse):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"]["ok"] is False
    assert body["checks"]["clusters"]["ok"] is None  # unknown, not a second failure


def test_a_cluster_not_seen_for_a_minute_is_a_warning_but_the_web_server_stays_in(client):
    _beat_all()
    with time_machine.travel(timezone.now() + timedelta(seconds=CLUSTER_SILENT_SECONDS + 5)):
        # Only the main cluster beats again: the notices one has gone quiet
        _beat(cluster_names()[0])
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "warning"
    assert body["checks"]["clusters"]["ok"] is False
    [warning] = body["warnings"]
    assert cluster_names()[-1] in warning and "not seen" in warning


def test_a_cluster_never_seen_is_a_warning():
    report = health_report()
    assert report.check("clusters").ok is False
    assert "never seen" in report.check("clusters").warning


def test_heartbeats_keep_only_the_latest_few_results_per_cluster():
    from django_q.models import Success

    for _ in range(6):
        _beat_all()
    counts = {n: Success.objects.filter(func=health.HEARTBEAT_TASK, cluster=n).count() for n in cluster_names()}
    assert counts[cluster_names()[0]] <= health.HEARTBEATS_KEPT


def test_a_notice_due_for_over_five_minutes_is_a_warning(client):
    _beat_all()
    notice = NoticeFactory(created_at=timezone.now() - timedelta(seconds=NOTICE_LATE_SECONDS - 60))
    assert client.get("/healthz").json()["status"] == "ok"  # four minutes: not yet
    type(notice).objects.filter(pk=notice.pk).update(
        created_at=timezone.now() - timedelta(seconds=NOTICE_LATE_SECONDS + 60))
    body = client.get("/healthz").json()
    assert body["status"] == "warning"
    assert body["checks"]["notices"]["due"] == 1
    assert body["checks"]["notices"]["oldest_seconds"] >= NOTICE_LATE_SECONDS + 60
    assert any("notice has waited 6 min" in w for w in body["warnings"])


def test_a_held_notice_is_not_due(client):
    _beat_all()
    NoticeFactory(status="held", created_at=timezone.now() - timedelta(hours=2))
    assert client.get("/healthz").json()["checks"]["notices"]["due"] == 0


def test_a_broker_that_cannot_be_reached_is_a_warning_not_a_503(client, settings):
    _beat_all()
    # A Redis where nothing listens (a real connection refused, not a stub)
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": "redis://127.0.0.1:1/11"}
    settings.Q_CLUSTER.pop("orm", None)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["broker"]["kind"] == "redis"
    assert any("broker (redis) unreachable" in w for w in body["warnings"])


def test_a_check_that_cannot_be_loaded_is_reported_and_the_others_still_answer(client, settings):
    _beat_all()
    settings.BACKORDER_DESK = {**settings.BACKORDER_DESK, "HEALTH_CHECKS": {
        **settings.BACKORDER_DESK["HEALTH_CHECKS"], "missing": "api.throttling.no_such_function"}}
    body = client.get("/healthz").json()
    assert body["checks"]["missing"]["ok"] is None
    assert "not available" in body["checks"]["missing"]["summary"]
    assert body["checks"]["database"]["ok"] is True and body["checks"]["notices"]["ok"] is True


def test_the_throttle_backend_away_is_a_warning(client, settings):
    _beat_all()
    settings.CACHES = {**settings.CACHES, "health-test-away": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/11",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    settings.PARTNER_API = {**settings.PARTNER_API, "THROTTLE_CACHE": "health-test-away"}
    try:
        body = client.get("/healthz").json()
    finally:
        from django.core.cache import caches
        # Tell the throttle the cache is back, so later tests start clean
        settings.PARTNER_API = {**settings.PARTNER_API, "THROTTLE_CACHE": "partner_api"}
        client.get("/healthz")
        del caches["health-test-away"]
    assert body["checks"]["api_throttle"]["ok"] is False
    assert body["status"] == "warning"


def test_the_broker_check_reads_a_real_redis_queue(settings):
    # django-q2's Redis list of the main cluster, in the tests' own Redis database
    import redis

    url = redis_db_url("clusters")
    client = redis.Redis.from_url(url)
    key = f"django_q:{cluster_names()[0]}:q"
    client.delete(key)
    client.rpush(key, "a", "b")
    try:
        settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": url}
        check = health.broker_check()
    finally:
        client.delete(key)
    assert check.ok is True and check.detail["kind"] == "redis"
    assert check.detail["queued"][cluster_names()[0]] == 2
