"""Query filters of the list endpoints (django-filter); bad values answer 400 `invalid`."""

from datetime import UTC

import django_filters as df
from django import forms
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend

from inventory.models import SKU, PurchaseOrder, Region
from orders.models import Order
from promises.models import OrderException, PromiseChange

UPDATED_SINCE_HELP = ("Only rows changed at or after this timestamp (inclusive, ISO 8601 with "
                      "offset). See docs/api.md for paging through changes safely.")


class PartnerFilterBackend(DjangoFilterBackend):
    """django-filter's backend, passed by when the request names none of the view's filters.

    Binding and validating an empty filter form cost about a millisecond of every page of a
    pull that pages by cursor alone; with no filter named it would filter nothing. A
    parameter that only starts with a filter's name (`updated_since_x`) still goes through
    the form, as a filter whose widget splits its value would read it.
    """

    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and not filters_named(request, filterset_class):
            return queryset
        return super().filter_queryset(request, queryset, view)


def filters_named(request, filterset_class) -> bool:
    """Whether the request names one of the filterset's filters (or a parameter that
    starts with one's name)."""
    return any(key.startswith(name) for key in request.query_params for name in filterset_class.base_filters)


class IntegerFilter(df.NumberFilter):
    field_class = forms.IntegerField


class UTCDateTimeField(IsoDateTimeField):
    """An ISO 8601 timestamp, turned into UTC (PostgreSQL refuses offsets past ±15:59)."""

    def to_python(self, value):
        parsed = super().to_python(value)
        try:
            return parsed.astimezone(UTC) if parsed is not None and parsed.tzinfo else parsed
        except OverflowError:
            raise forms.ValidationError("Timestamp out of range.", code="invalid") from None


class TimestampFilter(df.IsoDateTimeFilter):
    field_class = UTCDateTimeField


class SKUFilter(df.FilterSet):
    updated_since = TimestampFilter(field_name="updated_at", lookup_expr="gte",
                                         help_text=UPDATED_SINCE_HELP)
    backorder_allowed = df.BooleanFilter(help_text="Only SKUs that may (not) be backordered.")
    preorder = df.BooleanFilter(help_text="Only pre-order (or released) SKUs.")
    active = df.BooleanFilter(help_text="Only active (or inactive) SKUs.")

    class Meta:
        model = SKU
        fields = ["updated_since", "backorder_allowed", "preorder", "active"]


class PurchaseOrderFilter(df.FilterSet):
    updated_since = TimestampFilter(field_name="updated_at", lookup_expr="gte",
                                         help_text=UPDATED_SINCE_HELP)
    status = df.MultipleChoiceFilter(choices=PurchaseOrder.Status.choices,
                                     help_text="Only POs in this status (repeat for several).")
    warehouse = df.CharFilter(field_name="warehouse__code", help_text="Destination warehouse code.")
    supplier = df.CharFilter(field_name="supplier__code", help_text="Supplier code.")

    class Meta:
        model = PurchaseOrder
        fields = ["updated_since", "status", "warehouse", "supplier"]


class OrderFilter(df.FilterSet):
    updated_since = TimestampFilter(field_name="sync__updated_at", lookup_expr="gte",
                                         help_text=UPDATED_SINCE_HELP)
    channel = df.CharFilter(field_name="channel__code",
                            help_text="Channel code (only the key's channels are ever listed).")
    region = df.ChoiceFilter(field_name="region__code", choices=Region.Code.choices,
                             help_text="Region code.")
    status = df.MultipleChoiceFilter(choices=Order.Status.choices,
                                     help_text="Only orders in this status (repeat for several).")
    external_id = df.CharFilter(help_text="The channel's order number.")

    class Meta:
        model = Order
        fields = ["updated_since", "channel", "region", "status", "external_id"]


class PromiseChangeFilter(df.FilterSet):
    since = TimestampFilter(field_name="at", lookup_expr="gte",
                                 help_text="Only changes at or after this timestamp (inclusive).")
    channel = df.CharFilter(field_name="order__channel__code", help_text="Channel code.")
    order = IntegerFilter(field_name="order_id", help_text="Order id.")
    cause = df.MultipleChoiceFilter(choices=PromiseChange.Cause.choices,
                                    help_text="Only changes with this cause (repeat for several).")

    class Meta:
        model = PromiseChange
        fields = ["since", "channel", "order", "cause"]


class OrderExceptionFilter(df.FilterSet):
    status = df.MultipleChoiceFilter(choices=OrderException.Status.choices,
                                     help_text="open, in_progress or resolved (repeat for several).")
    kind = df.MultipleChoiceFilter(choices=OrderException.Kind.choices,
                                   help_text="Exception kind (repeat for several).")
    region = df.ChoiceFilter(field_name="region__code", choices=Region.Code.choices,
                             help_text="Region code.")
    channel = df.CharFilter(field_name="channel__code", help_text="Channel code.")
    updated_since = TimestampFilter(field_name="updated_at", lookup_expr="gte",
                                         help_text=UPDATED_SINCE_HELP)

    class Meta:
        model = OrderException
        fields = ["status", "kind", "region", "channel", "updated_since"]
