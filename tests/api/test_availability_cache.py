"""GET /availability/ keeps each answer for AVAILABILITY_CACHE_SECONDS per process."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import SKU
from promises import intake

pytestmark = pytest.mark.django_db

URL = "/api/v1/availability/"


@pytest.fixture(autouse=True)
def answers(settings, monkeypatch):
    """The cache on for 1 s, empty, on a clock the test moves (`answers.clock[0] += s`)."""
    settings.AVAILABILITY_CACHE_SECONDS = 1.0
    clock = [1000.0]
    monkeypatch.setattr(intake, "monotonic", lambda: clock[0])
    intake._answers.clear()
    yield clock
    intake._answers.clear()


def _ask(client, **params):
    return client.get(URL, {"sku": "AC-1", "channel": "shopify-us", "qty": 1, **params})


def _promise_reads(queries) -> list[str]:
    return [q["sql"] for q in queries if "inventory_sku" in q["sql"] or "promises_" in q["sql"]]


def test_the_same_question_within_the_time_gets_the_first_answer_without_reading(us_client, make_sku, answers):
    make_sku("AC-1", stock=0, po_qty=10)
    first = _ask(us_client).json()
    assert (first["status"], first["can_order"]) == ("backorder", True)
    SKU.objects.filter(code="AC-1").update(backorder_allowed=False)

    answers[0] += 0.9
    with CaptureQueriesContext(connection) as queries:
        again = _ask(us_client)
    assert again.status_code == 200
    assert again.json() == first  # kept: the change is not seen yet
    assert _promise_reads(queries) == []

    answers[0] += 0.2  # 1.1 s after the first answer
    with CaptureQueriesContext(connection) as queries:
        later = _ask(us_client).json()
    assert (later["status"], later["can_order"], later["reason"]) == (
        "unavailable", False, "backorder_not_allowed")
    assert _promise_reads(queries) != []


def test_each_question_is_its_own_answer(us_client, make_sku):
    make_sku("AC-1", stock=2)
    assert _ask(us_client, qty=1).json()["status"] == "in_stock"
    assert _ask(us_client, qty=3).json()["can_order"] is False  # no PO: 3 cannot be covered
    assert _ask(us_client, qty=1, locale="de").json()["label"] != _ask(us_client, qty=1).json()["label"]
    assert len(intake._answers) == 3


def test_bad_input_is_refused_every_time_and_not_kept(us_client, make_sku):
    make_sku("AC-1", stock=2)
    for _ in range(2):
        response = _ask(us_client, region="EU")
        assert response.status_code == 400
        assert "region" in response.json()["errors"]
    assert intake._answers == {}


def test_a_channel_the_key_does_not_hold_is_404_even_when_its_answer_is_kept(make_client, us_client, make_sku):
    make_sku("AC-1", stock=2)
    assert _ask(us_client).status_code == 200
    eu_only = make_client(channels=["shopify-eu"])
    assert _ask(eu_only).status_code == 404


def test_zero_seconds_computes_every_answer(us_client, make_sku, settings):
    settings.AVAILABILITY_CACHE_SECONDS = 0
    make_sku("AC-1", stock=0, po_qty=10)
    assert _ask(us_client).json()["can_order"] is True
    SKU.objects.filter(code="AC-1").update(backorder_allowed=False)
    assert _ask(us_client).json()["can_order"] is False
    assert intake._answers == {}


def test_the_answers_kept_are_bounded(us_client, make_sku, monkeypatch):
    monkeypatch.setattr(intake, "AVAILABILITY_ANSWERS_MAX", 2)
    make_sku("AC-1", stock=5)
    for qty in (1, 2, 3):
        assert _ask(us_client, qty=qty).status_code == 200
    assert list(intake._answers) == [("AC-1", "shopify-us", "", 3, "")]
