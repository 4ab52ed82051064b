"""The OpenAPI schema: generated without a warning, served, browsable."""

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient


def test_schema_generates_without_warnings(tmp_path):
    # --fail-on-warn raises SchemaGenerationError on any warning; --validate checks OpenAPI 3.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"),
                 stdout=StringIO(), stderr=StringIO())
    assert (tmp_path / "s.yaml").read_text().startswith("openapi: 3")


@pytest.mark.django_db
def test_schema_is_served_and_documents_every_endpoint():
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert set(paths) == {
        "/api/v1/skus/", "/api/v1/skus/{code}/", "/api/v1/stock/{warehouse}/{sku}/",
        "/api/v1/suppliers/{code}/",
        "/api/v1/availability/", "/api/v1/purchase-orders/", "/api/v1/purchase-orders/{number}/",
        "/api/v1/receipts/", "/api/v1/orders/", "/api/v1/orders/{id}/",
        "/api/v1/orders/{id}/cancel/", "/api/v1/shipments/", "/api/v1/promise-changes/",
        "/api/v1/exceptions/",
    }
    assert schema["components"]["securitySchemes"]["ApiKey"]["in"] == "header"
    for path, operations in paths.items():
        for method, op in operations.items():
            assert "Scope: `" in op["description"], (method, path)
            assert {"401", "403", "406", "413", "429", "500"} <= set(op["responses"]), (method, path)
    order_post = paths["/api/v1/orders/"]["post"]
    assert order_post["requestBody"]["content"]["application/json"]["examples"]
    assert paths["/api/v1/availability/"]["get"]["responses"]["200"]["content"][
        "application/json"]["examples"]


def test_every_schema_property_has_a_type_and_a_description():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    missing = []
    for name, component in schema["components"]["schemas"].items():
        for prop, spec in component.get("properties", {}).items():
            has_type = any(k in spec for k in ("type", "$ref", "allOf", "oneOf", "anyOf"))
            if not has_type or not (spec.get("description") or "$ref" in spec or "allOf" in spec):
                missing.append(f"{name}.{prop}")
    assert not missing, missing


@pytest.mark.django_db
def test_swagger_ui_is_served():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


@pytest.mark.django_db
def test_errors_every_operation_may_answer_are_answered_as_documented(reference, make_client):
    # An empty Accept header (schemathesis sends one) is 406, in the error shape the schema names.
    client = make_client()
    response = client.get("/api/v1/orders/", HTTP_ACCEPT="")
    assert response.status_code == 406 and response.json()["code"] == "not_acceptable"
    documented = APIClient().get("/api/schema/?format=json").json()["paths"]["/api/v1/orders/"][
        "get"]["responses"]["406"]["content"]["application/json"]["schema"]["$ref"]
    assert documented.endswith("/Error")
