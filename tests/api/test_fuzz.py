"""Schemathesis fuzzes the API in-process (WSGI): no 5xx, every answer matches the schema.

Every phase runs, bounded for `make test` (about a minute): per operation the schema's
examples, the coverage phase and a few fuzzed examples; then stateful sequences that follow
the links schemathesis infers (an order placed, then read, cancelled, shipped...).
Deselect with `-m "not slow"`; set FUZZ_EXAMPLES / FUZZ_SCENARIOS for a longer run.
"""

import json
import os
from datetime import date, timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.models import Scope
from inventory.models import Channel, PurchaseOrder, StockLevel, Warehouse
from tests.factories.api import PartnerKeyFactory
from tests.factories.inventory import PurchaseOrderFactory, PurchaseOrderLineFactory, SKUFactory

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS", "15"))

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


@pytest.fixture
def wsgi_app():
    """The real WSGI app, sharing the test's transaction.

    Django closes "old" connections around each request, which would end the test's
    transaction; its own test client unhooks that the same way.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_key(reference, settings):
    """A key on every channel, over a small book: the SKU of the schema's examples in stock."""
    settings.PARTNER_API = {**settings.PARTNER_API, "THROTTLE_RATE": None}
    warehouse = Warehouse.objects.get(code="US-EAST")
    for code in ("TEE-BLA-XS", "TEE-BLA-S"):
        sku = SKUFactory(code=code)
        StockLevel.objects.create(sku=sku, warehouse=warehouse, on_hand=50)
        po = PurchaseOrderFactory(warehouse=warehouse, status=PurchaseOrder.Status.CONFIRMED,
                                  eta=date.today() + timedelta(days=20))
        PurchaseOrderLineFactory(purchase_order=po, sku=sku, qty_ordered=100)
    key = PartnerKeyFactory(scopes=list(Scope.values), channels=list(Channel.objects.all()))
    return key.plain_key


def _schema():
    """The schema /api/schema/ serves, generated in-process (no database needed)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    generated = SchemaGenerator().get_schema(request=None, public=True)
    # Through the JSON renderer, as served: lazy strings and dates become plain JSON.
    return json.loads(OpenApiJsonRenderer().render(generated))


schema = schemathesis.openapi.from_dict(_schema())
BOUNDED = dict(deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES, **BOUNDED)
def test_every_operation_answers_within_its_schema(case, fuzz_key, wsgi_app):
    case.call_and_validate(app=wsgi_app, headers={"Authorization": f"Api-Key {fuzz_key}"},
                           checks=CHECKS)


def test_sequences_of_calls_answer_within_the_schema(fuzz_key, wsgi_app):
    headers = {"Authorization": f"Api-Key {fuzz_key}"}

    class Sequences(schema.as_state_machine()):
        def call(self, case, **kwargs):
            return case.call(app=wsgi_app, headers=headers, **kwargs)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=headers)

    Sequences.run(settings=hypothesis_settings(max_examples=SCENARIOS, stateful_step_count=6,
                                               **BOUNDED))
