"""What every partner endpoint shares: key auth, scope check, per-key throttle, error docs."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework.generics import GenericAPIView

from api.auth import HasScope, PartnerKeyAuthentication
from api.filters import PartnerFilterBackend
from api.pagination import KeysetPagination
from api.schema import PartnerAutoSchema
from api.serializers.common import ErrorSerializer
from api.throttling import PartnerKeyThrottle


class PartnerView(GenericAPIView):
    """Base view: `scopes` maps an HTTP method to the scope it needs."""

    authentication_classes = [PartnerKeyAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [PartnerKeyThrottle]
    pagination_class = None
    # OPTIONS answers 405: the OpenAPI schema at /api/schema/ describes every endpoint.
    metadata_class = None
    schema = PartnerAutoSchema()
    scopes: dict[str, str] = {}

    @property
    def partner(self):
        return self.request.auth

    def input(self, serializer_class, data):
        """Validate `data`; raises ValidationError (400 `invalid`) when it is not valid."""
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class PartnerListView(PartnerView):
    """A list: django-filter filters, keyset cursor pagination over `cursor_ordering`."""

    pagination_class = KeysetPagination
    filter_backends = [PartnerFilterBackend]
    cursor_ordering: tuple[str, ...] = ("updated_at", "id")

    def get(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


_ERRORS = {
    400: "Invalid input (`invalid`); `errors` says which field and why. Nothing was written.",
    401: "No API key, or an invalid, revoked or expired one (`not_authenticated`).",
    403: "The key lacks the scope this call needs (`permission_denied`).",
    404: "Not found, or not visible to this key (`not_found`).",
    406: "The Accept header excludes application/json (`not_acceptable`).",
    409: "Refused by a business rule; `code` says which.",
    413: "The body is over the upload limit (`too_large`); nothing was read.",
    429: "Too many requests with this key, or too many wrong keys from this address "
         "(`throttled`); see Retry-After.",
    500: "An unexpected error (`server_error`); it was logged.",
}


def errors(*codes: int, **descriptions: str) -> dict:
    """OpenAPI responses for the error codes a call may answer (401, 403, 406, 413, 429 and
    500 always)."""
    wanted = sorted({401, 403, 406, 413, 429, 500, *codes})
    return {
        code: OpenApiResponse(ErrorSerializer, description=descriptions.get(f"e{code}", _ERRORS[code]))
        for code in wanted
    }
