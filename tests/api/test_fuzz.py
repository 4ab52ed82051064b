"""Schemathesis fuzzes every operation in-process (WSGI): no 5xx, answers match the schema.

Bounded for `make test` (a few examples per operation); deselect with `-m "not slow"`.
Set FUZZ_EXAMPLES for a longer run.
"""

import json
import os

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
from inventory.models import Channel
from tests.factories.api import PartnerKeyFactory

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))

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
def fuzz_key(seeded):
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


@schema.parametrize()
@hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                     suppress_health_check=list(HealthCheck))
def test_every_operation_answers_within_its_schema(case, fuzz_key, wsgi_app):
    case.call_and_validate(app=wsgi_app, headers={"Authorization": f"Api-Key {fuzz_key}"},
                           checks=CHECKS)
