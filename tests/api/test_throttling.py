"""Rate limits: atomic per-key counts on real Redis, a limit on wrong keys per address, and an
API that keeps taking orders while the throttle's Redis is away."""

import logging
import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import time_machine
from rest_framework.test import APIClient

from api import throttling
from api.throttling import PartnerKeyThrottle, throttle_backend_status, window_hit
from config.settings_test import redis_db_url
from orders.models import Order
from tests.api.conftest import order_body
from tests.api.test_auth import error_of

SKUS = "/api/v1/skus/"
REDIS = redis_db_url("throttle")
NOBODY = redis_db_url("throttle", "redis://127.0.0.1:6390")  # nothing listens there
# Mid-window, so that no test's requests straddle two windows.
CALM = datetime(2026, 12, 7, 10, 30, 5, tzinfo=UTC)


def _throttle_cache(settings, location):
    settings.CACHES = {**settings.CACHES, "partner_api": {
        "BACKEND": "core.cache.RedisCache", "LOCATION": location,
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}


@pytest.fixture
def redis_throttle(settings):
    _throttle_cache(settings, REDIS)
    throttling._outage.clear()
    from django.core.cache import caches
    caches["partner_api"].clear()


@pytest.fixture
def redis_away(settings):
    _throttle_cache(settings, NOBODY)


def test_the_redis_cache_keeps_one_client_per_pool_and_counts_a_window_in_one_trip(redis_throttle):
    from django.core.cache import caches

    cache = caches["partner_api"]
    assert cache._cache.get_client() is cache._cache.get_client(write=True)
    cache.set("client-reuse", 41)
    assert cache.incr("client-reuse") == 42 and cache.get("client-reuse") == 42
    # A window's counter: created at its first hit, with the window's life, in one round trip.
    assert [cache.incr_or_create("window", 5) for _ in range(3)] == [1, 2, 3]
    key = cache.make_and_validate_key("window")
    assert cache.get("window") == 3 and 0 < cache._cache.get_client(key).ttl(key) <= 5


# --- Atomic counts -------------------------------------------------------------------------


def _hammer(call, threads=8, each=40):
    results, start = [], threading.Barrier(threads)

    def run():
        start.wait()
        mine = [call() for _ in range(each)]
        results.extend(mine)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return results


def test_counts_of_one_key_are_atomic_across_threads_on_redis(redis_throttle):
    with time_machine.travel(CALM, tick=True):
        counts = _hammer(lambda: window_hit("throttle:test:atomic", duration=3600)[0])
    assert sorted(counts) == list(range(1, 8 * 40 + 1))
    assert throttle_backend_status()["ok"] is True


def test_the_per_key_limit_holds_exactly_under_concurrent_requests(redis_throttle, settings):
    settings.PARTNER_API = {**settings.PARTNER_API, "THROTTLE_RATE": "100/hour"}
    request = SimpleNamespace(auth=SimpleNamespace(key=SimpleNamespace(prefix="hammered")))
    with time_machine.travel(CALM, tick=True):
        allowed = _hammer(lambda: PartnerKeyThrottle().allow_request(request, None))
    assert allowed.count(True) == 100 and len(allowed) == 320


# --- Redis away ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_orders_land_while_the_throttle_redis_is_away_and_the_outage_is_told(
        redis_away, us_client, make_sku, caplog):
    make_sku("RD-1", stock=5)
    with caplog.at_level(logging.WARNING, logger="api.throttling"):
        response = us_client.post("/api/v1/orders/", order_body("REDIS-DOWN", lines=[("RD-1", 1)]),
                                  format="json")
        assert response.status_code == 201, response.content
        assert us_client.get(f"/api/v1/orders/{response.json()['id']}/").status_code == 200
    assert Order.objects.filter(external_id="REDIS-DOWN").exists()
    errors = [r for r in caplog.records if r.name == "api.throttling" and r.levelno == logging.ERROR]
    assert len(errors) == 1 and "unreachable" in errors[0].getMessage()
    status = throttle_backend_status()
    assert status["ok"] is False and status["down_since"] and status["error"]


@pytest.mark.django_db
def test_while_redis_is_away_each_process_still_limits_a_key(redis_away, reference, make_client,
                                                            settings):
    settings.PARTNER_API = {**settings.PARTNER_API, "THROTTLE_RATE": "3/min"}
    client = make_client()
    with time_machine.travel(CALM, tick=True):
        assert [client.get(SKUS).status_code for _ in range(3)] == [200, 200, 200]
        error_of(client.get(SKUS), 429, "throttled")
    assert throttle_backend_status()["ok"] is False


def test_status_says_ok_again_when_redis_is_back(redis_away, settings):
    assert throttle_backend_status()["ok"] is False
    _throttle_cache(settings, REDIS)
    status = throttle_backend_status()
    assert status == {"ok": True, "cache": "partner_api", "backend": "RedisCache",
                      "down_since": None, "error": ""}


# --- Wrong keys per address ----------------------------------------------------------------


def _client(key, address="10.0.0.1"):
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.mark.django_db
def test_wrong_keys_from_one_address_are_429_after_the_limit(redis_throttle, reference,
                                                             make_client, settings):
    settings.PARTNER_API = {**settings.PARTNER_API, "FAILED_AUTH_RATE": "5/min"}
    good = make_client().key.plain_key
    guesser = _client("abcdefgh.wrong-secret")
    with time_machine.travel(CALM, tick=True):
        assert [guesser.get(SKUS).status_code for _ in range(5)] == [401] * 5
        refused = guesser.get(SKUS)
        body = error_of(refused, 429, "throttled")
        assert "invalid API keys from this address" in body["message"]
        assert 0 < int(refused["Retry-After"]) <= 60
        # The right key from that address waits too; another address is not held back.
        error_of(_client(good).get(SKUS), 429, "throttled")
        assert _client(good, address="10.0.0.2").get(SKUS).status_code == 200
        # Right keys are not counted: many from a fresh address all pass.
        assert {_client(good, "10.0.0.3").get(SKUS).status_code for _ in range(8)} == {200}


# --- Round trips ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_known_key_costs_two_redis_round_trips_a_request(redis_throttle, reference, make_client,
                                                          monkeypatch):
    """The address's wrong-key count and the key's record come in one read (MGET), the key's
    count in one MULTI/EXEC: a request waits on Redis twice, not three times."""
    from redis.connection import AbstractConnection

    client = make_client()
    assert client.get(SKUS).status_code == 200  # reads the key from the database, caches its record
    sent = []
    send = AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        sent.append(b"".join(command) if isinstance(command, list) else command)
        return send(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    with time_machine.travel(CALM, tick=True):
        assert client.get(SKUS).status_code == 200
    assert len(sent) == 2, sent
    assert b"MGET" in sent[0] and b"partner-key:" in sent[0] and b"throttle:badkey:" in sent[0]
    assert b"MULTI" in sent[1] and b"INCR" in sent[1]
    # A wrong secret with a known prefix is refused from that same cached record.
    monkeypatch.setattr(AbstractConnection, "send_packed_command", send)
    error_of(_client(f"{client.key.prefix}.wrong-secret").get(SKUS), 401, "not_authenticated")
