"""OpenAPI: the Api-Key security scheme, and each operation's scope in its description."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from api.auth import required_scope


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.PartnerKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; create keys with `manage.py create_api_key`. "
            "Each operation names the scope it needs.",
        }


class PartnerAutoSchema(AutoSchema):
    """Append the scope an operation needs to its description."""

    def get_description(self):
        # A view without its own docstring must not inherit the base view's (internal) one.
        if "__doc__" not in vars(type(self.view)) or not type(self.view).__doc__:
            return ""
        return super().get_description()

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        scope = required_scope(self.view, self.method)
        if operation is not None and scope:
            description = operation.get("description", "")
            operation["description"] = f"{description}\n\nScope: `{scope}`.".strip()
        return operation
