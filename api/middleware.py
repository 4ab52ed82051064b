"""The JSON error shape for answers Django gives itself under /api/, and the body size limit."""

from django.conf import settings
from django.http import JsonResponse

from api.errors import error_body

API_PREFIX = "/api/"

#: Status -> (code, message) for errors answered before or around a partner view.
_CODES = {
    400: ("invalid", "The request is not valid."),
    403: ("permission_denied", "Forbidden."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("too_large", "The request body is too large."),
    500: ("server_error", "An unexpected error occurred; it was logged."),
}


def _json_error(status: int, message: str | None = None) -> JsonResponse:
    code, default = _CODES.get(status, ("server_error" if status >= 500 else "error", "Error."))
    return JsonResponse(error_body(code, message or default), status=status)


class ApiErrorShapeMiddleware:
    """Under /api/: refuse a body over DATA_UPLOAD_MAX_MEMORY_SIZE (413) before anything reads
    it, and turn any error Django answers as a page (a 400 for a suspicious request, a 500
    from a middleware) into the documented `{"code", "message", "errors"}` body.

    Errors inside a partner view already have that shape (api.errors.exception_handler).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _json_error(400, "The Content-Length header is not a number.")
        if limit is not None and length > limit:
            return _json_error(413, f"The request body is {length} bytes; the limit is {limit}.")
        response = self.get_response(request)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(
                "application/json"):
            return _json_error(response.status_code)
        return response
