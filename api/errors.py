"""One error shape for every failure: `{"code", "message", "errors": {field: [why]}}`.

DRF's own exceptions, Django's 404/403 and the services' domain errors all go through
`exception_handler` (settings: REST_FRAMEWORK["EXCEPTION_HANDLER"]).
"""

import logging
import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from api.throttling import AuthAttemptsThrottled
from core.errors import BusinessRefusal, DomainError, InvalidInput, NotFound

logger = logging.getLogger("django.request")

#: DRF exception class -> (stable code, default message).
_DRF_CODES: list[tuple[type, str, str]] = [
    (exceptions.ValidationError, "invalid", "The request is not valid."),
    (exceptions.ParseError, "invalid", "The request body is not valid JSON."),
    (exceptions.NotAuthenticated, "not_authenticated", "Send an API key: 'Authorization: Api-Key <key>'."),
    (exceptions.AuthenticationFailed, "not_authenticated", "Invalid API key."),
    (exceptions.PermissionDenied, "permission_denied", "This API key may not do this."),
    (exceptions.NotFound, "not_found", "Not found."),
    (exceptions.MethodNotAllowed, "method_not_allowed", "Method not allowed."),
    (exceptions.NotAcceptable, "not_acceptable", "Only application/json responses are served."),
    (exceptions.UnsupportedMediaType, "unsupported_media_type", "Send application/json."),
    (exceptions.Throttled, "throttled", "Too many requests."),
]

_DOMAIN_STATUS: list[tuple[type, int]] = [
    (InvalidInput, status.HTTP_400_BAD_REQUEST),
    (NotFound, status.HTTP_404_NOT_FOUND),
    (BusinessRefusal, status.HTTP_409_CONFLICT),
]


def error_body(code: str, message: str, errors: dict | None = None) -> dict:
    return {"code": code, "message": str(message), "errors": errors or {}}


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into flat keys: `lines[0].sku`, `customer.email`."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # a ListSerializer's errors, by item index
                path = f"{prefix}[{key}]"
            elif key == "non_field_errors" and prefix:  # about the nested object itself
                path = prefix
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, path))
    elif isinstance(detail, list):
        if detail and all(isinstance(v, (dict, list)) for v in detail):
            for i, value in enumerate(detail):
                out.update(flatten_errors(value, f"{prefix}[{i}]"))
        else:
            messages = [str(v) for v in detail if not isinstance(v, (dict, list))]
            for i, value in enumerate(detail):
                if isinstance(value, (dict, list)):
                    out.update(flatten_errors(value, f"{prefix}[{i}]"))
            if messages:
                out.setdefault(prefix or "non_field_errors", []).extend(messages)
    elif detail is not None:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: map any known exception to the error shape."""
    if isinstance(exc, DomainError):
        code = next((s for cls, s in _DOMAIN_STATUS if isinstance(exc, cls)), 400)
        set_rollback()
        return Response(error_body(exc.code, exc.message, _as_lists(exc.errors)), status=code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if not isinstance(exc, exceptions.APIException):
        # A bug: logged as Django logs a 500 (with the request), answered in the error shape.
        request = context.get("request")
        logger.error("Internal Server Error: %s", getattr(request, "path", "?"), exc_info=exc,
                     extra={"status_code": 500, "request": getattr(request, "_request", request)})
        set_rollback()
        response = Response(error_body("server_error", "An unexpected error occurred; it was logged."),
                            status=500)
        response._has_been_logged = True  # Django's log_response would log it again
        return response

    code, default_message = next(
        ((c, m) for cls, c, m in _DRF_CODES if isinstance(exc, cls)), ("error", "Error.")
    )
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(math.ceil(exc.wait))

    errors: dict = {}
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        message = default_message
    elif isinstance(exc, exceptions.ParseError):
        message = default_message
        errors = {"body": [str(exc.detail)]}
    elif isinstance(exc, AuthAttemptsThrottled):
        message = str(exc.detail)
    elif isinstance(exc, exceptions.Throttled):
        message = (f"Too many requests with this API key; retry in {int(exc.wait)} s."
                   if exc.wait else default_message)
    else:
        message = str(exc.detail) if isinstance(exc.detail, str) else default_message
    set_rollback()
    return Response(error_body(code, message, errors), status=exc.status_code, headers=headers)


def _as_lists(errors: dict) -> dict[str, list[str]]:
    return {str(k): [str(x) for x in v] if isinstance(v, (list, tuple)) else [str(v)]
            for k, v in (errors or {}).items()}


@csrf_exempt
def not_found_view(request, *args, **kwargs):
    """JSON 404 for any /api/ URL no endpoint matches."""
    return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."),
                        status=404)
